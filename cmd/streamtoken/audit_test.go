package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
	if err := json.Unmarshal([]byte(r.stdout), &up); err != nil || r.code != 0 || len(up.ID) != 32 || !strings.Contains(up.UploadURL, "/upload/"+account+"/") || strings.Contains(up.UploadURL, up.ID) {
		t.Fatalf("videos upload-url --output json: %v", r)
	}

	r = run("audit")
	if r.code != exitUnprotected || !strings.Contains(r.stdout, up.ID+"  plays without a token, plays on any site  name \"open.mp4\"  creator \"team-a\"") ||
		strings.Contains(r.stdout, "secured.mp4") || !strings.Contains(r.stdout, "live input in-1") ||
		!strings.Contains(r.stdout, "2 videos and 1 live input audited: 2 media not protected") || !strings.Contains(r.stderr, "2 media are not protected") {
		t.Fatalf("audit: %v", r)
	}
	// The server said it is a stand-in: the audit says whose media it saw.
	if !strings.Contains(r.stdout, "server: a streamtoken stand-in: what it keeps lives in it alone, not at Cloudflare\n") {
		t.Errorf("audit of a stand-in does not say so: %v", r)
	}
	r = run("audit", "--output", "json")
	var report struct {
		Server                          string
		Videos, LiveInputs, Unprotected int
		Findings                        []struct {
			Kind, ID string
			Problems []string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.code != exitUnprotected || report.Videos != 2 || report.LiveInputs != 1 ||
		report.Unprotected != 2 || len(report.Findings) != 2 || len(report.Findings[0].Problems) != 2 || report.Server != "stand-in" {
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

// hostileAPI is a fake of the API's list and edit operations that answers
// what its fields say, to audit against.
type hostileAPI struct {
	videos     []string // the video list's items, as JSON
	liveInputs []string // IDs of the live-input list, each secured
	total      int      // the live-input list's total
	editAnswer func(id string) string
	edits      []string
}

func (h *hostileAPI) serve(t *testing.T) string {
	t.Helper()
	env := func(result string) string {
		return `{"success":true,"errors":[],"messages":[],"result":` + result + `}`
	}
	prefix := "/client/v4/accounts/" + account + "/stream"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		path := strings.TrimPrefix(r.URL.Path, prefix)
		switch {
		case r.Method == http.MethodGet && path == "":
			if r.URL.Query().Get("start") != "" {
				_, _ = io.WriteString(w, env(`[]`))
				return
			}
			_, _ = io.WriteString(w, env("["+strings.Join(h.videos, ",")+"]"))
		case r.Method == http.MethodGet && path == "/live_inputs":
			items := make([]string, len(h.liveInputs))
			for i, id := range h.liveInputs {
				items[i] = fmt.Sprintf(`{"uid":%q}`, id)
			}
			_, _ = fmt.Fprintf(w, env(`{"liveInputs":[%s],"total":%d,"range":%d}`), strings.Join(items, ","), h.total, h.total-len(items))
		case r.Method == http.MethodGet && strings.HasPrefix(path, "/live_inputs/"):
			id := strings.TrimPrefix(path, "/live_inputs/")
			_, _ = fmt.Fprintf(w, env(`{"uid":%q,"recording":{"mode":"off","requireSignedURLs":true,"allowedOrigins":["example.com"]}}`), id)
		case r.Method == http.MethodPost && strings.HasPrefix(path, "/"):
			id := strings.TrimPrefix(path, "/")
			h.edits = append(h.edits, id)
			_, _ = io.WriteString(w, env(h.editAnswer(id)))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"success":false,"errors":[{"code":1000,"message":"no such route"}],"messages":[],"result":null}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/client/v4"
}

func videoJSON(id string, require bool) string {
	uid, _ := json.Marshal(id)
	return fmt.Sprintf(`{"uid":%s,"requireSignedURLs":%t,"allowedOrigins":["example.com"],"created":"2026-11-30T08:00:00Z"}`, uid, require)
}

// Cloudflare lists at most 1,000 live inputs, the newest: with 1,050, the
// audit of what it sees cannot say "all protected", nor exit 0.
func TestAuditSaysWhatItDidNotSee(t *testing.T) {
	h := &hostileAPI{total: 1050}
	for i := range 1000 {
		h.liveInputs = append(h.liveInputs, fmt.Sprintf("%032x", i))
	}
	base := h.serve(t)
	r := cli(t, map[string]string{"CLOUDFLARE_API_TOKEN": "hostile-api-test-token"}, "", "audit", "--account", account, "--base-url", base)
	if r.code != exitIncomplete || strings.Contains(r.stdout, "all protected\n") ||
		!strings.Contains(r.stdout, "0 videos and 1000 of 1050 live inputs audited: all those seen protected\n") ||
		!strings.Contains(r.stdout, "not seen: live inputs (the API lists 1000 of 1050)") || !strings.Contains(r.stderr, "did not see every medium") {
		t.Errorf("audit of 1,050 live inputs: %v", r)
	}
	r = cli(t, map[string]string{"CLOUDFLARE_API_TOKEN": "hostile-api-test-token"}, "", "audit", "--account", account, "--base-url", base, "--output", "json")
	var report struct {
		LiveInputs int
		Incomplete []struct {
			Kind          string
			Listed, Total int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || r.code != exitIncomplete || report.LiveInputs != 1000 ||
		len(report.Incomplete) != 1 || report.Incomplete[0].Total != 1050 || report.Incomplete[0].Listed != 1000 {
		t.Errorf("audit --output json of 1,050 live inputs: %v (%+v)", r, report)
	}
}

// A list's IDs are checked before they are printed or used: one that
// would rewrite the screen, or move an edit to another path, is skipped
// and counted; the rest is audited and fixed, and a fix counts only when
// the answer shows that medium secured.
func TestAuditTrustsNothingItReads(t *testing.T) {
	forged := "\x1b[2J\r\n2 videos and 0 live inputs audited: all protected\n"
	h := &hostileAPI{
		videos: []string{
			videoJSON(forged, false), videoJSON("../../../accounts/x", false), videoJSON("open-a", false), videoJSON("open-b", false), videoJSON("open-c", false),
		},
		editAnswer: func(id string) string {
			switch id {
			case "open-a":
				return videoJSON("open-a", true)
			case "open-b":
				return videoJSON("another", true) // names another video
			default:
				return videoJSON(id, false) // says it is still open
			}
		},
	}
	base := h.serve(t)
	r := cli(t, map[string]string{"CLOUDFLARE_API_TOKEN": "hostile-api-test-token"}, "", "audit", "--account", account, "--base-url", base, "--fix")
	if strings.ContainsAny(r.stdout+r.stderr, "\x1b\r") || strings.Contains(r.stdout, "..") {
		t.Errorf("audit printed what the server sent raw: %q", r.stdout)
	}
	if fmt.Sprint(h.edits) != "[open-a open-b open-c]" {
		t.Errorf("audit --fix edited %q, want the three valid videos", h.edits)
	}
	if r.code != exitUnprotected || !strings.Contains(r.stdout, "video      open-a  secured (was: plays without a token)\n") ||
		!strings.Contains(r.stdout, "video      open-b  plays without a token  [left: not secured: the API's answer does not show this video secured]") ||
		!strings.Contains(r.stdout, "video      open-c  plays without a token  [left: not secured") ||
		!strings.Contains(r.stdout, "3 videos and 0 live inputs audited: 2 media not protected\n") ||
		!strings.Contains(r.stdout, "not seen: videos (2 listed with an ID that is not one)") {
		t.Errorf("audit --fix against a hostile API: %v", r)
	}
	// All protected but two skipped: not 0.
	h.videos = []string{videoJSON(forged, true), videoJSON("fine", true)}
	if r := cli(t, map[string]string{"CLOUDFLARE_API_TOKEN": "hostile-api-test-token"}, "", "audit", "--account", account, "--base-url", base); r.code != exitIncomplete {
		t.Errorf("audit with a skipped video: %v, want exit %d", r, exitIncomplete)
	}
}

// The documented minimum --expiry works, though the server measures it
// later than the command does (here, a second later).
func TestUploadURLAtTheMinimumExpiry(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithClock(func() time.Time { return time.Now().Add(time.Second) }))
	defer srv.Close()
	r := cli(t, map[string]string{"CLOUDFLARE_API_TOKEN": srv.APIToken}, "", "videos", "upload-url", "--max-duration", "1m", "--expiry", "2m", "--account", account, "--base-url", srv.URL)
	if r.code != 0 {
		t.Errorf("videos upload-url --expiry 2m: %v", r)
	}
}
