package streamtokentest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

// The fake's rate limit, as Cloudflare's: per credential, every operation
// counted, both header forms on every answer, a lockout of a whole window
// past the limit, with Retry-After and X-RateLimit-Reset.
func TestWithRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	srv := streamtokentest.NewServer(streamtokentest.WithClock(clock),
		streamtokentest.WithSigningKey(testkey.Load(t, "rsa2048.pem", "k")),
		streamtokentest.WithCredentials(server.Credential{Token: "one"}, server.Credential{Token: "two"}),
		streamtokentest.WithRateLimit(3, time.Minute))
	defer srv.Close()
	call := func(apiToken, method, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	token := "/accounts/" + account + "/stream/" + video + "/token"
	keys := "/accounts/" + account + "/stream/keys"
	want := func(resp *http.Response, status int, headers map[string]string) {
		t.Helper()
		if resp.StatusCode != status {
			t.Errorf("status %d, want %d", resp.StatusCode, status)
		}
		for name, v := range headers {
			if got := resp.Header.Get(name); got != v {
				t.Errorf("%s: %q, want %q", name, got, v)
			}
		}
	}
	// Three calls of any operation, the window's oldest 60 s away.
	want(call("one", http.MethodPost, token), 200, map[string]string{"Ratelimit": `"default";r=2;t=60`, "Ratelimit-Policy": `"default";q=3;w=60`, "X-Ratelimit-Limit": "3", "X-Ratelimit-Remaining": "2"})
	now = now.Add(10 * time.Second)
	want(call("one", http.MethodGet, keys), 200, map[string]string{"Ratelimit": `"default";r=1;t=50`, "X-Ratelimit-Remaining": "1"})
	want(call("one", http.MethodPost, token), 200, map[string]string{"X-Ratelimit-Remaining": "0"})
	// The fourth: locked out for a whole window from now.
	now = now.Add(20 * time.Second)
	lifts := now.Add(time.Minute)
	want(call("one", http.MethodPost, token), 429, map[string]string{"Retry-After": "60", "X-Ratelimit-Reset": lifts.Format(http.TimeFormat), "X-Ratelimit-Remaining": "0"})
	// Another credential has its own window.
	want(call("two", http.MethodPost, token), 200, map[string]string{"X-Ratelimit-Remaining": "2"})
	// The first window has passed, the lockout has not.
	now = now.Add(45 * time.Second)
	want(call("one", http.MethodGet, keys), 429, map[string]string{"Retry-After": "15"})
	// The lockout over, a full window again.
	now = lifts
	want(call("one", http.MethodGet, keys), 200, map[string]string{"X-Ratelimit-Remaining": "2"})
	if got := srv.RateLimitRefusals(); got != 2 {
		t.Errorf("RateLimitRefusals() = %d, want 2", got)
	}
	// The JWK sets are not the API's: not counted.
	resp, err := srv.Client().Get(srv.JWKSURL(account))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Ratelimit-Limit") != "" || strings.HasPrefix(resp.Status, "429") {
		t.Errorf("the JWK set: %s with X-Ratelimit-Limit %q; want it outside the limit", resp.Status, resp.Header.Get("X-Ratelimit-Limit"))
	}
}
