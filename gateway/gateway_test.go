package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gateway"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

const (
	account = "023e105f4ecef8ad9ca31a8372d0c353"
	other   = "11111111111111111111111111111111"
	video   = "ea95132c15732412d22c1476fa83f27a"
)

// switchable carries the gateway's requests to the upstream until it is
// switched off: then every request fails as an unreachable host's does.
type switchable struct {
	base http.RoundTripper
	off  atomic.Bool
	hang atomic.Bool // every request waits until its caller gives up
	// tries counts the requests that found it off.
	tries atomic.Int32
}

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.hang.Load() {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	if s.off.Load() {
		s.tries.Add(1)
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return s.base.RoundTrip(r)
}

// clock is a fake clock a test moves on.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// gw is a gateway serving on loopback in front of an upstream.
type gw struct {
	*gateway.Gateway
	url  string // its API base URL
	link *switchable
}

func startGateway(t *testing.T, upstream string, edit func(*gateway.Config)) *gw {
	t.Helper()
	link := &switchable{base: http.DefaultTransport}
	cfg := gateway.Config{Upstream: upstream, Transport: link}
	if edit != nil {
		edit(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatalf("gateway.New() error = %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return &gw{Gateway: g, url: "http://" + ln.Addr().String() + server.BasePath, link: link}
}

func client(t *testing.T, base string, opts ...streamtoken.Option) *streamtoken.Client {
	t.Helper()
	c, err := streamtoken.NewClient(append([]streamtoken.Option{streamtoken.WithBaseURL(base), streamtoken.WithMaxRetries(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// operations counts the upstream's requests by operation ("" for those
// of no operation of the spec).
func operations(up *streamtokentest.Server) map[string]int {
	n := map[string]int{}
	for _, l := range up.RequestLog() {
		n[l.Operation]++
	}
	return n
}

func TestTokensAreSignedHereWithAKeyTheUpstreamMade(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	g := startGateway(t, up.URL, nil)
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
	ctx := context.Background()
	const tokens = 1000
	for i := range tokens {
		tok, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		// Every token verifies against the upstream's key set for the
		// account: the first is the upstream's own, the rest are signed
		// here with the key the gateway created there.
		if _, err := up.Verify(account, tok.Value); err != nil {
			t.Fatalf("token %d does not verify against the upstream's JWK set: %v", i, err)
		}
	}
	got := operations(up)
	want := map[string]int{"CreateStreamToken": 1, "CreateSigningKey": 1}
	if len(got) != len(want) || got["CreateStreamToken"] != 1 || got["CreateSigningKey"] != 1 {
		t.Errorf("the upstream saw %v for %d tokens; want %v: one authorization, one key created", got, tokens, want)
	}
	for _, l := range up.RequestLog() {
		if l.Credential != streamtokentest.CredentialDigest(up.APIToken, "", "") {
			t.Errorf("%s %s reached the upstream with another credential than the caller's", l.Method, l.Path)
		}
	}
}

func TestACredentialTheUpstreamRefuses(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	clk := &clock{now: time.Now()}
	g := startGateway(t, up.URL, func(c *gateway.Config) { c.Server.Now = clk.Now })
	bad := client(t, g.url, streamtoken.WithAPIToken("not-a-token-the-upstream-knows"))
	direct := postToken(t, up.URL, "Bearer not-a-token-the-upstream-knows")
	for i := range 5 {
		_, err := bad.CreateToken(context.Background(), account, video, streamtoken.TokenRequest{})
		var apiErr *streamtoken.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: CreateToken() error = %v; want the upstream's 401", i, err)
		}
	}
	// A flood of the refused credential, at once, costs the upstream
	// nothing more: those who wait for the first decision get it.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if a := postToken(t, g.url, "Bearer not-a-token-the-upstream-knows"); a.status != http.StatusUnauthorized {
				t.Errorf("a refused credential, in a flood: %d", a.status)
			}
		})
	}
	wg.Wait()
	via := postToken(t, g.url, "Bearer not-a-token-the-upstream-knows")
	if via.status != direct.status || !bytes.Equal(via.body, direct.body) {
		t.Errorf("through the gateway: %d %s; want the upstream's answer as it came: %d %s", via.status, via.body, direct.status, direct.body)
	}
	// One request of the upstream's for six refusals (the direct one
	// aside): the refusal is kept for RefusalTTL.
	if n := operations(up)["CreateStreamToken"]; n != 2 {
		t.Errorf("the upstream saw %d token requests; want 2 (the direct one, and the first through the gateway)", n)
	}
	clk.add(gateway.DefaultRefusalTTL)
	_ = postToken(t, g.url, "Bearer not-a-token-the-upstream-knows")
	if n := operations(up)["CreateStreamToken"]; n != 3 {
		t.Errorf("after RefusalTTL, the upstream saw %d token requests; want 3: it is asked again", n)
	}
}

func TestACredentialRevokedAtTheUpstreamIsRefusedWithinTheTTL(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	clk := &clock{now: time.Now()}
	g := startGateway(t, up.URL, func(c *gateway.Config) { c.Server.Now = clk.Now; c.AuthTTL = time.Minute })
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
	ctx := context.Background()
	for range 3 {
		if _, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	// Revoked at the upstream: it refuses the credential from now on.
	up.FailNext(1000, streamtokentest.Failure{Status: http.StatusUnauthorized, Code: apicode.Authentication, Message: "Authentication error"})
	clk.add(59 * time.Second)
	if _, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{}); err != nil {
		t.Fatalf("within the TTL: %v; want a token signed here", err)
	}
	clk.add(time.Second)
	_, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
	var apiErr *streamtoken.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("at the TTL: %v; want the upstream's 401", err)
	}
}

func TestUpstreamDown(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	clk := &clock{now: time.Now()}
	g := startGateway(t, up.URL, func(c *gateway.Config) { c.Server.Now = clk.Now; c.AuthTTL = time.Minute; c.Grace = time.Hour })
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
	ctx := context.Background()
	for range 2 {
		if _, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	// An upstream that never answers holds no token of a loaded account.
	g.link.hang.Store(true)
	quick, cancel := context.WithTimeout(ctx, 5*time.Second)
	if _, err := c.CreateToken(quick, account, video, streamtoken.TokenRequest{}); err != nil {
		t.Errorf("upstream hanging, account loaded: %v; want a token at once", err)
	}
	cancel()
	g.link.hang.Store(false)
	before := len(up.RequestLog())
	g.link.off.Store(true)
	if _, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{}); err != nil {
		t.Errorf("upstream down, account loaded: %v; want a token", err)
	}
	// Past the TTL, within the grace: still signed here; the first asks
	// the upstream, and the others, while its failure is fresh, do not.
	clk.add(2 * time.Minute)
	for range 3 {
		if _, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{}); err != nil {
			t.Errorf("upstream down, past the TTL, in grace: %v; want a token", err)
		}
	}
	if n := g.link.tries.Load(); n != 1 {
		t.Errorf("3 tokens in grace tried the upstream %d times; want once, while its failure is fresh", n)
	}
	// A new account needs the upstream: a 503 of the gateway's own.
	a := postTokenFor(t, g.url, other, "Bearer "+up.APIToken)
	if a.status != http.StatusServiceUnavailable || a.code() != apicode.UpstreamUnavailable || a.header.Get("Retry-After") != "5" {
		t.Errorf("a new account, upstream down: %d %s (Retry-After %q); want 503, code 1020, Retry-After: 5", a.status, a.body, a.header.Get("Retry-After"))
	}
	if r := get(t, g.at("/readyz")); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the upstream down = %d; want 503", r.status)
	}
	if r := get(t, g.at("/healthz")); r.status != http.StatusOK {
		t.Errorf("/healthz with the upstream down = %d; want 200 (alive)", r.status)
	}
	// At the grace's end (the TTL and the grace since the acceptance):
	// refused.
	clk.add(time.Hour - time.Minute)
	if r := postToken(t, g.url, "Bearer "+up.APIToken); r.status != http.StatusServiceUnavailable {
		t.Errorf("past the grace, upstream down = %d %s; want 503", r.status, r.body)
	}
	if n := len(up.RequestLog()); n != before {
		t.Errorf("the upstream saw %d requests while off", n-before)
	}
	// Back: recovery without a restart.
	g.link.off.Store(false)
	if a := postTokenFor(t, g.url, other, "Bearer "+up.APIToken); a.status != http.StatusOK {
		t.Errorf("upstream back, new account: %d %s; want a token", a.status, a.body)
	}
	if _, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{}); err != nil {
		t.Errorf("upstream back: %v", err)
	}
	time.Sleep(5 * time.Second) // readiness's probe holds 5 s
	if r := get(t, g.at("/readyz")); r.status != http.StatusOK {
		t.Errorf("/readyz with the upstream back = %d %s; want 200", r.status, r.body)
	}
}

// answer is an HTTP answer, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) code() apicode.Code {
	var env struct {
		Errors []struct {
			Code apicode.Code `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(a.body, &env) != nil || len(env.Errors) == 0 {
		return 0
	}
	return env.Errors[0].Code
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, body}
}

func get(t *testing.T, url string) answer {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	return do(t, req)
}

func postToken(t *testing.T, base, auth string) answer { return postTokenFor(t, base, account, auth) }

func postTokenFor(t *testing.T, base, acct, auth string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+gen.CreateStreamTokenPath(acct, video), strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	return do(t, req)
}
