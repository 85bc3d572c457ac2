package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/streamtokentest"
)

func TestAuditAndFix(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithLiveInputs("in-1"))
	defer srv.Close()
	environ := map[string]string{"CLOUDFLARE_API_TOKEN": srv.APIToken}
	api := []string{"--account", account, "--base-url", srv.URL}
	run := func(args ...string) result {
		t.Helper()
		return cli(t, environ, "", append(args, api...)...)
	}
	// One video secured from its upload, one not.
	r := run("videos", "upload-url", "--max-duration", "1h", "--require-signed-urls", "--allowed-origin", "example.com", "--name", "secured.mp4")
	if r.code != 0 || !strings.Contains(r.stdout, "upload URL  http://127.0.0.1:") {
		t.Fatalf("videos upload-url: %v", r)
	}
	r = run("videos", "upload-url", "--max-duration", "10m", "--name", "open.mp4", "--creator", "team-a", "--output", "json")
	var up struct{ ID, UploadURL string }
	if err := json.Unmarshal([]byte(r.stdout), &up); err != nil || r.code != 0 || len(up.ID) != 32 || !strings.Contains(up.UploadURL, up.ID) {
		t.Fatalf("videos upload-url --output json: %v", r)
	}

	r = run("audit")
	if r.code != exitUnprotected || !strings.Contains(r.stdout, up.ID+"  plays without a token, plays on any site  name \"open.mp4\"  creator \"team-a\"") ||
		strings.Contains(r.stdout, "secured.mp4") || !strings.Contains(r.stdout, "live input in-1") ||
		!strings.Contains(r.stdout, "2 videos and 1 live input audited: 2 media not protected") || !strings.Contains(r.stderr, "2 media are not protected") {
		t.Fatalf("audit: %v", r)
	}
	r = run("audit", "--output", "json")
	var report struct {
		Videos, LiveInputs, Unprotected int
		Findings                        []struct {
			Kind, ID string
			Problems []string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.code != exitUnprotected || report.Videos != 2 || report.LiveInputs != 1 ||
		report.Unprotected != 2 || len(report.Findings) != 2 || len(report.Findings[0].Problems) != 2 {
		t.Fatalf("audit --output json: %v (%+v)", r, report)
	}
	// --fix without origins: signed URLs on, "any site" left.
	r = run("audit", "--fix")
	if r.code != exitUnprotected || !strings.Contains(r.stdout, "fixing video "+up.ID+": requireSignedURLs false -> true\n") || !strings.Contains(r.stdout, "[left: plays on any site (no --allowed-origin given)]") {
		t.Fatalf("audit --fix without origins: %v", r)
	}
	r = run("audit", "--fix", "--allowed-origin", "example.com")
	if r.code != 0 || !strings.Contains(r.stdout, "fixing video "+up.ID+": allowedOrigins any -> example.com") || !strings.Contains(r.stdout, "2 media secured, all protected now") ||
		!strings.Contains(r.stdout, up.ID+"  secured (was: plays on any site)") {
		t.Fatalf("audit --fix: %v", r)
	}
	// Idempotent: nothing left to fix.
	for _, args := range [][]string{{"audit"}, {"audit", "--fix", "--allowed-origin", "example.com"}} {
		if r := run(args...); r.code != 0 || strings.Contains(r.stdout, "fixing") || !strings.Contains(r.stdout, "2 videos and 1 live input audited: all protected") {
			t.Errorf("%s after the fix: %v", strings.Join(args, " "), r)
		}
	}
	if r := run("videos", "show", up.ID); !strings.Contains(r.stdout, "requireSignedURLs true") || !strings.Contains(r.stdout, "example.com") {
		t.Errorf("the fixed video: %v", r)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "--allowed-origin", "example.com"}, "--allowed-origin: only with --fix"},
		{[]string{"audit", "--fix", "--allowed-origin", "https://x"}, "--allowed-origin"},
		{[]string{"videos", "upload-url"}, "max-duration"},
		{[]string{"videos", "upload-url", "--max-duration", "7h"}, "--max-duration 7h0m0s: want whole seconds, 1s to 6h"},
		{[]string{"videos", "upload-url", "--max-duration", "1h", "--expiry", "1m"}, "--expiry"},
		{[]string{"videos", "upload-url", "--max-duration", "1h", "--allowed-origin", "a/b"}, "--allowed-origin"},
	} {
		r := run(tt.args...)
		if r.code != exitBadInput || !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%s: %v; want exit 2 and one line with %q", strings.Join(tt.args, " "), r, tt.want)
		}
	}
}

// serve's upload URLs begin with --public-url, or with the address the
// client called; a bad --public-url stops the start.
func TestServeUploadURLs(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // the upload URL's beginning; "" for the server's own address
	}{
		{nil, ""},
		{[]string{"--public-url", "https://stream.example.com/"}, "https://stream.example.com/upload/" + account + "/"},
	} {
		s := startServe(t, c.args...)
		base := s.url[:strings.Index(s.url, "/accounts/")]
		want := c.want
		if want == "" {
			want = strings.TrimSuffix(base, "/client/v4") + "/upload/" + account + "/"
		}
		r := cli(t, map[string]string{"CLOUDFLARE_API_TOKEN": s.apiToken}, "", "videos", "upload-url", "--account", account, "--max-duration", "1m", "--base-url", base, "--output", "json")
		var up struct{ UploadURL string }
		if err := json.Unmarshal([]byte(r.stdout), &up); err != nil || !strings.HasPrefix(up.UploadURL, want) {
			t.Errorf("serve %v: upload-url = %v, want a URL beginning %s", c.args, r, want)
		}
		s.stop(t)
	}
	for _, bad := range []string{"ftp://x", "https://user:pw@x", "https://x/?q=1", "x"} {
		r := cli(t, nil, "", "serve", "--addr", "127.0.0.1:0", "--public-url", bad)
		if r.code != exitBadInput || !strings.Contains(r.stderr, "--public-url: want an http or https URL") || strings.Contains(r.stderr, "pw") {
			t.Errorf("serve --public-url %q: %v", bad, r)
		}
	}
}
