package main

import (
	"bytes"
	"context"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/webhook"
)

// upload sends one upload to a direct upload's URL, as a browser would.
func upload(t *testing.T, url string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", "teaser.mp4")
	part.Write(bytes.Repeat([]byte{0x42}, 4096))
	mw.Close()
	res, err := http.Post(url, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the upload: %d", res.StatusCode)
	}
}

// A video uploaded open through the stand-in is secured by guard, told by
// the webhook guard registered; one open before guard started is secured
// by --audit-first.
func TestGuardSecuresAVideoUploadedOpen(t *testing.T) {
	s := startServe(t, "--allow-private-webhooks")
	defer s.stop(t)
	base := s.url[:strings.Index(s.url, server.BasePath)+len(server.BasePath)]
	c, err := streamtoken.NewClient(streamtoken.WithBaseURL(base), streamtoken.WithAPIToken(s.apiToken))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, err := c.CreateDirectUpload(ctx, exampleAccount, streamtoken.DirectUpload{MaxDuration: time.Minute, Name: "before.mp4"})
	if err != nil {
		t.Fatal(err)
	}
	upload(t, before.URL)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	out, errs := &syncBuffer{}, &syncBuffer{}
	gctx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- run(gctx, []string{"guard", "--account", exampleAccount, "--base-url", base, "--listen", addr,
			"--register", "http://" + addr + "/stream-webhook", "--allowed-origin", "example.com", "--audit-first"},
			env{stdin: strings.NewReader(""), stdout: out, stderr: errs, getenv: func(k string) string {
				return map[string]string{"CLOUDFLARE_API_TOKEN": s.apiToken}[k]
			}})
	}()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "streamtoken guard on"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("guard did not start: %s %s", out, errs)
		}
	}
	if !strings.Contains(out.String(), "fixing video "+before.VideoID) || !strings.Contains(errs.String(), "its secret changed") {
		t.Errorf("--audit-first and --register: stdout %q stderr %q", out, errs)
	}
	if r, err := http.Get("http://" + addr + server.HealthPath); err != nil || r.StatusCode != 200 {
		t.Errorf("guard's /healthz: %v %v", r, err)
	}

	open, err := c.CreateDirectUpload(ctx, exampleAccount, streamtoken.DirectUpload{MaxDuration: time.Minute, Name: "teaser.mp4", Creator: "creator-42"})
	if err != nil {
		t.Fatal(err)
	}
	uploaded := time.Now()
	upload(t, open.URL)
	want := "secured video " + open.VideoID + `  name "teaser.mp4"  creator "creator-42": requireSignedURLs false -> true; allowedOrigins any -> example.com`
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), want); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("guard did not secure the video within 30 s:\nstdout %s\nstderr %s", out, errs)
		}
	}
	t.Logf("secured %v after its upload", time.Since(uploaded).Round(time.Millisecond))
	v, err := c.Video(ctx, exampleAccount, open.VideoID)
	if err != nil || !v.RequireSignedURLs || len(v.AllowedOrigins) != 1 || v.AllowedOrigins[0] != "example.com" {
		t.Errorf("the video after guard: %+v, %v", v, err)
	}
	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("guard stopped with %d: %s", code, errs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("guard did not stop")
	}
	if strings.Contains(out.String()+errs.String(), s.apiToken) {
		t.Error("guard's output holds the API token")
	}
}

// guard is idempotent: a notification again, or of a video secure
// already, changes nothing and prints nothing; a failed video is not
// touched.
func TestGuardIsIdempotent(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	var out bytes.Buffer
	g := &guard{c: srv.NewClient(), account: exampleAccount, out: &out, log: slog.New(slog.DiscardHandler)}
	n := &webhook.Notification{UID: exampleVideo, ReadyToStream: true, Status: webhook.Status{State: webhook.StateReady}}
	for range 3 {
		if err := g.handle(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Count(out.String(), "secured video"); got != 1 {
		t.Errorf("three notifications of one video printed %d changes:\n%s", got, out.String())
	}
	failed := &webhook.Notification{UID: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Status: webhook.Status{State: webhook.StateError, ErrorReasonCode: "ERR_NON_VIDEO"}}
	if err := g.handle(context.Background(), failed); err != nil || strings.Contains(out.String(), failed.UID) {
		t.Errorf("a failed video: %v, %s", err, out.String())
	}
}
