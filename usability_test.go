package streamtoken_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

func TestNotFoundSaysWhy(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(serverTestKey(t)))
	defer srv.Close()
	noAPI := newAPIServer(t, reply(404, "<html>Not Found</html>", "Content-Type", "text/html"))
	envelope := newAPIServer(t, reply(404, `{"success":false,"errors":[{"code":10003,"message":"video not found"}],"messages":[],"result":null}`))
	tests := []struct {
		name, base, wantHint string
	}{
		{name: "base URL without /client/v4", base: strings.TrimSuffix(srv.URL, "/client/v4"), wantHint: "does not end in /client/v4"},
		{name: "base URL with a trailing path", base: srv.URL + "/v5", wantHint: "does not end in /client/v4"},
		{name: "no envelope", base: noAPI.BaseURL(), wantHint: "no Cloudflare API envelope"},
		{name: "the API's own 404", base: envelope.BaseURL(), wantHint: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := streamtoken.NewClient(streamtoken.WithAPIToken(srv.APIToken), streamtoken.WithBaseURL(tt.base), streamtoken.WithMaxRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
			var apiErr *streamtoken.APIError
			if !errors.As(err, &apiErr) || !errors.Is(err, streamtoken.ErrNotFound) {
				t.Fatalf("CreateToken() = %v, want a 404 *APIError", err)
			}
			if (tt.wantHint == "") != (apiErr.Hint == "") || !strings.Contains(apiErr.Hint, tt.wantHint) || !strings.Contains(err.Error(), tt.wantHint) {
				t.Errorf("Hint = %q (error %q), want %q", apiErr.Hint, err, tt.wantHint)
			}
		})
	}
}

func TestExhaustedRetriesSayHowMany(t *testing.T) {
	var waits []time.Duration
	sleep := streamtoken.WithSleep(func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil })

	s := newAPIServer(t, reply(429, `{"success":false,"errors":[{"code":1015,"message":"slow down"}],"messages":[],"result":null}`))
	_, err := newClient(t, s, sleep, streamtoken.WithMaxRetries(2)).CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
	var apiErr *streamtoken.APIError
	if !errors.As(err, &apiErr) || apiErr.Attempts != 3 || !strings.Contains(err.Error(), "(after 3 attempts)") {
		t.Errorf("CreateToken() after 3 rate limits = %v (attempts %d), want 3 attempts said", err, apiErr.Attempts)
	}

	// A port nobody listens on: refused every time.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken(testAPIToken), streamtoken.WithBaseURL("http://"+addr+"/client/v4"), streamtoken.WithMaxRetries(3), sleep)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "(after 4 attempts)") {
		t.Errorf("CreateToken() to a closed port = %v, want connection refused after 4 attempts", err)
	}

	// One try says nothing of attempts.
	_, err = newClient(t, s, streamtoken.WithMaxRetries(0)).CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
	if err == nil || strings.Contains(err.Error(), "attempts") {
		t.Errorf("CreateToken() with no retries = %v, want no attempts count", err)
	}
}

// jwksURL is where a fake server publishes its JWK set.
func jwksURL(t *testing.T, srv *streamtokentest.Server) string {
	t.Helper()
	u, err := streamtoken.KeySetURL(srv.URL, testAccount)
	if err != nil || u != srv.JWKSURL(testAccount) {
		t.Fatalf("KeySetURL(%s) = %q, %v; want %s", srv.URL, u, err, srv.JWKSURL(testAccount))
	}
	return u
}

func TestKeySetVerifiesWhatTheServerSigns(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(serverTestKey(t)))
	defer srv.Close()
	set, err := streamtoken.NewKeySet(jwksURL(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.NewClient().CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := set.Verify(context.Background(), tok.Value)
	if err != nil || claims.VideoID != testVideo {
		t.Fatalf("Verify() = %+v, %v; want the video's claims", claims, err)
	}
	keys, err := set.Keys(context.Background())
	if err != nil || len(keys) != 1 || keys[0].ID != serverTestKey(t).ID || keys[0].Private != nil {
		t.Errorf("Keys() = %v, %v; want the server's public key", keys, err)
	}
	// Another server's token names a kid the set lacks: one early fetch,
	// then ErrUnknownKey.
	other := streamtokentest.NewServer(streamtokentest.WithSigningKey(otherTestKey(t)))
	defer other.Close()
	foreign, err := other.NewClient().CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Verify(context.Background(), foreign.Value); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("Verify(a foreign token) = %v, want ErrUnknownKey", err)
	}
	if _, err := set.Verify(context.Background(), tok.Value+"x"); !errors.Is(err, token.ErrSignature) && !errors.Is(err, token.ErrMalformed) {
		t.Errorf("Verify(a tampered token) = %v, want a signature error", err)
	}
}

func TestKeySetFetchesAgainForANewKeyButNotForEveryToken(t *testing.T) {
	first := streamtokentest.NewServer(streamtokentest.WithSigningKey(serverTestKey(t)))
	defer first.Close()
	second := streamtokentest.NewServer(streamtokentest.WithSigningKey(otherTestKey(t)))
	defer second.Close()
	sets := map[string]string{} // what the JWKS endpoint serves, as it changes
	for name, srv := range map[string]*streamtokentest.Server{"first": first, "second": second} {
		resp, err := srv.Client().Get(jwksURL(t, srv))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sets[name] = string(b)
	}
	var mu sync.Mutex
	serving, fetches := "first", 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		_, _ = io.WriteString(w, sets[serving])
	}))
	defer ts.Close()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	set, err := streamtoken.NewKeySet(ts.URL + "/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	streamtoken.SetKeySetClock(set, func() time.Time { return now })
	tokenOf := func(srv *streamtokentest.Server) string {
		tok, err := srv.NewClient().CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Value
	}
	verify := func(tok string) error { _, err := set.Verify(context.Background(), tok); return err }
	count := func() int { mu.Lock(); defer mu.Unlock(); return fetches }

	a := tokenOf(first)
	for range 5 {
		if err := verify(a); err != nil {
			t.Fatal(err)
		}
	}
	if count() != 1 {
		t.Fatalf("fetches = %d after 5 tokens, want 1", count())
	}
	// The source rotates to the second key. Within KeySetMinRefresh of the
	// last fetch, unknown kids cost no fetch.
	mu.Lock()
	serving = "second"
	mu.Unlock()
	b := tokenOf(second)
	now = now.Add(streamtoken.KeySetMinRefresh - time.Second)
	for range 5 {
		if err := verify(b); !errors.Is(err, token.ErrUnknownKey) {
			t.Fatalf("Verify(new key, too soon) = %v, want ErrUnknownKey", err)
		}
	}
	if count() != 1 {
		t.Errorf("fetches = %d, want still 1: unknown kids must not make it fetch every time", count())
	}
	// Past it, one unknown kid fetches once, and the new key verifies.
	now = now.Add(2 * time.Second)
	if err := verify(b); err != nil {
		t.Errorf("Verify(new key) after KeySetMinRefresh = %v, want nil", err)
	}
	if err := verify(a); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("Verify(dropped key) = %v, want ErrUnknownKey", err)
	}
	if count() != 2 {
		t.Errorf("fetches = %d, want 2", count())
	}
	// Past half its maximum age the set is fetched again; a failing source
	// keeps it in use until the maximum age, and not a moment past it.
	ts.Close()
	now = now.Add(token.DefaultJWKSMaxAge/2 + time.Second)
	if err := verify(b); err != nil {
		t.Errorf("Verify() with the source down, set not expired = %v, want the set in use", err)
	}
	now = now.Add(token.DefaultJWKSMaxAge / 2)
	if err := verify(b); err == nil || errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("Verify() with the source down, set expired = %v, want the fetch's error", err)
	}
}

func TestKeySetBounds(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"keys":["` + strings.Repeat("a", streamtoken.KeySetMaxBytes) + `"]}`))
	}))
	defer big.Close()
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:1/jwks.json", http.StatusFound)
	}))
	defer elsewhere.Close()
	for name, tt := range map[string]struct{ url, want string }{
		"too large":               {big.URL, "too large"},
		"not found":               {missing.URL, "HTTP 404"},
		"redirect to elsewhere":   {elsewhere.URL, "refused a redirect to another host"},
		"http off loopback":       {"http://example.com/jwks.json", "http is for loopback addresses only"},
		"not a URL":               {"jwks.json", "want an absolute https URL"},
		"another scheme":          {"ftp://127.0.0.1/jwks.json", "want an absolute https URL"},
		"https needs no loopback": {"https://127.0.0.1:1/jwks.json", "refused"},
	} {
		t.Run(name, func(t *testing.T) {
			set, err := streamtoken.NewKeySet(tt.url)
			if err == nil {
				_, err = set.Keys(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("JWKS(%s) = %v, want %q", tt.url, err, tt.want)
			}
		})
	}
}

// serverTestKey and otherTestKey are keys of token/testdata, so that tests
// generate no RSA keys.
func serverTestKey(t *testing.T) *token.Key { return testkey.Load(t, "rsa2048.pem", "server-key") }
func otherTestKey(t *testing.T) *token.Key  { return testkey.Load(t, "rsa2048-b.pem", "other-key") }

// A fetch under way holds up no verification while a set is in use: a
// source that hangs delays only the caller whose unknown kid asked for it.
func TestKeySetFetchBlocksNoOne(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(serverTestKey(t)))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.JWKSURL(testAccount))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	release := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n > 1 {
			select { // hangs, until the test ends it
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write(set)
	}))
	defer ts.Close()
	defer close(release)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	keys, err := streamtoken.NewKeySet(ts.URL + "/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	streamtoken.SetKeySetClock(keys, func() time.Time { return now })
	tok, err := srv.NewClient().CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Verify(context.Background(), tok.Value); err != nil {
		t.Fatal(err)
	}
	now = now.Add(streamtoken.KeySetMinRefresh + time.Second)
	// A made-up kid starts a fetch that hangs.
	forged := "eyJhbGciOiJSUzI1NiIsImtpZCI6Im1hZGUtdXAifQ" + tok.Value[strings.Index(tok.Value, "."):]
	hung := make(chan error, 1)
	go func() { _, err := keys.Verify(context.Background(), forged); hung <- err }()
	for { // until the hanging fetch is under way
		mu.Lock()
		n := calls
		mu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { _, err := keys.Verify(context.Background(), tok.Value); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Verify(a known kid) during a hung fetch = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Verify(a known kid) waited for a fetch under way")
	}
	select {
	case err := <-hung:
		t.Fatalf("the forged token's Verify returned %v before its fetch ended", err)
	default:
	}
}
