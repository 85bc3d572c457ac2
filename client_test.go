package streamtoken_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

const (
	testAccount  = "023e105f4ecef8ad9ca31a8372d0c353"
	testVideo    = "ea95132c15732412d22c1476fa83f27a"
	testAPIToken = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"
	tokenRoute   = "POST /client/v4/accounts/{account_id}/stream/{identifier}/token"
	okBody       = `{"success":true,"errors":[],"messages":[],"result":{"token":"eyJ.test.token"}}`
)

// hit is one request a test server received.
type hit struct {
	header          http.Header
	body            []byte
	account, video  string
	contentType     string
	contentLength   int64
	requestedAtNano int64
}

// apiServer is a loopback server mounted under /client/v4 that records each
// request and answers with the next of its canned responses (the last one
// repeats).
type apiServer struct {
	*httptest.Server
	mu        sync.Mutex
	hits      []hit
	responses []func(w http.ResponseWriter, r *http.Request)
}

func newAPIServer(t *testing.T, responses ...func(w http.ResponseWriter, r *http.Request)) *apiServer {
	t.Helper()
	s := &apiServer{responses: responses}
	mux := http.NewServeMux()
	mux.HandleFunc(tokenRoute, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body)) // for responders that read it too
		s.mu.Lock()
		n := len(s.hits)
		s.hits = append(s.hits, hit{
			header: r.Header.Clone(), body: body,
			account: r.PathValue("account_id"), video: r.PathValue("identifier"),
			contentType: r.Header.Get("Content-Type"), contentLength: r.ContentLength,
			requestedAtNano: time.Now().UnixNano(),
		})
		respond := s.responses[min(n, len(s.responses)-1)]
		s.mu.Unlock()
		respond(w, r)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) BaseURL() string { return s.URL + "/client/v4" }

func (s *apiServer) Hits() []hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hit(nil), s.hits...)
}

// reply answers with a status, a body and headers given as key, value pairs.
func reply(status int, body string, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hangUp closes the connection without a response.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func newClient(t *testing.T, s *apiServer, opts ...streamtoken.Option) *streamtoken.Client {
	t.Helper()
	base := []streamtoken.Option{
		streamtoken.WithAPIToken(testAPIToken),
		streamtoken.WithBaseURL(s.BaseURL()),
		streamtoken.WithBackoff(time.Millisecond, 20*time.Millisecond),
	}
	c, err := streamtoken.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient() error = %v", err)
	}
	return c
}

var (
	keyOnce sync.Once
	keyPEM  string // base64 of a PEM RSA-2048 private key, as the API's pem field
)

func testPEM(t *testing.T) string {
	t.Helper()
	keyOnce.Do(func() {
		block, err := os.ReadFile("token/testdata/rsa2048.pem")
		if err != nil {
			panic(err)
		}
		keyPEM = base64.StdEncoding.EncodeToString(block)
	})
	return keyPEM
}

func TestNewClientOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []streamtoken.Option
		wantErr string
	}{
		{name: "no credentials", opts: nil, wantErr: "no credentials"},
		{name: "empty token", opts: []streamtoken.Option{streamtoken.WithAPIToken(" ")}, wantErr: "empty token"},
		{name: "email without key", opts: []streamtoken.Option{streamtoken.WithAPIKey("a@example.com", "")}, wantErr: "both required"},
		{name: "two credentials", opts: []streamtoken.Option{streamtoken.WithAPIToken("t"), streamtoken.WithAPIKey("a@example.com", "k")}, wantErr: "more than once"},
		{name: "relative base URL", opts: []streamtoken.Option{streamtoken.WithAPIToken("t"), streamtoken.WithBaseURL("/client/v4")}, wantErr: "absolute http or https"},
		{name: "ftp base URL", opts: []streamtoken.Option{streamtoken.WithAPIToken("t"), streamtoken.WithBaseURL("ftp://example.com")}, wantErr: "absolute http or https"},
		{name: "nil http client", opts: []streamtoken.Option{streamtoken.WithAPIToken("t"), streamtoken.WithHTTPClient(nil)}, wantErr: "nil client"},
		{name: "negative retries", opts: []streamtoken.Option{streamtoken.WithAPIToken("t"), streamtoken.WithMaxRetries(-1)}, wantErr: "negative"},
		{name: "backoff max below base", opts: []streamtoken.Option{streamtoken.WithAPIToken("t"), streamtoken.WithBackoff(time.Second, time.Millisecond)}, wantErr: "base <= max"},
		{name: "header injection", opts: []streamtoken.Option{streamtoken.WithAPIToken("t\r\nX-Evil: 1")}, wantErr: "line break"},
		{name: "good", opts: []streamtoken.Option{streamtoken.WithAPIToken("t"), streamtoken.WithBaseURL("http://127.0.0.1:1/client/v4/"), streamtoken.WithMaxRetries(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := streamtoken.NewClient(tt.opts...)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("NewClient() = %v, %v; want a client", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewClient() error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// WithCredentialsFrom's refusals name the variable and the problem, and
// hold none of the value.
func TestCredentialsFrom(t *testing.T) {
	const email = "a@example.com"
	for _, tt := range []struct {
		env  map[string]string
		want string // "" for a client
	}{
		{nil, "streamtoken: no credentials: set CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY"},
		{map[string]string{streamtoken.EnvAPIToken: "s3cret\nX-Evil: 1"}, "streamtoken: CLOUDFLARE_API_TOKEN: token contains a line break"},
		{map[string]string{streamtoken.EnvAPIToken: " "}, "streamtoken: CLOUDFLARE_API_TOKEN: empty token"},
		{map[string]string{streamtoken.EnvAPIKey: "s3cret"}, "streamtoken: CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY must be set together"},
		{map[string]string{streamtoken.EnvEmail: email, streamtoken.EnvAPIKey: "s3cret\r"}, "streamtoken: CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY: email or key contains a line break"},
		{map[string]string{streamtoken.EnvEmail: email, streamtoken.EnvAPIKey: " "}, "streamtoken: CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY: email and key are both required"},
		{map[string]string{streamtoken.EnvAPIToken: "s3cret", streamtoken.EnvEmail: email}, ""},
		{map[string]string{streamtoken.EnvEmail: email, streamtoken.EnvAPIKey: "s3cret"}, ""},
	} {
		_, err := streamtoken.NewClient(streamtoken.WithCredentialsFrom(func(name string) string { return tt.env[name] }))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("NewClient(WithCredentialsFrom(%q set)) = %v, want a client", slices.Sorted(maps.Keys(tt.env)), err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("NewClient(WithCredentialsFrom(%q set)) = %v, want %q", slices.Sorted(maps.Keys(tt.env)), err, tt.want)
		}
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	tests := []struct {
		name              string
		token, email, key string
		wantHeader        string
		wantValue         string
		wantErr           string
	}{
		{name: "token", token: testAPIToken, wantHeader: "Authorization", wantValue: "Bearer " + testAPIToken},
		{name: "email and key", email: "user@example.com", key: "k3y", wantHeader: "X-Auth-Key", wantValue: "k3y"},
		{name: "token wins", token: testAPIToken, email: "user@example.com", key: "k3y", wantHeader: "Authorization", wantValue: "Bearer " + testAPIToken},
		{name: "email alone", email: "user@example.com", wantErr: "must be set together"},
		{name: "nothing", wantErr: "CLOUDFLARE_API_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(streamtoken.EnvAPIToken, tt.token)
			t.Setenv(streamtoken.EnvEmail, tt.email)
			t.Setenv(streamtoken.EnvAPIKey, tt.key)
			s := newAPIServer(t, reply(200, okBody))
			c, err := streamtoken.NewClient(streamtoken.WithCredentialsFromEnv(), streamtoken.WithBaseURL(s.BaseURL()))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewClient(WithCredentialsFromEnv()) error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{}); err != nil {
				t.Fatal(err)
			}
			if got := s.Hits()[0].header.Get(tt.wantHeader); got != tt.wantValue {
				t.Errorf("header %s = %q, want %q", tt.wantHeader, got, tt.wantValue)
			}
		})
	}
}

func TestAuthOnTheWire(t *testing.T) {
	tests := []struct {
		name string
		opt  streamtoken.Option
		want map[string]string
		none []string
	}{
		{
			name: "bearer token",
			opt:  streamtoken.WithAPIToken(testAPIToken),
			want: map[string]string{"Authorization": "Bearer " + testAPIToken},
			none: []string{"X-Auth-Email", "X-Auth-Key"},
		},
		{
			name: "email and key",
			opt:  streamtoken.WithAPIKey("user@example.com", "144c9defac04969c7bfad8efaa8ea194"),
			want: map[string]string{"X-Auth-Email": "user@example.com", "X-Auth-Key": "144c9defac04969c7bfad8efaa8ea194"},
			none: []string{"Authorization"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAPIServer(t, reply(200, okBody))
			c, err := streamtoken.NewClient(tt.opt, streamtoken.WithBaseURL(s.BaseURL()+"/"), streamtoken.WithUserAgent("test-agent/1"))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
			if err != nil {
				t.Fatalf("CreateToken() error = %v", err)
			}
			if tok.Value != "eyJ.test.token" || tok.AccountID != testAccount || tok.VideoID != testVideo {
				t.Errorf("CreateToken() = %+v", *tok)
			}
			h := s.Hits()[0]
			for k, v := range tt.want {
				if got := h.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.none {
				if got := h.header.Get(k); got != "" {
					t.Errorf("header %s = %q, want none", k, got)
				}
			}
			if got := h.header.Get("User-Agent"); got != "test-agent/1" {
				t.Errorf("User-Agent = %q, want test-agent/1", got)
			}
			if h.account != testAccount || h.video != testVideo {
				t.Errorf("path = %s/%s, want %s/%s", h.account, h.video, testAccount, testVideo)
			}
		})
	}
}

func TestRequestBodyOnTheWire(t *testing.T) {
	now := time.Now()
	exp, nbf := now.Add(2*time.Hour).Truncate(time.Second), now.Add(-time.Minute).Truncate(time.Second)
	pemField := testPEM(t)
	tests := []struct {
		name string
		req  streamtoken.TokenRequest
		want string
	}{
		{name: "empty", req: streamtoken.TokenRequest{}, want: `{}`},
		{name: "downloadable only", req: streamtoken.TokenRequest{Downloadable: true}, want: `{"downloadable":true}`},
		{
			name: "every field",
			req: streamtoken.TokenRequest{
				KeyID: "ab0d4ef71g4425f8dcba9041231813000", PEM: pemField,
				ExpiresAt: exp, NotBefore: nbf, Downloadable: true, Original: true,
				AccessRules: []token.Rule{
					{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX"}},
					{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24", "2400:cb00::/32"}},
					{Type: token.RuleAny, Action: token.ActionBlock},
				},
			},
			want: fmt.Sprintf(`{"id":"ab0d4ef71g4425f8dcba9041231813000","pem":%q,"exp":%d,"nbf":%d,"downloadable":true,"flags":{"original":true},
				"accessRules":[{"type":"ip.geoip.country","action":"block","country":["US","MX"]},
				{"type":"ip.src","action":"allow","ip":["93.184.216.0/24","2400:cb00::/32"]},{"type":"any","action":"block"}]}`,
				pemField, exp.Unix(), nbf.Unix()),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAPIServer(t, reply(200, okBody))
			c := newClient(t, s)
			if _, err := c.CreateToken(context.Background(), testAccount, testVideo, tt.req); err != nil {
				t.Fatalf("CreateToken() error = %v", err)
			}
			h := s.Hits()[0]
			if h.contentType != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", h.contentType)
			}
			var got, want any
			if err := json.Unmarshal(h.body, &got); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				// The pem is a private key: keep it out of the output.
				redact := strings.NewReplacer(pemField, "[pem]").Replace
				t.Errorf("body = %s\nwant %s", redact(string(h.body)), redact(tt.want))
			}
		})
	}
}

func TestValidationStopsBeforeTheNetwork(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	rule := func(typ token.RuleType, action token.Action, country, ip []string) token.Rule {
		return token.Rule{Type: typ, Action: action, Country: country, IP: ip}
	}
	any := rule(token.RuleAny, token.ActionAllow, nil, nil)
	tests := []struct {
		name         string
		account      string
		video        string
		req          streamtoken.TokenRequest
		wantPointers []string // JSON pointers, or "=param" for a path parameter
	}{
		{name: "empty account", account: "", video: testVideo, wantPointers: []string{"=account_id"}},
		{name: "long account", account: strings.Repeat("a", 33), video: testVideo, wantPointers: []string{"=account_id"}},
		{name: "slash in video", account: testAccount, video: "a/b", wantPointers: []string{"=identifier"}},
		{name: "dot-dot account and video", account: "..", video: "..", wantPointers: []string{"=account_id", "=identifier"}},
		{name: "dot account", account: ".", video: testVideo, wantPointers: []string{"=account_id"}},
		{name: "CRLF in video", account: testAccount, video: "a\r\nb", wantPointers: []string{"=identifier"}},
		{name: "NUL in account", account: "a\x00", video: testVideo, wantPointers: []string{"=account_id"}},
		{name: "non-ASCII video", account: testAccount, video: "vidéo", wantPointers: []string{"=identifier"}},
		{name: "10,000-character key ID", req: streamtoken.TokenRequest{KeyID: strings.Repeat("k", 10000), PEM: testPEM(t)}, wantPointers: []string{"/id"}},
		{name: "nbf before 1970", req: streamtoken.TokenRequest{NotBefore: time.Unix(-1000000000000001, 0)}, wantPointers: []string{"/nbf"}},
		{name: "id without pem", req: streamtoken.TokenRequest{KeyID: "k"}, wantPointers: []string{"/pem"}},
		{name: "pem without id", req: streamtoken.TokenRequest{PEM: testPEM(t)}, wantPointers: []string{"/id"}},
		{name: "pem not base64", req: streamtoken.TokenRequest{KeyID: "k", PEM: "-----BEGIN RSA PRIVATE KEY-----"}, wantPointers: []string{"/pem"}},
		{name: "pem not a key", req: streamtoken.TokenRequest{KeyID: "k", PEM: base64.StdEncoding.EncodeToString([]byte("hello"))}, wantPointers: []string{"/pem"}},
		{name: "exp in the past", req: streamtoken.TokenRequest{ExpiresAt: now.Add(-time.Second)}, wantPointers: []string{"/exp"}},
		{name: "exp 48h", req: streamtoken.TokenRequest{ExpiresAt: now.Add(48 * time.Hour)}, wantPointers: []string{"/exp"}},
		{name: "nbf after exp", req: streamtoken.TokenRequest{ExpiresAt: now.Add(time.Hour), NotBefore: now.Add(2 * time.Hour)}, wantPointers: []string{"/nbf"}},
		{name: "six rules", req: streamtoken.TokenRequest{AccessRules: []token.Rule{any, any, any, any, any, any}}, wantPointers: []string{"/accessRules"}},
		{name: "bad action", req: streamtoken.TokenRequest{AccessRules: []token.Rule{rule(token.RuleAny, "deny", nil, nil)}}, wantPointers: []string{"/accessRules/0/action"}},
		{name: "bad type", req: streamtoken.TokenRequest{AccessRules: []token.Rule{rule("ip.dst", token.ActionBlock, nil, nil)}}, wantPointers: []string{"/accessRules/0/type"}},
		{name: "ip.src without ip", req: streamtoken.TokenRequest{AccessRules: []token.Rule{rule(token.RuleIPSrc, token.ActionBlock, nil, nil)}}, wantPointers: []string{"/accessRules/0/ip"}},
		{name: "ip.src with country", req: streamtoken.TokenRequest{AccessRules: []token.Rule{rule(token.RuleIPSrc, token.ActionBlock, []string{"US"}, []string{"10.0.0.0/8"})}}, wantPointers: []string{"/accessRules/0/country"}},
		{name: "country rule with ip", req: streamtoken.TokenRequest{AccessRules: []token.Rule{rule(token.RuleCountry, token.ActionBlock, []string{"US"}, []string{"10.0.0.0/8"})}}, wantPointers: []string{"/accessRules/0/ip"}},
		{name: "any with country", req: streamtoken.TokenRequest{AccessRules: []token.Rule{rule(token.RuleAny, token.ActionBlock, []string{"US"}, nil)}}, wantPointers: []string{"/accessRules/0/country"}},
		{name: "bad CIDR", req: streamtoken.TokenRequest{AccessRules: []token.Rule{rule(token.RuleIPSrc, token.ActionAllow, nil, []string{"10.0.0.0/8", "10.0.0.0/33"})}}, wantPointers: []string{"/accessRules/0/ip/1"}},
		{name: "3-letter country", req: streamtoken.TokenRequest{AccessRules: []token.Rule{rule(token.RuleCountry, token.ActionBlock, []string{"USA"}, nil)}}, wantPointers: []string{"/accessRules/0/country/0"}},
		{name: "unassigned country", req: streamtoken.TokenRequest{AccessRules: []token.Rule{rule(token.RuleCountry, token.ActionBlock, []string{"MX", "ZZ"}, nil)}}, wantPointers: []string{"/accessRules/0/country/1"}},
		{
			name: "every violation at once",
			req: streamtoken.TokenRequest{KeyID: "k", ExpiresAt: now.Add(48 * time.Hour), AccessRules: []token.Rule{
				rule(token.RuleIPSrc, token.ActionAllow, nil, []string{"nope"}),
			}},
			wantPointers: []string{"/pem", "/exp", "/accessRules/0/ip/0"},
		},
	}
	s := newAPIServer(t, reply(200, okBody))
	c := newClient(t, s, streamtoken.WithClock(func() time.Time { return now }))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			account, video := tt.account, tt.video
			if account == "" && video == "" {
				account, video = testAccount, testVideo
			}
			_, err := c.CreateToken(context.Background(), account, video, tt.req)
			if !errors.Is(err, streamtoken.ErrInvalid) {
				t.Fatalf("CreateToken() error = %v, want ErrInvalid", err)
			}
			var verr *token.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("CreateToken() error = %T, want *token.ValidationError", err)
			}
			var got []string
			for _, v := range verr.Violations {
				if v.Pointer == "" {
					got = append(got, "="+v.Field)
				} else {
					got = append(got, v.Pointer)
				}
			}
			if !reflect.DeepEqual(got, tt.wantPointers) {
				t.Errorf("violations at %q, want %q (%v)", got, tt.wantPointers, err)
			}
			if tt.req.PEM != "" && strings.Contains(err.Error(), tt.req.PEM) {
				t.Error("the error repeats the pem")
			}
		})
	}
	if n := len(s.Hits()); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}
}

func TestRetries(t *testing.T) {
	failure := `{"success":false,"errors":[{"code":10013,"message":"try again"}],"messages":[],"result":null}`
	tests := []struct {
		name       string
		maxRetries int
		responses  []func(http.ResponseWriter, *http.Request)
		wantHits   int
		wantStatus int // 0: success
	}{
		{name: "429 then 200", maxRetries: 3, responses: []func(http.ResponseWriter, *http.Request){reply(429, failure), reply(200, okBody)}, wantHits: 2},
		{name: "408 then 200", maxRetries: 3, responses: []func(http.ResponseWriter, *http.Request){reply(408, failure), reply(200, okBody)}, wantHits: 2},
		{name: "hang-up then 200", maxRetries: 3, responses: []func(http.ResponseWriter, *http.Request){hangUp, reply(200, okBody)}, wantHits: 2},
		{name: "503 until the budget is spent", maxRetries: 2, responses: []func(http.ResponseWriter, *http.Request){reply(503, failure)}, wantHits: 3, wantStatus: 503},
		{name: "no retries", maxRetries: 0, responses: []func(http.ResponseWriter, *http.Request){reply(500, failure)}, wantHits: 1, wantStatus: 500},
		{name: "no retry on 400", maxRetries: 3, responses: []func(http.ResponseWriter, *http.Request){reply(400, failure), reply(200, okBody)}, wantHits: 1, wantStatus: 400},
		{name: "no retry on 401", maxRetries: 3, responses: []func(http.ResponseWriter, *http.Request){reply(401, failure), reply(200, okBody)}, wantHits: 1, wantStatus: 401},
		{name: "no retry on 501", maxRetries: 3, responses: []func(http.ResponseWriter, *http.Request){reply(501, failure), reply(200, okBody)}, wantHits: 1, wantStatus: 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAPIServer(t, tt.responses...)
			c := newClient(t, s, streamtoken.WithMaxRetries(tt.maxRetries))
			req := streamtoken.TokenRequest{Downloadable: true, AccessRules: []token.Rule{{Type: token.RuleAny, Action: token.ActionAllow}}}
			tok, err := c.CreateToken(context.Background(), testAccount, testVideo, req)
			hits := s.Hits()
			if len(hits) != tt.wantHits {
				t.Errorf("server received %d requests, want %d", len(hits), tt.wantHits)
			}
			for i, h := range hits[1:] {
				if !bytes.Equal(h.body, hits[0].body) || h.contentLength != int64(len(hits[0].body)) {
					t.Errorf("try %d sent body %q (length %d), want the first try's %q", i+2, h.body, h.contentLength, hits[0].body)
				}
			}
			if tt.wantStatus == 0 {
				if err != nil || tok.Value == "" {
					t.Fatalf("CreateToken() = %v, %v; want a token", tok, err)
				}
				return
			}
			var apiErr *streamtoken.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus {
				t.Fatalf("CreateToken() error = %v, want an *APIError with status %d", err, tt.wantStatus)
			}
		})
	}
}

// recordSleeps returns an option that records the client's waits between
// retries instead of spending them, and the record.
func recordSleeps() (streamtoken.Option, func() []time.Duration) {
	var mu sync.Mutex
	var waits []time.Duration
	opt := streamtoken.WithSleep(func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return ctx.Err()
	})
	return opt, func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), waits...)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		want       time.Duration
	}{
		{429, "1", time.Second},
		{429, "4", 4 * time.Second},
		{503, "4", 4 * time.Second},
		// Past the backoff's max: clamped, never an overflow into a
		// negative wait and an instant retry.
		{503, "9300000000", 5 * time.Second},
		{503, "99999999999999999999999", 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, " ", tt.retryAfter), func(t *testing.T) {
			s := newAPIServer(t,
				reply(tt.status, `{"success":false,"errors":[{"code":10429,"message":"slow down"}],"messages":[],"result":null}`, "Retry-After", tt.retryAfter),
				reply(200, okBody))
			sleeps, waits := recordSleeps()
			// The backoff alone would wait about a millisecond.
			c := newClient(t, s, streamtoken.WithBackoff(time.Millisecond, 5*time.Second), sleeps)
			if _, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{}); err != nil {
				t.Fatalf("CreateToken() error = %v", err)
			}
			if n := len(s.Hits()); n != 2 {
				t.Fatalf("server received %d requests, want 2", n)
			}
			if got := waits(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("waits with Retry-After %s = %v, want [%v]", tt.retryAfter, got, tt.want)
			}
		})
	}
}

// A 429 that asks for longer than the client's longest wait is returned
// at once, sent once, saying when the limit lifts: retrying it would
// spend the budget of a limit that has not lifted.
func TestLongRateLimitIsNotRetried(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	for _, retryAfter := range []string{"300", "6", "99999999999999999999999", now.Add(5 * time.Minute).Format(http.TimeFormat)} {
		t.Run(retryAfter, func(t *testing.T) {
			s := newAPIServer(t, reply(429, `{"success":false,"errors":[{"code":10429,"message":"slow down"}],"messages":[],"result":null}`, "Retry-After", retryAfter))
			sleeps, waits := recordSleeps()
			c := newClient(t, s, sleeps, streamtoken.WithClock(func() time.Time { return now }))
			_, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
			var apiErr *streamtoken.APIError
			if !errors.Is(err, streamtoken.ErrRateLimited) || !errors.As(err, &apiErr) || apiErr.RateLimit == nil {
				t.Fatalf("CreateToken() error = %v, want an *APIError matching ErrRateLimited, with its RateLimit", err)
			}
			if n, w := len(s.Hits()), waits(); n != 1 || len(w) != 0 {
				t.Errorf("requests sent %d, waits %v; want 1 and none", n, w)
			}
			lifts := apiErr.RateLimit.Reset
			if lifts.Before(now.Add(6*time.Second)) || lifts.After(now.Add(24*time.Hour)) {
				t.Errorf("RateLimit.Reset = %v, want between 6 s and a day after %v", lifts, now)
			}
			if !strings.Contains(err.Error(), "the limit lifts at "+lifts.Format(time.RFC3339)) {
				t.Errorf("error %q does not say when the limit lifts", err)
			}
		})
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	s := newAPIServer(t, reply(503, `{"success":false,"errors":[{"code":1000,"message":"down"}],"messages":[],"result":null}`, "Retry-After", "30"))
	c := newClient(t, s, streamtoken.WithBackoff(time.Millisecond, time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		_, err := c.CreateToken(ctx, testAccount, testVideo, streamtoken.TokenRequest{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("CreateToken() error = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CreateToken() still waiting 10 s after its context was cancelled (Retry-After was 30 s)")
	}
	if n := len(s.Hits()); n != 1 {
		t.Errorf("server received %d requests, want 1", n)
	}
}

func TestAPIErrors(t *testing.T) {
	validation := `{"success":false,"errors":[
		{"code":1004,"message":"accessRules[0].ip[1]: \"10.0.0.0/33\" is not an IP address or CIDR","documentation_url":"https://example.com/errors#1004","source":{"pointer":"/accessRules/0/ip/1"}},
		{"code":1004,"message":"exp: must be after now","source":{"pointer":"/exp"}}],
		"messages":[{"code":1100,"message":"see the docs"}],"result":null}`
	tests := []struct {
		name       string
		respond    func(http.ResponseWriter, *http.Request)
		wantStatus int
		wantIs     error
		wantErrors []streamtoken.ResponseInfo
		wantRay    string
		wantInText []string
		notInText  []string
	}{
		{
			name:       "validation failure",
			respond:    reply(400, validation, "Cf-Ray", "8e0c1f2a3b4c5d6e-LHR"),
			wantStatus: 400, wantIs: streamtoken.ErrInvalid, wantRay: "8e0c1f2a3b4c5d6e-LHR",
			wantErrors: []streamtoken.ResponseInfo{
				{Code: 1004, Message: `accessRules[0].ip[1]: "10.0.0.0/33" is not an IP address or CIDR`, DocumentationURL: "https://example.com/errors#1004", Pointer: "/accessRules/0/ip/1"},
				{Code: 1004, Message: "exp: must be after now", Pointer: "/exp"},
			},
			wantInText: []string{"400 Bad Request", "1004", "/exp", "cf-ray 8e0c1f2a3b4c5d6e-LHR"},
		},
		{
			name:       "authentication",
			respond:    reply(401, `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}`),
			wantStatus: 401, wantIs: streamtoken.ErrAuthentication,
			wantErrors: []streamtoken.ResponseInfo{{Code: 10000, Message: "Authentication error"}},
		},
		{
			name:       "not found",
			respond:    reply(404, `{"success":false,"errors":[{"code":10003,"message":"not found"}],"messages":[],"result":null}`),
			wantStatus: 404, wantIs: streamtoken.ErrNotFound,
			wantErrors: []streamtoken.ResponseInfo{{Code: 10003, Message: "not found"}},
		},
		{
			name:       "success false on a 200",
			respond:    reply(200, `{"success":false,"errors":[{"code":10005,"message":"video not ready"}],"messages":[],"result":null}`),
			wantStatus: 200,
			wantErrors: []streamtoken.ResponseInfo{{Code: 10005, Message: "video not ready"}},
		},
		{
			name:       "200 without a token",
			respond:    reply(200, `{"success":true,"errors":[],"messages":[],"result":{}}`),
			wantStatus: 200,
			wantInText: []string{"without success: true and a result"},
		},
		{
			name:       "HTML 502 from a proxy",
			respond:    reply(502, "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>"+strings.Repeat("x", 5000)+"</body></html>", "Content-Type", "text/html"),
			wantStatus: 502,
			wantInText: []string{"502 Bad Gateway", "<title>502 Bad Gateway</title>"},
			notInText:  []string{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
		},
		{
			name: "server echoing the credentials",
			respond: func(w http.ResponseWriter, r *http.Request) {
				reply(400, `{"success":false,"errors":[{"code":1000,"message":"bad header `+r.Header.Get("Authorization")+`"}],"messages":[],"result":null}`)(w, r)
			},
			wantStatus: 400, wantIs: streamtoken.ErrInvalid,
			wantErrors: []streamtoken.ResponseInfo{{Code: 1000, Message: "bad header Bearer [redacted]"}},
			notInText:  []string{testAPIToken},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAPIServer(t, tt.respond)
			c := newClient(t, s, streamtoken.WithMaxRetries(0))
			_, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
			var apiErr *streamtoken.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("CreateToken() error = %v (%T), want *APIError", err, err)
			}
			if apiErr.StatusCode != tt.wantStatus {
				t.Errorf("StatusCode = %d, want %d", apiErr.StatusCode, tt.wantStatus)
			}
			if tt.wantErrors != nil && !reflect.DeepEqual(apiErr.Errors, tt.wantErrors) {
				t.Errorf("Errors = %+v\nwant %+v", apiErr.Errors, tt.wantErrors)
			}
			if apiErr.RayID != tt.wantRay {
				t.Errorf("RayID = %q, want %q", apiErr.RayID, tt.wantRay)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false, want true", err, tt.wantIs)
			}
			for _, other := range []error{streamtoken.ErrAuthentication, streamtoken.ErrNotFound, streamtoken.ErrRateLimited, streamtoken.ErrInvalid} {
				if other != tt.wantIs && errors.Is(err, other) {
					t.Errorf("errors.Is(%v, %v) = true, want false", err, other)
				}
			}
			text := err.Error()
			for _, want := range tt.wantInText {
				if !strings.Contains(text, want) {
					t.Errorf("Error() = %q, want it to contain %q", text, want)
				}
			}
			for _, not := range append(tt.notInText, testAPIToken) {
				if strings.Contains(text, not) {
					t.Errorf("Error() = %q, must not contain %q", text, not)
				}
			}
			if len(apiErr.Excerpt) > 210 {
				t.Errorf("Excerpt is %d bytes, want at most about 200", len(apiErr.Excerpt))
			}
		})
	}
}

func TestMessagesAreKept(t *testing.T) {
	s := newAPIServer(t, reply(400, `{"success":false,"errors":[{"code":1001,"message":"bad"}],"messages":[{"code":1100,"message":"see the docs","documentation_url":"https://example.com"}],"result":null}`))
	c := newClient(t, s, streamtoken.WithMaxRetries(0))
	_, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
	var apiErr *streamtoken.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want *APIError", err)
	}
	want := []streamtoken.ResponseInfo{{Code: 1100, Message: "see the docs", DocumentationURL: "https://example.com"}}
	if !reflect.DeepEqual(apiErr.Messages, want) {
		t.Errorf("Messages = %+v, want %+v", apiErr.Messages, want)
	}
}

// TestAnnouncedLengthIsNotTrusted: a server that announces a terabyte
// and sends a few bytes costs the client a failed read, not a terabyte
// buffer.
func TestAnnouncedLengthIsNotTrusted(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1099511627776\r\n\r\n{\"success\":true")
		_ = buf.Flush()
	}))
	defer ts.Close()
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("t"), streamtoken.WithBaseURL(ts.URL+"/client/v4"), streamtoken.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{}); err == nil {
		t.Fatal("CreateToken() on a cut answer: error = nil")
	}
}

func TestResponseBodyIsBounded(t *testing.T) {
	huge := strings.Repeat(" ", 2<<20) + okBody
	s := newAPIServer(t, reply(200, huge))
	c := newClient(t, s, streamtoken.WithMaxRetries(0))
	_, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
	var apiErr *streamtoken.APIError
	if !errors.As(err, &apiErr) || apiErr.Excerpt != "response body over 1 MiB" {
		t.Fatalf("CreateToken() on a 2 MiB body: error = %v, want an *APIError saying it is over 1 MiB", err)
	}
}

func TestTokenDoesNotPrintItsValue(t *testing.T) {
	tok := &streamtoken.Token{Value: "eyJhbGciOiJSUzI1NiJ9.secret.sig", AccountID: testAccount, VideoID: testVideo}
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		for _, v := range []any{tok, *tok} {
			if got := fmt.Sprintf(format, v); strings.Contains(got, "secret") {
				t.Errorf("Sprintf(%q, %T) = %q, shows the token", format, v, got)
			}
		}
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("made", "token", tok)
	if strings.Contains(logs.String(), "secret") || !strings.Contains(logs.String(), testVideo) {
		t.Errorf("slog output = %s, want the IDs and not the token", logs.String())
	}
	urls, err := tok.URLs("f33zs165nr7gyfy4")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://customer-f33zs165nr7gyfy4.cloudflarestream.com/" + tok.Value + "/manifest/video.m3u8"; urls.HLS != want {
		t.Errorf("URLs().HLS = %q, want %q", urls.HLS, want)
	}
}

func TestConcurrentCalls(t *testing.T) {
	var n atomic.Int64
	s := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		reply(200, okBody)(w, r)
	})
	c := newClient(t, s)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{Downloadable: true}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n.Load() != 16 {
		t.Errorf("server received %d requests, want 16", n.Load())
	}
}

// Every request the client sends, with every field set, must be one that
// Cloudflare's official schema accepts.
func TestRequestsFitTheOfficialSchema(t *testing.T) {
	official := readOfficial(t, officialSpec)
	item := official.Paths.Find(tokenPath)
	var mu sync.Mutex
	var problems []error
	s := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		input := &openapi3filter.RequestValidationInput{
			Request: r,
			PathParams: map[string]string{
				"account_id": r.PathValue("account_id"),
				"identifier": r.PathValue("identifier"),
			},
			Route:   &routers.Route{Spec: official, Path: tokenPath, PathItem: item, Method: http.MethodPost, Operation: item.Post},
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
		}
		if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
			mu.Lock()
			problems = append(problems, err)
			mu.Unlock()
		}
		reply(200, okBody)(w, r)
	})
	c := newClient(t, s)
	now := time.Now()
	requests := []streamtoken.TokenRequest{
		{},
		{
			KeyID: "ab0d4ef71g4425f8dcba9041231813000", PEM: testPEM(t),
			ExpiresAt: now.Add(3 * time.Hour), NotBefore: now.Add(-time.Minute), Downloadable: true, Original: true,
			AccessRules: []token.Rule{
				{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX"}},
				{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24", "2400:cb00::/32"}},
				{Type: token.RuleAny, Action: token.ActionBlock},
			},
		},
	}
	for _, req := range requests {
		if _, err := c.CreateToken(context.Background(), testAccount, testVideo, req); err != nil {
			t.Fatalf("CreateToken() error = %v", err)
		}
	}
	if n := len(s.Hits()); n != len(requests) {
		t.Fatalf("server received %d requests, want %d", n, len(requests))
	}
	for _, err := range problems {
		t.Errorf("official schema refused a request: %v", schemaViolations(err))
	}
}

// Against the real token server: every field makes it through the wire and
// into the signed claims.
func TestCreateTokenAgainstTheTokenServer(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(serverTestKey(t)))
	defer srv.Close()
	now := time.Now()
	exp := now.Add(3 * time.Hour).Truncate(time.Second)
	rules := []token.Rule{
		{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX"}},
		{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24", "2400:cb00::/32"}},
		{Type: token.RuleAny, Action: token.ActionBlock},
	}
	tok, err := srv.NewClient().CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{
		ExpiresAt: exp, Downloadable: true, Original: true, AccessRules: rules,
	})
	if err != nil {
		t.Fatalf("CreateToken() error = %v", err)
	}
	claims, err := srv.Verify(testAccount, tok.Value)
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	if !claims.ExpiresAt.Equal(exp) || !claims.Downloadable || !claims.Original || len(claims.AccessRules) != 3 ||
		claims.AccessRules[1].IP[1] != "2400:cb00::/32" || string(claims.AccessRules[0].Type) != "ip.geoip.country" {
		t.Errorf("claims = %+v", claims)
	}
}

// What the server refuses comes back as an *APIError carrying its codes and
// pointers; the generated client skips the client's own checks to get there.
func TestServerValidationErrorsReachTheCaller(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(serverTestKey(t)))
	defer srv.Close()
	exp := time.Now().Add(48 * time.Hour).Unix()
	body := gen.TokenRequest{Exp: &exp, AccessRules: []gen.AccessRule{{Type: gen.AccessRuleTypeIPSrc, Action: gen.AccessRuleActionAllow, IP: []string{"10.0.0.0/33"}}}}
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken(srv.APIToken), streamtoken.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Generated().CreateStreamToken(context.Background(), testAccount, testVideo, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env gen.FailureResponse
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || len(env.Errors) != 2 || *env.Errors[0].Source.Pointer != "/exp" || *env.Errors[1].Source.Pointer != "/accessRules/0/ip/0" {
		t.Errorf("server answered %d %+v", resp.StatusCode, env)
	}
}

// The client and the server run the same rules: for each bad request, the
// violations the client finds before sending are the ones the server
// reports when the request reaches it (sent raw through the generated
// client).
func TestClientAndServerAgree(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(serverTestKey(t)))
	defer srv.Close()
	now := time.Now()
	pemField := testPEM(t)
	bad := []streamtoken.TokenRequest{
		{ExpiresAt: now.Add(48 * time.Hour)},
		{ExpiresAt: now.Add(time.Hour), NotBefore: now.Add(2 * time.Hour)},
		{KeyID: "k"},
		{PEM: pemField},
		{KeyID: "k", PEM: base64.StdEncoding.EncodeToString([]byte("not a key"))},
		{AccessRules: []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"10.0.0.0/33", "::1/129"}}}},
		{AccessRules: []token.Rule{{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"ZZ"}, IP: []string{"10.0.0.1"}}}},
		{AccessRules: []token.Rule{{Type: token.RuleAny, Action: token.ActionBlock, Country: []string{"US"}}}},
	}
	raw, err := streamtoken.NewClient(streamtoken.WithAPIToken(srv.APIToken), streamtoken.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	for i, req := range bad {
		_, err := srv.NewClient().CreateToken(context.Background(), testAccount, testVideo, req)
		var verr *token.ValidationError
		if !errors.As(err, &verr) {
			t.Fatalf("request %d: client error = %v, want a *token.ValidationError", i, err)
		}
		var client []string
		for _, v := range verr.Violations {
			client = append(client, v.Pointer)
		}
		resp, err := raw.Generated().CreateStreamToken(context.Background(), testAccount, testVideo, requestBody(req))
		if err != nil {
			t.Fatal(err)
		}
		var env gen.FailureResponse
		_ = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		var server []string
		for _, e := range env.Errors {
			p := ""
			if e.Source != nil && e.Source.Pointer != nil {
				p = *e.Source.Pointer
			}
			server = append(server, p)
		}
		if resp.StatusCode != 400 || !reflect.DeepEqual(client, server) {
			t.Errorf("request %d: client found %q, server (HTTP %d) %q", i, client, resp.StatusCode, server)
		}
	}
}

// requestBody is the wire form of req, built here independently of the
// client's own conversion.
func requestBody(req streamtoken.TokenRequest) gen.TokenRequest {
	var b gen.TokenRequest
	if req.KeyID != "" {
		b.ID = &req.KeyID
	}
	if req.PEM != "" {
		b.PEM = &req.PEM
	}
	if !req.ExpiresAt.IsZero() {
		exp := req.ExpiresAt.Unix()
		b.Exp = &exp
	}
	if !req.NotBefore.IsZero() {
		nbf := req.NotBefore.Unix()
		b.Nbf = &nbf
	}
	for _, r := range req.AccessRules {
		b.AccessRules = append(b.AccessRules, gen.AccessRule{Type: gen.AccessRuleType(r.Type), Action: gen.AccessRuleAction(r.Action), Country: r.Country, IP: r.IP})
	}
	return b
}

// WithCallTimeout bounds a call against a server that never answers, and
// the error says which bound ran out.
func TestWithCallTimeout(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("call-timeout-token"), streamtoken.WithBaseURL(srv.URL+"/client/v4"), streamtoken.WithCallTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Video(context.Background(), testAccount, "v")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "the call's bound of 200ms ran out (WithCallTimeout)") {
		t.Errorf("Video() against a server that never answers = %v", err)
	}
	if _, err := streamtoken.NewClient(streamtoken.WithAPIToken("x"), streamtoken.WithCallTimeout(-time.Second)); err == nil {
		t.Error("WithCallTimeout(-1s) = nil error")
	}
}
