package compat

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/stream"
)

// TestSDKAgainstServe runs the list and upload calls of cloudflare-go
// against "streamtoken serve" itself, built from this checkout and run as
// a user runs it: Stream.DirectUpload.New with RequireSignedURLs creates a
// video that Stream.Get shows secured, Stream.List sees it with its
// settings, and Stream.LiveInputs.List lists the inputs.
func TestSDKAgainstServe(t *testing.T) {
	base := startServe(t)
	ctx := context.Background()
	sdk := cloudflare.NewClient(option.WithAPIToken(serveAPIToken), option.WithBaseURL(base), option.WithMaxRetries(0))

	up, err := sdk.Stream.DirectUpload.New(ctx, stream.DirectUploadNewParams{AccountID: cloudflare.F(account),
		MaxDurationSeconds: cloudflare.F(int64(3600)), RequireSignedURLs: cloudflare.F(true),
		AllowedOrigins: cloudflare.F([]stream.AllowedOriginsParam{"example.com"})})
	if err != nil {
		t.Fatalf("DirectUpload.New() error = %v", err)
	}
	v, err := sdk.Stream.Get(ctx, up.UID, stream.StreamGetParams{AccountID: cloudflare.F(account)})
	if err != nil || !v.RequireSignedURLs || len(v.AllowedOrigins) != 1 {
		t.Fatalf("Stream.Get(the upload) = %+v, %v; want it secured", v, err)
	}
	if _, err := sdk.Stream.Edit(ctx, video, stream.StreamEditParams{AccountID: cloudflare.F(account), Creator: cloudflare.F("team-a")}); err != nil {
		t.Fatal(err)
	}
	page, err := sdk.Stream.List(ctx, stream.StreamListParams{AccountID: cloudflare.F(account)})
	if err != nil || len(page.Result) != 2 || page.Result[0].UID != video || page.Result[1].UID != up.UID ||
		page.Result[0].RequireSignedURLs || !page.Result[1].RequireSignedURLs {
		t.Errorf("Stream.List() = %+v, %v; want the edited video (open), then the upload (secured)", page, err)
	}
	if _, err := sdk.Stream.LiveInputs.Update(ctx, liveInput, stream.LiveInputUpdateParams{AccountID: cloudflare.F(account),
		Recording: cloudflare.F(stream.LiveInputUpdateParamsRecording{RequireSignedURLs: cloudflare.F(true)})}); err != nil {
		t.Fatal(err)
	}
	inputs, err := sdk.Stream.LiveInputs.List(ctx, stream.LiveInputListParams{AccountID: cloudflare.F(account)})
	if err != nil || len(inputs.LiveInputs) != 1 || inputs.LiveInputs[0].UID != liveInput {
		t.Errorf("LiveInputs.List() = %+v, %v; want %s", inputs, err, liveInput)
	}
}

// serveAPIToken is the API token startServe's server accepts.
const serveAPIToken = "compat-api-token"

// startServe builds "streamtoken serve" from this checkout and runs it as
// a user runs it, on a free loopback port until the test ends, and
// returns its API's base URL.
func startServe(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs streamtoken serve; not with -short")
	}
	bin := filepath.Join(t.TempDir(), "streamtoken")
	build := exec.Command("go", "build", "-o", bin, "./cmd/streamtoken")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/streamtoken: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	serve := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--api-token", serveAPIToken)
	stderr, err := serve.StderrPipe() // its log, whose "serving" line has the URL
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = serve.Wait() // killed
	})
	found := make(chan string, 1)
	go func() {
		banner := regexp.MustCompile(`msg=serving url=(http://\S+/client/v4)`)
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			if m := banner.FindStringSubmatch(lines.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("serve logged no URL")
	}
	return base
}

// TestSDKWebhooksAgainstServe: cloudflare-go's Stream.Webhooks, unchanged,
// against serve: Update by either name of the URL answers both and a new
// secret, Get answers the same, Delete (which it sends with no body)
// deletes it.
func TestSDKWebhooksAgainstServe(t *testing.T) {
	base := startServe(t)
	ctx := context.Background()
	sdk := cloudflare.NewClient(option.WithAPIToken(serveAPIToken), option.WithBaseURL(base), option.WithMaxRetries(0))
	set, err := sdk.Stream.Webhooks.Update(ctx, stream.WebhookUpdateParams{AccountID: cloudflare.F(account), BodyNotificationURL2: cloudflare.F("https://example.com/hook")})
	if err != nil || set.NotificationURL1 != "https://example.com/hook" || set.NotificationURL2 != "https://example.com/hook" || len(set.Secret) != 32 || set.Modified.IsZero() {
		t.Fatalf("Webhooks.Update(notificationUrl) = %+v, %v", set, err)
	}
	again, err := sdk.Stream.Webhooks.Update(ctx, stream.WebhookUpdateParams{AccountID: cloudflare.F(account), BodyNotificationURL1: cloudflare.F("https://example.com/other")})
	if err != nil || again.NotificationURL2 != "https://example.com/other" || again.Secret == set.Secret {
		t.Fatalf("Webhooks.Update(notification_url) = %+v, %v; want the new URL and a new secret", again, err)
	}
	got, err := sdk.Stream.Webhooks.Get(ctx, stream.WebhookGetParams{AccountID: cloudflare.F(account)})
	if err != nil || got.NotificationURL2 != "https://example.com/other" || got.Secret != again.Secret {
		t.Fatalf("Webhooks.Get() = %+v, %v", got, err)
	}
	res, err := sdk.Stream.Webhooks.Delete(ctx, stream.WebhookDeleteParams{AccountID: cloudflare.F(account)})
	if err != nil || res == nil || *res != "ok" {
		t.Fatalf("Webhooks.Delete() = %v, %v", res, err)
	}
	if _, err := sdk.Stream.Webhooks.Get(ctx, stream.WebhookGetParams{AccountID: cloudflare.F(account)}); err == nil {
		t.Error("Webhooks.Get() after the delete: no error")
	}
}
