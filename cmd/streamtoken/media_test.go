package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"

	"github.com/streamtoken/streamtoken/streamtokentest"
)

func TestVideosCommands(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithVideos(video))
	defer srv.Close()
	environ := map[string]string{"CLOUDFLARE_API_TOKEN": srv.APIToken}
	api := []string{"--account", account, "--base-url", srv.URL}
	run := func(args ...string) result {
		t.Helper()
		return cli(t, environ, "", append(args, api...)...)
	}

	if r := run("videos", "show", video); r.code != 0 || !strings.Contains(r.stdout, "requireSignedURLs false") || !strings.Contains(r.stdout, "allowedOrigins    any") ||
		!strings.Contains(r.stdout, "modified          never") {
		t.Fatalf("videos show (defaults): %v", r)
	}
	r := run("videos", "secure", video, "--allowed-origin", "example.com", "--allowed-origin", "*.example.net:8443")
	if r.code != 0 || !strings.Contains(r.stdout, "requireSignedURLs true") || !strings.Contains(r.stdout, "example.com, *.example.net:8443") {
		t.Fatalf("videos secure: %v", r)
	}
	r = run("videos", "show", video, "--output", "json")
	var view struct {
		ID                string   `json:"id"`
		RequireSignedURLs bool     `json:"requireSignedURLs"`
		AllowedOrigins    []string `json:"allowedOrigins"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &view); err != nil || r.code != 0 || view.ID != video || !view.RequireSignedURLs || len(view.AllowedOrigins) != 2 {
		t.Fatalf("videos show --output json: %v (%+v)", r, view)
	}
	// unsecure leaves the origins; secure without --allowed-origin too.
	if r := run("videos", "unsecure", video); r.code != 0 || !strings.Contains(r.stdout, "requireSignedURLs false") || !strings.Contains(r.stdout, "example.com") {
		t.Errorf("videos unsecure: %v", r)
	}
	if r := run("videos", "secure", video); r.code != 0 || !strings.Contains(r.stdout, "requireSignedURLs true") || !strings.Contains(r.stdout, "*.example.net:8443") {
		t.Errorf("videos secure without origins: %v", r)
	}
	// --any-origin lets every site show it again.
	if r := run("videos", "unsecure", video, "--any-origin"); r.code != 0 || !strings.Contains(r.stdout, "allowedOrigins    any") {
		t.Errorf("videos unsecure --any-origin: %v", r)
	}
	if r := run("videos", "secure", video, "--allowed-origin", "example.com"); r.code != 0 || !strings.Contains(r.stdout, "example.com") {
		t.Errorf("videos secure --allowed-origin: %v", r)
	}
	if r := run("videos", "secure", video, "--any-origin"); r.code != 0 || !strings.Contains(r.stdout, "requireSignedURLs true") || !strings.Contains(r.stdout, "allowedOrigins    any") {
		t.Errorf("videos secure --any-origin: %v", r)
	}
	if r := run("videos", "secure", video, "--any-origin", "--allowed-origin", "example.com"); r.code != exitBadInput || !strings.Contains(r.stderr, "--any-origin: not with --allowed-origin") {
		t.Errorf("videos secure --any-origin --allowed-origin: %v", r)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"videos", "secure", video, "--allowed-origin", "https://example.com"}, exitBadInput, `--allowed-origin "https://example.com": must be a host name, without a scheme`},
		{[]string{"videos", "secure", video, "--allowed-origin", "example.com/watch"}, exitBadInput, "without a path"},
		{[]string{"videos", "show", "a/b"}, exitBadInput, "VIDEO: "},
		{[]string{"videos", "show", video, "--output", "yaml"}, exitBadInput, "--output"},
		{[]string{"videos", "show", "unknown-video"}, exitFailure, "1011"},
	} {
		r := run(tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || r.stdout != "" {
			t.Errorf("%s: %v; want exit %d and one line with %q", strings.Join(tt.args, " "), r, tt.code, tt.want)
		}
	}
}

func TestLiveInputsCommands(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	environ := map[string]string{"CLOUDFLARE_API_TOKEN": srv.APIToken}
	api := []string{"--account", account, "--base-url", srv.URL}
	const input = "66be4bf738797e01e1fca35a7bdecdcd"
	r := cli(t, environ, "", append([]string{"live-inputs", "secure", input, "--allowed-origin", "example.com"}, api...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "requireSignedURLs true") || !strings.Contains(r.stdout, "recording mode    off") {
		t.Fatalf("live-inputs secure: %v", r)
	}
	r = cli(t, environ, "", append([]string{"live-inputs", "unsecure", input, "--output", "json"}, api...)...)
	if r.code != 0 || !strings.Contains(r.stdout, `"requireSignedURLs": false`) || !strings.Contains(r.stdout, `"example.com"`) {
		t.Errorf("live-inputs unsecure --output json: %v", r)
	}
	if r := cli(t, nil, "", append([]string{"live-inputs", "show", input}, api...)...); r.code != exitBadInput || !strings.Contains(r.stderr, "CLOUDFLARE_API_TOKEN") {
		t.Errorf("live-inputs show without credentials: %v", r)
	}
}

func TestServeKeepsVideoSettingsInTheKeysDir(t *testing.T) {
	dir := t.TempDir()
	secure := func(args ...string) result {
		t.Helper()
		s := startServe(t, "--keys-dir", dir)
		defer s.stop(t)
		base := s.url[:strings.Index(s.url, "/client/v4")+len("/client/v4")]
		return cli(t, map[string]string{"CLOUDFLARE_API_TOKEN": s.apiToken}, "", append(args, "--account", account, "--base-url", base)...)
	}
	if r := secure("videos", "secure", video, "--allowed-origin", "example.com"); r.code != 0 {
		t.Fatalf("videos secure: %v", r)
	}
	// A new process on the same directory: the setting is still there.
	if r := secure("videos", "show", video); r.code != 0 || !strings.Contains(r.stdout, "requireSignedURLs true") || !strings.Contains(r.stdout, "example.com") {
		t.Errorf("videos show after a restart: %v", r)
	}
}

// videos delete deletes a video through the API; an unknown one is an
// error, on one line.
func TestVideosDelete(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	environ := map[string]string{"CLOUDFLARE_API_TOKEN": srv.APIToken}
	up, err := srv.NewClient().CreateDirectUpload(context.Background(), account, streamtoken.DirectUpload{MaxDuration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	api := []string{"--account", account, "--base-url", srv.URL}
	if r := cli(t, environ, "", append([]string{"videos", "delete", up.VideoID}, api...)...); r.code != 0 || r.stdout != "deleted "+up.VideoID+"\n" {
		t.Errorf("videos delete: %v", r)
	}
	if r := cli(t, environ, "", append([]string{"videos", "delete", up.VideoID}, api...)...); r.code != exitFailure || errorLines(r.stderr) != 1 || !strings.Contains(r.stderr, "404") {
		t.Errorf("videos delete of a deleted video: %v", r)
	}
	if r := cli(t, environ, "", append([]string{"videos", "delete", "../x"}, api...)...); r.code != exitBadInput || !strings.Contains(r.stderr, "VIDEO") {
		t.Errorf("videos delete ../x: %v", r)
	}
}
