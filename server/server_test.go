package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/openapi"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

const (
	account    = "023e105f4ecef8ad9ca31a8372d0c353"
	otherAcct  = "9a7806061c88ada191ed06f989cc3dac"
	video      = "ea95132c15732412d22c1476fa83f27a"
	apiToken   = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"
	scoped     = "scoped-token-0123456789abcdef"
	email      = "user@example.com"
	globalKey  = "144c9defac04969c7bfad8efaa8ea194"
	tokenPath  = "/client/v4/accounts/" + account + "/stream/" + video + "/token"
	serverKID  = "0123456789abcdef0123456789abcdef"
	requestKID = "ab0d4ef71g4425f8dcba9041231813000"
)

var (
	keysOnce           sync.Once
	serverKey, userKey *token.Key
	userPEMField       string
	shortPEMField      string
)

// testKey is a key of token/testdata with the API's pem field of it.
func testKey(t testing.TB, name, kid string) (*token.Key, string) {
	t.Helper()
	return testkey.Load(t, name, kid), base64.StdEncoding.EncodeToString(testkey.Read(t, name))
}

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		serverKey, _ = testKey(t, "rsa2048.pem", serverKID)
		userKey, userPEMField = testKey(t, "rsa2048-b.pem", requestKID)
		shortPEMField = base64.StdEncoding.EncodeToString(testkey.Read(t, "rsa1024.pem"))
	})
}

// signerOf is a signer of a test key, on the real clock.
func signerOf(k *token.Key) *token.Signer {
	s, err := token.NewSigner(k)
	if err != nil {
		panic(err)
	}
	return s
}

// signersOf makes a signer of each key.
func signersOf(keys map[string]*token.Key) map[string]*token.Signer {
	out := make(map[string]*token.Signer, len(keys))
	for account, k := range keys {
		out[account] = signerOf(k)
	}
	return out
}

func credentials() []server.Credential {
	return []server.Credential{
		{Token: apiToken},
		{Token: scoped, Accounts: []string{otherAcct}},
		{Email: email, Key: globalKey},
	}
}

// newServer builds a server of cfg, with the test credentials and the
// server key where cfg has none.
func newServer(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	keys(t)
	if cfg.Credentials == nil {
		cfg.Credentials = credentials()
	}
	if cfg.Signer == nil {
		cfg.Signer = signerOf(serverKey)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New() error = %v", err)
	}
	return s
}

// jwksPath is the path of an account's JWK set.
func jwksPath(account string) string { return gen.GetAccountKeySetPath(account) }

// start runs a server on loopback and returns its base URL (without
// /client/v4).
func start(t *testing.T, cfg server.Config) (string, *server.Server) {
	t.Helper()
	s := newServer(t, cfg)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL, s
}

type response struct {
	Status int
	Header http.Header
	Raw    string
	Env    struct {
		Success bool `json:"success"`
		Errors  []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Source  *struct {
				Pointer string `json:"pointer"`
			} `json:"source"`
		} `json:"errors"`
		Messages []any `json:"messages"`
		Result   *struct {
			Token string `json:"token"`
		} `json:"result"`
	}
}

func do(t *testing.T, method, url string, body io.Reader, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Env)
	return r
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func post(t *testing.T, base, body string, headers ...string) response {
	t.Helper()
	h := append(bearer(apiToken), "Content-Type", "application/json")
	return do(t, http.MethodPost, base+tokenPath, strings.NewReader(body), append(h, headers...)...)
}

func (r response) pointers() []string {
	var out []string
	for _, e := range r.Env.Errors {
		p := ""
		if e.Source != nil {
			p = e.Source.Pointer
		}
		out = append(out, p)
	}
	return out
}

func TestBadInput(t *testing.T) {
	base, _ := start(t, server.Config{})
	now := time.Now()
	big := `{"accessRules":[{"type":"ip.src","action":"allow","ip":["` + strings.Repeat("1", 70<<10) + `"]}]}`
	tests := []struct {
		name         string
		method       string
		path         string
		body         string
		contentType  string
		wantStatus   int
		wantCodes    []int
		wantPointers []string
	}{
		{name: "malformed JSON", body: `{"exp":`, wantStatus: 400, wantCodes: []int{1001}, wantPointers: []string{""}},
		{name: "two JSON values", body: `{} {}`, wantStatus: 400, wantCodes: []int{1001}, wantPointers: []string{""}},
		{name: "unknown field", body: `{"acessRules":[{"type":"any","action":"block"}]}`, wantStatus: 400, wantCodes: []int{1002}, wantPointers: []string{"/acessRules"}},
		{name: "unknown rule field", body: `{"accessRules":[{"type":"any","action":"block","countries":["US"]}]}`, wantStatus: 400, wantCodes: []int{1002}, wantPointers: []string{"/accessRules/0/countries"}},
		{name: "exp as a string", body: `{"exp":"1537460365"}`, wantStatus: 400, wantCodes: []int{1002}, wantPointers: []string{"/exp"}},
		{name: "exp as a fraction", body: `{"exp":1537460365.5}`, wantStatus: 400, wantCodes: []int{1002}, wantPointers: []string{"/exp"}},
		{name: "bad enum", body: `{"accessRules":[{"type":"any","action":"deny"}]}`, wantStatus: 400, wantCodes: []int{1002}, wantPointers: []string{"/accessRules/0/action"}},
		{name: "3-letter country", body: `{"accessRules":[{"type":"ip.geoip.country","action":"block","country":["USA"]}]}`, wantStatus: 400, wantCodes: []int{1002}, wantPointers: []string{"/accessRules/0/country/0"}},
		{name: "six rules", body: `{"accessRules":[` + strings.TrimSuffix(strings.Repeat(`{"type":"any","action":"allow"},`, 6), ",") + `]}`, wantStatus: 400, wantCodes: []int{1002}, wantPointers: []string{"/accessRules"}},
		{name: "body as an array", body: `[]`, wantStatus: 400, wantCodes: []int{1002}, wantPointers: []string{""}},
		{name: "bad CIDR", body: `{"accessRules":[{"type":"ip.src","action":"allow","ip":["10.0.0.0/8","10.0.0.0/33"]}]}`, wantStatus: 400, wantCodes: []int{1003}, wantPointers: []string{"/accessRules/0/ip/1"}},
		{name: "unassigned country", body: `{"accessRules":[{"type":"ip.geoip.country","action":"block","country":["ZZ"]}]}`, wantStatus: 400, wantCodes: []int{1003}, wantPointers: []string{"/accessRules/0/country/0"}},
		{name: "ip.src without ip", body: `{"accessRules":[{"type":"ip.src","action":"allow"}]}`, wantStatus: 400, wantCodes: []int{1003}, wantPointers: []string{"/accessRules/0/ip"}},
		{name: "exp 48h", body: fmt.Sprintf(`{"exp":%d}`, now.Add(48*time.Hour).Unix()), wantStatus: 400, wantCodes: []int{1003}, wantPointers: []string{"/exp"}},
		{name: "exp in the past", body: `{"exp":1537460365}`, wantStatus: 400, wantCodes: []int{1003}, wantPointers: []string{"/exp"}},
		{name: "nbf after exp", body: fmt.Sprintf(`{"exp":%d,"nbf":%d}`, now.Add(time.Hour).Unix(), now.Add(2*time.Hour).Unix()), wantStatus: 400, wantCodes: []int{1003}, wantPointers: []string{"/nbf"}},
		{name: "id without pem", body: `{"id":"` + requestKID + `"}`, wantStatus: 400, wantCodes: []int{1003}, wantPointers: []string{"/pem"}},
		{name: "pem without id", body: `{"pem":"` + userPEMField + `"}`, wantStatus: 400, wantCodes: []int{1003}, wantPointers: []string{"/id"}},
		{name: "pem not base64", body: `{"id":"k","pem":"not base64!"}`, wantStatus: 400, wantCodes: []int{1003}, wantPointers: []string{"/pem"}},
		{name: "pem of a short key", body: `{"id":"k","pem":"` + shortPEMField + `"}`, wantStatus: 400, wantCodes: []int{1003}, wantPointers: []string{"/pem"}},
		{name: "several violations", body: fmt.Sprintf(`{"id":"k","exp":%d,"accessRules":[{"type":"ip.src","action":"allow","ip":["nope"]}]}`, now.Add(48*time.Hour).Unix()),
			wantStatus: 400, wantCodes: []int{1003, 1003, 1003}, wantPointers: []string{"/pem", "/exp", "/accessRules/0/ip/0"}},
		{name: "body over 64 KiB", body: big, wantStatus: 413, wantCodes: []int{1005}, wantPointers: []string{""}},
		{name: "text/plain body", body: `{}`, contentType: "text/plain", wantStatus: 415, wantCodes: []int{1006}, wantPointers: []string{""}},
		{name: "account ID too long", path: "/client/v4/accounts/" + strings.Repeat("a", 33) + "/stream/" + video + "/token", body: `{}`, wantStatus: 400, wantCodes: []int{1004}, wantPointers: []string{""}},
		{name: "unknown route", path: "/client/v4/accounts/" + account + "/stream/" + video + "/tokens", body: `{}`, wantStatus: 404, wantCodes: []int{7003}, wantPointers: []string{""}},
		{name: "wrong method", method: http.MethodGet, wantStatus: 405, wantCodes: []int{7001}, wantPointers: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path, ct := tt.method, tt.path, tt.contentType
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = tokenPath
			}
			if ct == "" {
				ct = "application/json"
			}
			r := do(t, method, base+path, strings.NewReader(tt.body), append(bearer(apiToken), "Content-Type", ct)...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", r.Status, tt.wantStatus, r.Raw)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if r.Env.Success || r.Env.Result != nil || r.Env.Messages == nil || !strings.Contains(r.Raw, `"result":null`) {
				t.Errorf("envelope = %s, want success false, messages [], result null", r.Raw)
			}
			var codes []int
			for _, e := range r.Env.Errors {
				codes = append(codes, e.Code)
				if e.Message == "" {
					t.Error("an error without a message")
				}
			}
			if fmt.Sprint(codes) != fmt.Sprint(tt.wantCodes) {
				t.Errorf("codes = %v, want %v; body %s", codes, tt.wantCodes, r.Raw)
			}
			if fmt.Sprint(r.pointers()) != fmt.Sprint(tt.wantPointers) {
				t.Errorf("pointers = %q, want %q; body %s", r.pointers(), tt.wantPointers, r.Raw)
			}
			if strings.Contains(r.Raw, userPEMField[200:240]) || strings.Contains(r.Raw, shortPEMField[150:190]) {
				t.Error("the answer repeats the pem")
			}
			// The server keeps serving.
			if ok := post(t, base, `{}`); ok.Status != http.StatusOK || ok.Env.Result == nil || ok.Env.Result.Token == "" {
				t.Fatalf("after the bad request, a good one got %d %s", ok.Status, ok.Raw)
			}
		})
	}
}

func TestAuthMatrix(t *testing.T) {
	base, _ := start(t, server.Config{})
	otherPath := "/client/v4/accounts/" + otherAcct + "/stream/" + video + "/token"
	tests := []struct {
		name       string
		path       string
		headers    []string
		wantStatus int
		wantCode   int
	}{
		{name: "no credentials", headers: nil, wantStatus: 401, wantCode: 10000},
		{name: "wrong bearer", headers: bearer("wrong"), wantStatus: 401, wantCode: 10000},
		{name: "bearer with a prefix of the token", headers: bearer(apiToken[:10]), wantStatus: 401, wantCode: 10000},
		{name: "basic scheme", headers: []string{"Authorization", "Basic " + apiToken}, wantStatus: 401, wantCode: 10000},
		{name: "right bearer", headers: bearer(apiToken), wantStatus: 200},
		{name: "bearer, lower-case scheme", headers: []string{"Authorization", "bearer " + apiToken}, wantStatus: 200},
		{name: "email and key", headers: []string{"X-Auth-Email", email, "X-Auth-Key", globalKey}, wantStatus: 200},
		{name: "email and wrong key", headers: []string{"X-Auth-Email", email, "X-Auth-Key", "wrong"}, wantStatus: 401, wantCode: 10000},
		{name: "key without email", headers: []string{"X-Auth-Key", globalKey}, wantStatus: 401, wantCode: 10000},
		{name: "the token as a key", headers: []string{"X-Auth-Email", email, "X-Auth-Key", apiToken}, wantStatus: 401, wantCode: 10000},
		{name: "scoped token, wrong account", headers: bearer(scoped), wantStatus: 403, wantCode: 10001},
		{name: "scoped token, its account", path: otherPath, headers: bearer(scoped), wantStatus: 200},
		{name: "wrong bearer, right email and key", headers: append(bearer("wrong"), "X-Auth-Email", email, "X-Auth-Key", globalKey), wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = tokenPath
			}
			// The body is invalid: authentication must come first.
			body := `{"exp":"not checked before auth"}`
			if tt.wantStatus == 200 {
				body = `{}`
			}
			r := do(t, http.MethodPost, base+path, strings.NewReader(body), append([]string{"Content-Type", "application/json"}, tt.headers...)...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; %s", r.Status, tt.wantStatus, r.Raw)
			}
			if tt.wantCode != 0 && (len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != tt.wantCode) {
				t.Errorf("errors = %s, want code %d", r.Raw, tt.wantCode)
			}
			if strings.Contains(r.Raw, apiToken) || strings.Contains(r.Raw, globalKey) {
				t.Error("the answer repeats a credential")
			}
		})
	}
}

func TestSignsWithTheServerKeyAndPublishesIt(t *testing.T) {
	base, _ := start(t, server.Config{})
	// No body and no content type at all: defaults.
	r := do(t, http.MethodPost, base+tokenPath, nil, bearer(apiToken)...)
	if r.Status != 200 || !r.Env.Success || r.Env.Errors == nil || r.Env.Messages == nil {
		t.Fatalf("got %d %s", r.Status, r.Raw)
	}
	jwks := do(t, http.MethodGet, base+jwksPath(account), nil)
	keys, err := token.ParseJWKS([]byte(jwks.Raw))
	if err != nil {
		t.Fatalf("ParseJWKS(the account's set) error = %v", err)
	}
	v, err := token.NewVerifier(keys)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(r.Env.Result.Token)
	if err != nil {
		t.Fatalf("Verify() with the published keys: %v", err)
	}
	if claims.VideoID != video || claims.KeyID != serverKID {
		t.Errorf("claims = %+v", claims)
	}
	if d := time.Until(claims.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("exp is %v from now, want the default hour", d)
	}
	if d := time.Since(claims.NotBefore); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("nbf is %v ago, want the default hour", d)
	}
}

func TestSignsWithTheRequestKey(t *testing.T) {
	base, _ := start(t, server.Config{})
	r := post(t, base, `{"id":"`+requestKID+`","pem":"`+userPEMField+`","downloadable":true}`)
	if r.Status != 200 {
		t.Fatalf("got %d %s", r.Status, r.Raw)
	}
	userV, _ := token.NewVerifier([]*token.Key{userKey})
	claims, err := userV.Verify(r.Env.Result.Token)
	if err != nil {
		t.Fatalf("Verify() with the request's key: %v", err)
	}
	if claims.KeyID != requestKID || !claims.Downloadable {
		t.Errorf("claims = %+v, want kid %s, downloadable", claims, requestKID)
	}
	serverV, _ := token.NewVerifier([]*token.Key{serverKey})
	if _, err := serverV.Verify(r.Env.Result.Token); err == nil {
		t.Error("the server's key verifies a token signed with the request's key")
	}
}

func TestAccountKeys(t *testing.T) {
	keys(t)
	base, _ := start(t, server.Config{AccountSigners: signersOf(map[string]*token.Key{otherAcct: userKey})})
	r := do(t, http.MethodPost, base+"/client/v4/accounts/"+otherAcct+"/stream/"+video+"/token", nil, bearer(apiToken)...)
	d, err := token.Decode(r.Env.Result.Token)
	if err != nil || d.Claims.KeyID != requestKID {
		t.Fatalf("account with a key of its own: kid = %v (%v), want %s", d, err, requestKID)
	}
	r = do(t, http.MethodPost, base+tokenPath, nil, bearer(apiToken)...)
	if d, _ := token.Decode(r.Env.Result.Token); d.Claims.KeyID != serverKID {
		t.Errorf("account without a key: kid = %s, want the default %s", d.Claims.KeyID, serverKID)
	}
}

func TestConcurrentRequests(t *testing.T) {
	base, _ := start(t, server.Config{})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 32 {
		wg.Go(func() {
			body := `{}`
			want := 200
			if i%4 == 0 {
				body, want = `{"bad":1}`, 400
			}
			req, _ := http.NewRequest(http.MethodPost, base+tokenPath, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+apiToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				errs <- fmt.Sprintf("request %d: status %d, want %d", i, resp.StatusCode, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	keys(t)
	// The handler is hooked where it signs: the test knows the request is
	// in a handler, and holds it there until the shutdown has begun.
	gate := &gatedSigner{Signer: serverKey.Private, entered: make(chan struct{}), release: make(chan struct{})}
	signer, err := token.NewCryptoSigner(serverKID, gate)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{Credentials: credentials(), Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+tokenPath, strings.NewReader(`{"downloadable":true}`))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- result{status: resp.StatusCode, body: string(b)}
	}()
	<-gate.entered // the request is in the handler
	cancel()
	// The shutdown has begun once the listener refuses connections; only
	// then may the handler finish, so the request must be drained.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts 5 s after the shutdown began")
		}
	}
	select {
	case err := <-served:
		t.Fatalf("Serve() = %v before the request in flight finished", err)
	default:
	}
	close(gate.release)
	r := <-done
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, `"token":"`) {
		t.Fatalf("in-flight request: %d %q %v, want 200 with a token", r.status, r.body, r.err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve() = %v, want nil after a graceful shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve() did not return after the shutdown")
	}
}

// gatedSigner signs with Signer once release is closed, and closes entered
// when a signature is first asked for.
type gatedSigner struct {
	crypto.Signer
	entered, release chan struct{}
	once             sync.Once
}

func (g *gatedSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.release
	return g.Signer.Sign(rand, digest, opts)
}

// lockedBuffer is a log destination for concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogsHoldNoSecrets(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base, _ := start(t, server.Config{Logger: logger})
	var tokens []string
	bodies := []string{
		`{}`,
		`{"id":"` + requestKID + `","pem":"` + userPEMField + `"}`,
		`{"id":"k","pem":"` + shortPEMField + `"}`,
		`{"pem":"` + userPEMField + `"}`,
		`{"exp":"x","pem":"` + userPEMField + `"}`,
		`{"accessRules":[{"type":"ip.src","action":"allow","ip":["10.0.0.0/8"]}]}`,
		`not json ` + apiToken,
	}
	for i := 0; i < 5; i++ {
		for _, b := range bodies {
			r := post(t, base, b)
			if r.Env.Result != nil {
				tokens = append(tokens, r.Env.Result.Token)
			}
			do(t, http.MethodPost, base+tokenPath, strings.NewReader(b), "Authorization", "Bearer wrong-"+apiToken, "Content-Type", "application/json")
			do(t, http.MethodPost, base+tokenPath, strings.NewReader(b), "X-Auth-Email", email, "X-Auth-Key", globalKey, "Content-Type", "application/json")
		}
	}
	if len(tokens) < 10 {
		t.Fatalf("only %d tokens were made; the test proves little", len(tokens))
	}
	text := logs.String()
	if n := strings.Count(text, `"msg":"request"`); n < 100 {
		t.Fatalf("log has %d request lines, want one per request (105)", n)
	}
	// The duration is for people: milliseconds, a number, never bare
	// nanoseconds.
	var line struct {
		DurationMS *float64 `json:"duration_ms"`
		Duration   any      `json:"duration"`
	}
	if err := json.Unmarshal([]byte(text[:strings.IndexByte(text, '\n')]), &line); err != nil || line.DurationMS == nil || *line.DurationMS < 0 || *line.DurationMS > 60000 || line.Duration != nil {
		t.Errorf("first log line %q: want duration_ms in milliseconds and no bare duration (%v)", text[:strings.IndexByte(text, '\n')], err)
	}
	// Key material, not the PEM header's base64 (the same for every key).
	secrets := map[string]string{
		"API token": apiToken, "global key": globalKey,
		"pem": userPEMField[200:240], "short pem": shortPEMField[150:190],
		"private exponent": userKey.Private.D.Text(16)[:32],
	}
	for i, tok := range tokens {
		secrets[fmt.Sprintf("token %d", i)] = tok[strings.LastIndexByte(tok, '.')+1:]
	}
	for name, secret := range secrets {
		if strings.Contains(text, secret) {
			t.Errorf("the log holds the %s", name)
		}
	}
	if !strings.Contains(text, `"account":"`+account+`"`) || !strings.Contains(text, `"status":401`) {
		t.Errorf("log lines lack the account or the status:\n%s", text[:min(len(text), 500)])
	}
}

func TestInternalErrorSaysNothing(t *testing.T) {
	var logs lockedBuffer
	keys(t)
	exploding, err := token.NewSigner(serverKey, token.WithClock(func() time.Time { panic("clock exploded: secret detail") }))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := start(t, server.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Signer: exploding})
	r := post(t, base, `{}`)
	if r.Status != 500 || len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != 1000 || strings.Contains(r.Raw, "exploded") {
		t.Fatalf("got %d %s, want a 500 envelope that says nothing internal", r.Status, r.Raw)
	}
	if !strings.Contains(logs.String(), "clock exploded") {
		t.Error("the detail of the fault is not in the log")
	}
}

func TestOperationalEndpoints(t *testing.T) {
	base, _ := start(t, server.Config{})
	post(t, base, `{}`)
	post(t, base, `{"bad":true}`)
	tests := []struct {
		path, wantType string
		want           []string
	}{
		{path: "/healthz", wantType: "application/json", want: []string{`"status":"ok"`}},
		{path: "/metrics", wantType: "text/plain", want: []string{
			`streamtoken_tokens_signed_total{key="account"} 1`,
			`streamtoken_http_requests_total{code="200",route="POST /client/v4/accounts/{account_id}/stream/{identifier}/token"} 1`,
			`streamtoken_http_requests_total{code="400",route="POST /client/v4/accounts/{account_id}/stream/{identifier}/token"} 1`,
			`streamtoken_http_request_duration_seconds_bucket`,
			`streamtoken_build_info{crypto="`, `goversion="go`, `version="`,
		}},
		{path: jwksPath(account), wantType: "application/jwk-set+json", want: []string{`"kid":"` + serverKID + `"`, `"kty":"RSA"`}},
		{path: "/openapi.json", wantType: "application/json", want: []string{`"operationId":"createStreamToken"`}},
		// The file as written: its comments, its order, its line breaks.
		{path: "/openapi.yaml", wantType: "application/yaml", want: []string{string(openapi.YAML())}},
	}
	for _, tt := range tests {
		r := do(t, http.MethodGet, base+tt.path, nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), tt.wantType) {
			t.Errorf("GET %s = %d %s, want 200 %s", tt.path, r.Status, r.Header.Get("Content-Type"), tt.wantType)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.Raw, w) {
				t.Errorf("GET %s lacks %q", tt.path, w)
			}
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	keys(t)
	if _, err := server.New(server.Config{}); err == nil {
		t.Error("New(no credentials) error = nil")
	}
	if _, err := server.New(server.Config{Credentials: []server.Credential{{Email: "a@b"}}}); err == nil {
		t.Error("New(email without key) error = nil")
	}
	if _, err := server.New(server.Config{Credentials: credentials(), AccountSigners: map[string]*token.Signer{account: nil}}); err == nil {
		t.Error("New(nil account signer) error = nil")
	}
	if _, err := server.New(server.Config{Credentials: credentials(), AccountSigners: signersOf(map[string]*token.Key{"..": userKey})}); err == nil {
		t.Error(`New(a signer for account "..") error = nil`)
	}
}

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{name: "yaml", in: "credentials:\n  - token: abc\n  - email: a@example.com\n    key: k\n    accounts: [" + account + "]\n", want: 2},
		{name: "json", in: `{"credentials":[{"token":"abc","accounts":["` + account + `"]}]}`, want: 1},
		{name: "unknown field", in: "credentials:\n  - tokn: abc\n", wantErr: `unknown field "tokn" at line 2 (did you mean "token"?)`},
		{name: "a secret in a field's place", in: "credentials:\n  - SECRET-TOKEN-123:\n", wantErr: "an unknown field at line 2"},
		{name: "a secret as a field", in: "credentials:\n  - token: a\n    Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY: 1\n", wantErr: "an unknown field at line 3"},
		{name: "wrong type", in: "credentials:\n  - token: a\n    accounts: 5\n", wantErr: "a wrong type at line 3"},
		{name: "empty", in: "credentials: []\n", wantErr: "no credentials"},
		{name: "token and key", in: "credentials:\n  - token: abc\n    email: a@b\n    key: k\n", wantErr: "credentials[0]: set token, or email and key, not both"},
		{name: "bad account", in: "credentials:\n  - token: abc\n    accounts: [\"a/b\"]\n", wantErr: "credentials[0]: account"},
		{name: "not yaml", in: "credentials: [\n  supersecretvalue", wantErr: "not YAML or JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds, err := server.ParseCredentials([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCredentials() error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "supersecretvalue") || strings.Contains(err.Error(), "abc") {
					t.Errorf("ParseCredentials() error %q repeats the file", err)
				}
				return
			}
			if err != nil || len(creds) != tt.want {
				t.Fatalf("ParseCredentials() = %d, %v; want %d", len(creds), err, tt.want)
			}
		})
	}
}

func TestLoadKeysDir(t *testing.T) {
	keys(t)
	dir := t.TempDir()
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(userKey.Private)})
	if err := os.WriteFile(filepath.Join(dir, otherAcct+".pem"), pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte("ignored"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := store.LoadKeysDir(dir)
	if err != nil {
		t.Fatalf("LoadKeysDir() error = %v", err)
	}
	if len(got) != 1 || got[otherAcct] == nil || got[otherAcct].ID != token.KeyID(userKey.Public) {
		t.Errorf("LoadKeysDir() = %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.pem"), []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.LoadKeysDir(dir); err == nil || !strings.Contains(err.Error(), "bad.pem") {
		t.Errorf("LoadKeysDir(with a bad key) error = %v, want one naming bad.pem", err)
	}
}

func TestServersShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, _ := start(t, server.Config{Registerer: reg})
	b, _ := start(t, server.Config{Registerer: reg}) // no AlreadyRegistered
	post(t, a, `{}`)
	post(t, b, `{}`)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var signed float64
	for _, f := range families {
		if f.GetName() == "streamtoken_tokens_signed_total" {
			for _, m := range f.GetMetric() {
				signed += m.GetCounter().GetValue()
			}
		}
	}
	if signed != 2 {
		t.Errorf("tokens signed in the shared registry = %v, want 2 (both servers)", signed)
	}
	// A Registerer that is no Gatherer needs a Gatherer for /metrics.
	other := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"replica": "a"}, other)
	if _, err := server.New(server.Config{Credentials: credentials(), Signer: signerOf(serverKey), Registerer: wrapped}); err == nil || !strings.Contains(err.Error(), "set Gatherer") {
		t.Errorf("New(Registerer without Gatherer) = %v, want a refusal", err)
	}
	base, _ := start(t, server.Config{Registerer: wrapped, Gatherer: other})
	post(t, base, `{}`)
	if r := do(t, http.MethodGet, base+"/metrics", nil); !strings.Contains(r.Raw, `replica="a"`) {
		t.Errorf("/metrics lacks the wrapped registerer's label")
	}
}

// A body that passed the checks passes again without them, and one that
// failed fails again: the checks remember only what passed, of one
// operation; the content type and path parameters are checked every time.
func TestCheckedBodiesAreRemembered(t *testing.T) {
	base, _ := start(t, server.Config{Media: &standin.Service{}})
	good := `{"downloadable":true}`
	bad := `{"downloadable":"yes"}`
	for range 2 {
		if r := post(t, base, good); r.Status != 200 {
			t.Errorf("a good body: %d %s", r.Status, r.Raw)
		}
		if r := post(t, base, bad); r.Status != 400 || len(r.pointers()) != 1 || r.pointers()[0] != "/downloadable" {
			t.Errorf("a bad body: %d %s, want a 400 naming /downloadable", r.Status, r.Raw)
		}
	}
	if r := do(t, http.MethodPost, base+tokenPath, strings.NewReader(good), append(bearer(apiToken), "Content-Type", "text/plain")...); r.Status != 415 {
		t.Errorf("a remembered body as text/plain: %d, want 415", r.Status)
	}
	badPath := "/client/v4/accounts/" + account + "/stream/" + strings.Repeat("v", 33) + "/token"
	if r := do(t, http.MethodPost, base+badPath, strings.NewReader(good), append(bearer(apiToken), "Content-Type", "application/json")...); r.Status != 400 {
		t.Errorf("a remembered body on a bad path: %d, want 400", r.Status)
	}
	// The same body on another operation is checked by that one's schema.
	r := do(t, http.MethodPost, base+"/client/v4/accounts/"+account+"/stream/"+video, strings.NewReader(good), append(bearer(apiToken), "Content-Type", "application/json")...)
	if r.Status != 400 {
		t.Errorf("the token's body as a video edit: %d %s, want 400 (unknown field)", r.Status, r.Raw)
	}
}
