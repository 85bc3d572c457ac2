package gateway_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gateway"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func request(t *testing.T, method, url, auth, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func TestEverythingElseIsForwardedUnchanged(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	g := startGateway(t, up.URL, nil)
	upBase, _ := url.Parse(up.URL)
	tests := []struct {
		name, method, path, body string
		same                     bool // the answer, byte for byte, is the upstream's to the same request
	}{
		{"a video edit", http.MethodPost, "/accounts/" + account + "/stream/" + video, `{"requireSignedURLs":true,"meta":{"name":"x"}}`, false},
		{"a list", http.MethodGet, "/accounts/" + account + "/stream?asc=true&limit=5&status=ready", "", true},
		{"a direct upload", http.MethodPost, "/accounts/" + account + "/stream/direct_upload", `{"maxDurationSeconds":60}`, false},
		{"an unrelated path", http.MethodGet, "/zones?page=2&per_page=5", "", true},
		{"the keys' list", http.MethodGet, "/accounts/" + account + "/stream/keys", "", true},
		{"the webhook set", http.MethodPut, gen.SetWebhookPath(account), `{"notificationUrl":"https://example.com/hook"}`, false},
		{"the webhook read", http.MethodGet, gen.GetWebhookPath(account), "", true},
		{"the webhook deleted", http.MethodDelete, gen.DeleteWebhookPath(account), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.RequestLog())
			via := do(t, request(t, tt.method, g.url+tt.path, up.APIToken, tt.body))
			log := up.RequestLog()
			if len(log) != before+1 {
				t.Fatalf("the upstream saw %d requests; want 1", len(log)-before)
			}
			got := log[len(log)-1]
			path, query, _ := strings.Cut(tt.path, "?")
			if got.Method != tt.method || got.Path != upBase.Path+path || got.RawQuery != query || got.BodySHA256 != digest(tt.body) ||
				got.Credential != streamtokentest.CredentialDigest(up.APIToken, "", "") {
				t.Errorf("the upstream saw %s %s?%s (body %s); want %s %s?%s (body %s), with the caller's credential", got.Method, got.Path, got.RawQuery, got.BodySHA256[:8],
					tt.method, upBase.Path+path, query, digest(tt.body)[:8])
			}
			for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "Via"} {
				if got.Header.Get(h) != "" {
					t.Errorf("the gateway added %s: %q", h, got.Header.Get(h))
				}
			}
			if tt.same {
				direct := do(t, request(t, tt.method, up.URL+tt.path, up.APIToken, tt.body))
				if via.status != direct.status || string(via.body) != string(direct.body) {
					t.Errorf("through the gateway: %d %s\ndirect: %d %s", via.status, via.body, direct.status, direct.body)
				}
			}
			if tt.name == "a direct upload" {
				var env struct {
					Result struct {
						UploadURL string `json:"uploadURL"`
					} `json:"result"`
				}
				if err := json.Unmarshal(via.body, &env); err != nil || !strings.HasPrefix(env.Result.UploadURL, "http://"+upBase.Host+"/") {
					t.Errorf("the direct upload's uploadURL = %q (%v); want the upstream's, untouched", env.Result.UploadURL, err)
				}
			}
		})
	}
}

func TestKeysCreatedAndDeletedThroughTheGateway(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	g := startGateway(t, up.URL, nil)
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
	ctx := context.Background()
	k, err := c.CreateSigningKey(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	has := func() bool {
		keys, err := g.Server().PublicKeys(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		for _, pk := range keys {
			if pk.ID == k.ID {
				return true
			}
		}
		return false
	}
	if !has() {
		t.Errorf("a key created through the gateway is not in the account's JWK set here")
	}
	if err := c.DeleteSigningKey(ctx, account, k.ID); err != nil {
		t.Fatal(err)
	}
	if has() {
		t.Errorf("a key deleted through the gateway is still in the account's JWK set here")
	}
}

func TestConcurrentFirstTokensAskTheUpstreamOnce(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	g := startGateway(t, up.URL, nil)
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			if _, err := c.CreateToken(context.Background(), account, video, streamtoken.TokenRequest{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := operations(up); got["CreateStreamToken"] != 1 || got["CreateSigningKey"] != 1 {
		t.Errorf("40 concurrent first tokens: the upstream saw %v; want one authorization and one key created", got)
	}
}

func TestAKeyTheUpstreamRefusesToCreate(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	up.FailNext(100, streamtokentest.Failure{Operation: "CreateSigningKey", Status: http.StatusForbidden, Code: apicode.Forbidden, Message: "Unauthorized to access requested resource"})
	g := startGateway(t, up.URL, nil)
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
	for i := range 4 {
		tok, err := c.CreateToken(context.Background(), account, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatalf("token %d: %v; want the upstream's, forwarded", i, err)
		}
		if _, err := up.Verify(account, tok.Value); err != nil {
			t.Fatalf("token %d does not verify at the upstream: %v", i, err)
		}
	}
	if got := operations(up); got["CreateSigningKey"] != 1 || got["CreateStreamToken"] != 4 {
		t.Errorf("the upstream saw %v; want one key refused, then every token forwarded (4)", got)
	}
	// A request that brings its own key is signed here with it, as the
	// upstream would: no key of the account's is needed.
	key := testkey.Load(t, "rsa2048.pem", "0123456789abcdef0123456789abcdef")
	pemBytes, err := key.PrivatePEM()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateToken(context.Background(), account, video, streamtoken.TokenRequest{KeyID: key.ID, PEM: base64.StdEncoding.EncodeToString(pemBytes)})
	if err != nil {
		t.Fatalf("a token of the request's own key: %v", err)
	}
	if v, _ := token.NewVerifier([]*token.Key{key}); v == nil {
		t.Fatal("no verifier")
	} else if _, err := v.Verify(tok.Value); err != nil {
		t.Errorf("a token of the request's own key does not verify with it: %v", err)
	}
	if got := operations(up); got["CreateStreamToken"] != 4 {
		t.Errorf("a token of the request's own key reached the upstream: %v", got)
	}
	m := get(t, g.at("/metrics"))
	if !strings.Contains(string(m.body), `streamtoken_gateway_tokens_forwarded_total{reason="key_refused"} 3`) {
		t.Errorf("/metrics does not count the 3 tokens forwarded for the refused key")
	}
}

func TestWithTheDeploymentsOwnCredential(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	const local = "local-token-of-a-caller"
	const third = "33333333333333333333333333333333"
	g := startGateway(t, up.URL, func(c *gateway.Config) {
		c.Server.Credentials = []server.Credential{{Token: local, Accounts: []string{account}}, {Token: "local-of-a-third", Accounts: []string{third}}}
		c.UpstreamCredentials = []server.Credential{{Token: up.APIToken, Accounts: []string{account, other}}}
	})
	if r := postTokenFor(t, g.url, third, "Bearer local-of-a-third"); r.status != http.StatusForbidden || r.code() != apicode.NotForwarded {
		t.Errorf("a token of an account the deployment holds no upstream credential for: %d %s; want 403, code 1021", r.status, r.body)
	}
	deployment := streamtokentest.CredentialDigest(up.APIToken, "", "")
	c := client(t, g.url, streamtoken.WithAPIToken(local))
	tok, err := c.CreateToken(context.Background(), account, video, streamtoken.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Verify(account, tok.Value); err != nil {
		t.Errorf("the token does not verify at the upstream: %v", err)
	}
	if r := do(t, request(t, http.MethodGet, g.url+"/accounts/"+account+"/stream", local, "")); r.status != http.StatusOK {
		t.Errorf("the caller's own account's list: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/user/tokens/verify", "/accounts/" + other + "/stream", "/zones", "/accounts"} {
		if r := do(t, request(t, http.MethodGet, g.url+path, local, "")); r.status != http.StatusForbidden || r.code() != apicode.NotForwarded {
			t.Errorf("GET %s with a local credential: %d %s; want 403, code 1021", path, r.status, r.body)
		}
	}
	if r := postTokenFor(t, g.url, other, "Bearer "+local); r.status != http.StatusForbidden || r.code() != apicode.Forbidden {
		t.Errorf("a token of an account the local credential does not name: %d %s; want 403, code 10001", r.status, r.body)
	}
	if r := do(t, request(t, http.MethodGet, g.url+"/accounts/"+account+"/stream", "not-local", "")); r.status != http.StatusUnauthorized {
		t.Errorf("an unknown local credential: %d; want 401", r.status)
	}
	if r := do(t, request(t, http.MethodGet, g.url+"/accounts/"+account+"/stream", up.APIToken, "")); r.status != http.StatusUnauthorized {
		t.Errorf("the upstream's credential itself, presented by a caller: %d; want 401: callers hold local ones", r.status)
	}
	log := up.RequestLog()
	if got := operations(up); got["CreateSigningKey"] != 1 || got["CreateStreamToken"] != 0 || got["ListVideos"] != 1 || len(log) != 2 {
		t.Errorf("the upstream saw %v; want the key created and the list alone", got)
	}
	for _, l := range log {
		if l.Credential != deployment {
			t.Errorf("%s %s reached the upstream with another credential than the deployment's", l.Method, l.Path)
		}
	}
}

func TestHostileRequests(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	g := startGateway(t, up.URL, func(c *gateway.Config) { c.Transport = nil }) // the gateway's own
	// Hop-by-hop headers, and those Connection names, stop here.
	req := request(t, http.MethodGet, g.url+"/zones", up.APIToken, "")
	req.Header.Set("Connection", "X-Private, keep-alive")
	req.Header.Set("X-Private", "for the gateway alone")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
	req.Header.Set("X-Kept", "1")
	do(t, req)
	log := up.RequestLog()
	got := log[len(log)-1].Header
	for _, h := range []string{"X-Private", "Keep-Alive", "Proxy-Authorization", "Connection"} {
		if got.Get(h) != "" {
			t.Errorf("%s reached the upstream: %q", h, got.Get(h))
		}
	}
	if got.Get("X-Kept") != "1" {
		t.Errorf("an end-to-end header was dropped")
	}
	// Nothing the caller did not send: no Accept-Encoding of the
	// gateway's own, no User-Agent.
	if status, _ := raw(t, host(g), "GET /client/v4/zones HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+up.APIToken+"\r\n\r\n"); status != http.StatusNotFound {
		t.Errorf("GET /zones, raw: %d; want the upstream's 404", status)
	}
	log = up.RequestLog()
	for name := range log[len(log)-1].Header {
		if name != "Content-Length" {
			t.Errorf("the upstream got %s: %q, which the caller did not send", name, log[len(log)-1].Header.Get(name))
		}
	}
	// Paths another server would read otherwise.
	before := len(up.RequestLog())
	host := host(g)
	for _, path := range []string{
		"/client/v4/accounts/" + account + "/../../zones",
		"/client/v4/accounts/" + account + "/%2e%2e/%2E%2E/zones",
		"/client/v4/accounts/" + account + "/%2e/stream",
		"/client/v4/accounts/" + account + "%2Fstream/keys",
		"/client/v4/accounts/" + account + "/stream%5ckeys",
		"/client/v4//zones",
	} {
		status, body := raw(t, host, "GET "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+up.APIToken+"\r\n\r\n")
		if status != http.StatusBadRequest || !strings.Contains(body, fmt.Sprintf(`"code":%d`, apicode.UncleanPath)) {
			t.Errorf("GET %s: %d %s; want 400, code 1008", path, status, body)
		}
	}
	if n := len(up.RequestLog()) - before; n != 0 {
		t.Errorf("%d requests of an ambiguous path reached the upstream", n)
	}
	// A body framed two ways: net/http reads it by Transfer-Encoding and
	// drops the Content-Length, as RFC 9112 asks; the upstream gets the
	// chunked body alone, framed anew, and nothing of the length claimed.
	status, _ := raw(t, host, "POST /client/v4/zones HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n")
	log = up.RequestLog()
	if last := log[len(log)-1]; status != http.StatusNotFound || len(log) != before+1 || last.BodyBytes != 4 || last.Header.Get("Content-Length") == "40" {
		t.Errorf("Transfer-Encoding with Content-Length: %d, the upstream saw %d requests, the last %s %s with %d bytes (Content-Length %q); want the upstream's 404 to one POST of the 4 chunked bytes",
			status, len(log)-before, last.Method, last.Path, last.BodyBytes, last.Header.Get("Content-Length"))
	}
}

// raw sends a request as written, and reads the answer's status and body.
func raw(t *testing.T, host, req string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestASlowOrSilentUpstream: an upstream that never answers, or stalls
// in the middle of its answer, holds a forwarded request no longer than
// the gateway's bounds; one that answers 1 GiB as fast as it can costs
// the gateway buffers, not the answer's size.
func TestASlowOrSilentUpstream(t *testing.T) {
	const chunk = 64 << 10
	size := int64(1 << 30)
	if testing.Short() {
		size = 128 << 20
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/silent":
			<-r.Context().Done()
		case "/stalls":
			w.Write(make([]byte, chunk))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case "/large":
			w.Header().Set("Content-Length", fmt.Sprint(size))
			buf := make([]byte, chunk)
			for n := int64(0); n < size; n += chunk {
				if _, err := w.Write(buf); err != nil {
					return
				}
			}
		}
	}))
	defer upstream.Close()
	g := startGateway(t, upstream.URL, func(c *gateway.Config) {
		c.Transport = &http.Transport{ResponseHeaderTimeout: 500 * time.Millisecond}
		c.IdleTimeout = 500 * time.Millisecond
	})
	start := time.Now()
	if r := do(t, request(t, http.MethodGet, g.url+"/silent", "t", "")); r.status != http.StatusServiceUnavailable || r.code() != apicode.UpstreamUnavailable {
		t.Errorf("an upstream that never answers: %d %s; want 503, code 1020", r.status, r.body)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("an upstream that never answers held the request %v", d)
	}
	start = time.Now()
	resp, err := http.Get(g.url + "/stalls")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil || n != chunk {
		t.Errorf("an answer that stalls: read %d bytes, error %v; want %d, then an error", n, err, chunk)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("an answer that stalls held the request %v", d)
	}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
	})
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	resp, err = http.Get(g.url + "/large")
	if err != nil {
		t.Fatal(err)
	}
	n, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	close(done)
	wg.Wait()
	if err != nil || n != size {
		t.Errorf("a %d-byte answer: read %d, %v", size, n, err)
	}
	grew := int64(peak) - int64(base.HeapInuse)
	t.Logf("a %d MiB answer through the gateway: the heap in use grew by %d KiB at most", size>>20, grew>>10)
	if grew > 32<<20 {
		t.Errorf("a %d MiB answer grew the heap in use by %d MiB; want under 32", size>>20, grew>>20)
	}
}

// brokenBody sends some bytes, then fails, as a caller's upload that breaks
// off does.
type brokenBody struct{ sent bool }

func (b *brokenBody) Read(p []byte) (int, error) {
	if b.sent {
		return 0, errors.New("the caller's connection broke")
	}
	b.sent = true
	return copy(p, "some of the body"), nil
}

func TestACallersBodyThatBreaksOff(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	g := startGateway(t, up.URL, nil)
	req := httptest.NewRequest(http.MethodPost, server.BasePath+"/accounts/"+account+"/stream", &brokenBody{})
	req.ContentLength = 1 << 20
	req.Header.Set("Authorization", "Bearer "+up.APIToken)
	rec := httptest.NewRecorder()
	g.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "body could not be read") {
		t.Errorf("a body that broke off: %d %s; want the caller's 400, not the upstream's 503", rec.Code, rec.Body)
	}
	if r := get(t, g.at("/readyz")); r.status != http.StatusOK {
		t.Errorf("/readyz after a caller's broken body: %d; the upstream is not down", r.status)
	}
}

// host is a gateway's host:port.
func host(g *gw) string { return strings.TrimPrefix(g.at(""), "http://") }

// at is the URL of path on the gateway, outside the API (/metrics).
func (g *gw) at(path string) string { return strings.TrimSuffix(g.url, server.BasePath) + path }
