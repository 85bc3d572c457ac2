package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
)

// countedServer starts a server whose key signs through a testkey.HeldSigner.
func countedServer(t *testing.T, cfg server.Config, hold chan struct{}, now func() time.Time) (string, *testkey.HeldSigner) {
	t.Helper()
	keys(t)
	cs := &testkey.HeldSigner{Signer: serverKey.Private, Hold: hold}
	opts := []token.Option{}
	if now != nil {
		opts = append(opts, token.WithClock(now))
		cfg.Now = now
	}
	signer, err := token.NewCryptoSigner(serverKID, cs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Signer = signer
	base, _ := start(t, cfg)
	return base, cs
}

func videoPath(v string) string {
	return "/client/v4/accounts/" + account + "/stream/" + v + "/token"
}

// metric returns the line of /metrics that starts with name.
func metric(t *testing.T, base, name string) string {
	t.Helper()
	r := do(t, http.MethodGet, base+"/metrics", nil)
	for line := range strings.SplitSeq(r.Raw, "\n") {
		if strings.HasPrefix(line, name+" ") {
			return line
		}
	}
	return ""
}

func TestOverloadIsA429WithRetryAfter(t *testing.T) {
	hold := make(chan struct{})
	base, cs := countedServer(t, server.Config{SigningWorkers: 1, MaxSigningWait: 30 * time.Millisecond}, hold, nil)
	first := make(chan response, 1)
	go func() {
		first <- do(t, http.MethodPost, base+videoPath("video-a"), nil, bearer(apiToken)...)
	}()
	waitFor(t, "the first request to sign", func() bool { return cs.Calls() == 1 })

	r := do(t, http.MethodPost, base+videoPath("video-b"), nil, bearer(apiToken)...)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("request while the worker is busy past the bound = %d, Retry-After %q; want 429, 1", r.Status, r.Header.Get("Retry-After"))
	}
	if len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != 1015 || r.Env.Success || r.Env.Result != nil {
		t.Errorf("429 body = %s, want the envelope with code 1015", r.Raw)
	}
	close(hold)
	if r := <-first; r.Status != 200 {
		t.Errorf("the request that held the worker = %d, want 200", r.Status)
	}
	if got := metric(t, base, `streamtoken_signing_queue_requests_total{outcome="shed"}`); !strings.HasSuffix(got, " 1") {
		t.Errorf("shed metric = %q, want 1", got)
	}
	if cs.Calls() != 1 {
		t.Errorf("signatures = %d, want 1: the shed request signed nothing", cs.Calls())
	}
}

func TestCancelledRequestLeavesTheQueueWithoutSigning(t *testing.T) {
	hold := make(chan struct{})
	base, cs := countedServer(t, server.Config{SigningWorkers: 1, MaxSigningWait: time.Minute}, hold, nil)
	first := make(chan response, 1)
	go func() {
		first <- do(t, http.MethodPost, base+videoPath("video-a"), nil, bearer(apiToken)...)
	}()
	waitFor(t, "the first request to sign", func() bool { return cs.Calls() == 1 })

	ctx, cancel := context.WithCancel(t.Context())
	gone := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+videoPath("video-b"), nil)
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		gone <- err
	}()
	waitFor(t, "the second request to queue", func() bool {
		return metric(t, base, "streamtoken_signing_queue_length") == "streamtoken_signing_queue_length 1"
	})
	cancel()
	<-gone
	waitFor(t, "the cancelled request to leave", func() bool {
		return metric(t, base, `streamtoken_signing_queue_requests_total{outcome="cancelled"}`) == `streamtoken_signing_queue_requests_total{outcome="cancelled"} 1`
	})
	if got := metric(t, base, "streamtoken_signing_queue_length"); got != "streamtoken_signing_queue_length 0" {
		t.Errorf("queue length after the client left = %q, want 0", got)
	}
	close(hold)
	if r := <-first; r.Status != 200 {
		t.Errorf("the request that held the worker = %d, want 200", r.Status)
	}
	if r := do(t, http.MethodPost, base+videoPath("video-c"), nil, bearer(apiToken)...); r.Status != 200 {
		t.Errorf("a request after it = %d, want 200: the server keeps serving", r.Status)
	}
	if cs.Calls() != 2 {
		t.Errorf("signatures = %d, want 2: the request whose client left signed nothing", cs.Calls())
	}
}

func TestServerCachesIdenticalRequests(t *testing.T) {
	now := func() time.Time { return time.Unix(1_700_000_000, 0) }
	base, cs := countedServer(t, server.Config{}, nil, now)
	a := post(t, base, `{"downloadable":true}`)
	b := post(t, base, `{"downloadable":true}`)
	if a.Status != 200 || b.Status != 200 || a.Env.Result.Token != b.Env.Result.Token {
		t.Fatalf("two identical requests = %d, %d; want 200 and the same token", a.Status, b.Status)
	}
	if cs.Calls() != 1 {
		t.Errorf("signatures = %d, want 1", cs.Calls())
	}
	if c := post(t, base, `{"downloadable":false}`); c.Status != 200 || c.Env.Result.Token == a.Env.Result.Token || cs.Calls() != 2 {
		t.Errorf("other claims: signatures %d, want 2 and another token", cs.Calls())
	}
	for name, want := range map[string]string{
		`streamtoken_token_cache_lookups_total{result="hit"}`:  "1",
		`streamtoken_token_cache_lookups_total{result="miss"}`: "2",
		`streamtoken_token_cache_entries`:                      "2",
		`streamtoken_tokens_signed_total{key="account"}`:       "3",
	} {
		if got := metric(t, base, name); got != name+" "+want {
			t.Errorf("%s = %q, want %s", name, got, want)
		}
	}

	// A request's own key is never cached: its tokens are signed each
	// time (the same bytes, as PKCS#1 v1.5 is deterministic).
	body := `{"id":"` + requestKID + `","pem":"` + userPEMField + `"}`
	p1, p2 := post(t, base, body), post(t, base, body)
	if p1.Status != 200 || p2.Status != 200 || p1.Env.Result.Token != p2.Env.Result.Token {
		t.Fatalf("request-key tokens: %d, %d", p1.Status, p2.Status)
	}
	if got := metric(t, base, `streamtoken_token_cache_lookups_total{result="hit"}`); !strings.HasSuffix(got, " 1") {
		t.Errorf("after two request-key tokens, hits = %q, want still 1: they never touch the cache", got)
	}
}

func TestServerWithoutTheCacheSignsEachToken(t *testing.T) {
	now := func() time.Time { return time.Unix(1_700_000_000, 0) }
	base, cs := countedServer(t, server.Config{DisableTokenCache: true}, nil, now)
	post(t, base, `{}`)
	post(t, base, `{}`)
	if cs.Calls() != 2 {
		t.Errorf("signatures = %d, want 2", cs.Calls())
	}
}

func TestMetricsOfTheRuntimeAndProcess(t *testing.T) {
	base, _ := start(t, server.Config{})
	post(t, base, `{}`)
	r := do(t, http.MethodGet, base+"/metrics", nil)
	for _, name := range []string{
		"go_goroutines ", "go_memstats_heap_alloc_bytes ", "process_resident_memory_bytes ", "process_open_fds ",
		"streamtoken_signing_queue_length 0", `streamtoken_signing_queue_wait_seconds_bucket{le="0"} 1`,
		`streamtoken_signing_queue_requests_total{outcome="admitted"} 1`,
		`streamtoken_token_cache_evictions_total 0`, "streamtoken_token_cache_bytes ",
	} {
		if !strings.Contains(r.Raw, "\n"+name) {
			t.Errorf("/metrics lacks %q", name)
		}
	}
}

func TestNewRefusesBadLoadConfig(t *testing.T) {
	keys(t)
	for _, cfg := range []server.Config{
		{SigningWorkers: -1}, {MaxSigningWait: -time.Second}, {TokenCacheEntries: -1}, {TokenCacheBytes: -1},
	} {
		cfg.Credentials = credentials()
		cfg.Signer = signerOf(serverKey)
		if _, err := server.New(cfg); err == nil {
			t.Errorf("New(%+v) error = nil", cfg)
		}
	}
}
