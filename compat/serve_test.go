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
	if testing.Short() {
		t.Skip("builds and runs streamtoken serve; not with -short")
	}
	bin := filepath.Join(t.TempDir(), "streamtoken")
	build := exec.Command("go", "build", "-o", bin, "./cmd/streamtoken")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/streamtoken: %v\n%s", err, out)
	}
	const apiToken = "compat-api-token"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--api-token", apiToken)
	stderr, err := serve.StderrPipe() // its log, whose "serving" line has the URL
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = serve.Wait() // killed
	}()
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
	sdk := cloudflare.NewClient(option.WithAPIToken(apiToken), option.WithBaseURL(base), option.WithMaxRetries(0))

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
