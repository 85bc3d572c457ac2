package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
)

// FuzzRequestBody sends arbitrary bodies, for arbitrary account IDs, to the
// token endpoint: the server must answer every one with a Cloudflare
// envelope and a 200 or a 4xx, never a 5xx; a 200 must carry a token that
// verifies, for a valid account ID only; a refusal is never many times the
// size of its request.
func FuzzRequestBody(f *testing.F) {
	keys(f)
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"exp":"1"}`, `{"exp":1e400}`, `{"exp":-9223372036854775809}`,
		`{"downloadable":true,"flags":{"original":true}}`,
		`{"accessRules":[{"type":"ip.src","action":"allow","ip":["10.0.0.0/8","::ffff:1.2.3.4/128"]},{"type":"any","action":"block"}]}`,
		`{"accessRules":[{"type":"ip.geoip.country","action":"block","country":["US","ZZ"]}]}`,
		`{"id":"k","pem":"LS0tLS1CRUdJTg=="}`, `{"acessRules":[]}`, `{"a":` + strings.Repeat("[", 10000),
		`{"exp":1e18}`, `{"exp":1795932306.0}`, `{"nbf":-1000000000000001}`, `{"id":"a\r\nb","pem":"x"}`,
		`{"accessRules":[{"type":"ip.src","action":"allow","ip":[` + strings.Repeat("0,", 100) + `0]}]}`,
	} {
		f.Add(seed, "application/json", account)
	}
	f.Add(`{}`, "text/plain", account)
	for _, acct := range []string{"..", ".", "a b", "a\x00", "é", "%2E%2E", strings.Repeat("a", 33)} {
		f.Add(`{}`, "application/json", acct)
	}
	srv, err := server.New(server.Config{Credentials: credentials(), Signer: signerOf(serverKey)})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	v, err := token.NewVerifier([]*token.Key{serverKey})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, contentType, acct string) {
		path := server.BasePath + "/accounts/" + url.PathEscape(acct) + "/stream/" + video + "/token"
		req, err := http.NewRequest(http.MethodPost, path, strings.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 || (rec.Code != 200 && rec.Code < 400) {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, unsigned(rec.Body.String()))
		}
		var env struct {
			Success *bool `json:"success"`
			Errors  []struct {
				Code int `json:"code"`
			} `json:"errors"`
			Result *struct {
				Token string `json:"token"`
			} `json:"result"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Success == nil {
			t.Fatalf("status %d, not an envelope: %q", rec.Code, unsigned(rec.Body.String()))
		}
		if rec.Code == 200 {
			if why := ids.Check(acct); why != "" {
				t.Fatalf("200 for account %q, which is invalid: %s", acct, why)
			}
			if !*env.Success || env.Result == nil {
				t.Fatalf("200 without a token: %s", rec.Body)
			}
			if _, err := v.Verify(env.Result.Token); err != nil {
				t.Fatalf("200 with a token that does not verify: %v", err)
			}
			return
		}
		if *env.Success || len(env.Errors) == 0 || env.Errors[0].Code < 1000 {
			t.Fatalf("status %d with envelope %s", rec.Code, rec.Body)
		}
		if len(env.Errors) > token.MaxViolations+1 || rec.Body.Len() > 8<<10 {
			t.Fatalf("a %d-byte request got %d errors in %d bytes", len(body), len(env.Errors), rec.Body.Len())
		}
	})
}

var tokenSignature = regexp.MustCompile(`(eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.)[A-Za-z0-9_-]+`)

// unsigned cuts the signature off every token in s, for failure messages.
func unsigned(s string) string { return tokenSignature.ReplaceAllString(s, "${1}[signature]") }

// FuzzParseCredentials: any file either parses into credentials that pass
// their own checks, or fails with an error that quotes none of it.
func FuzzParseCredentials(f *testing.F) {
	keys(f)
	signer := signerOf(serverKey)
	f.Add([]byte("credentials:\n  - token: abc\n  - email: a@example.com\n    key: k\n    accounts: [x]\n"))
	f.Add([]byte(`{"credentials":[{"token":"supersecret"}]}`))
	f.Add([]byte("credentials: [\n  supersecret"))
	f.Add([]byte("credentials:\n  - tokn: supersecret\n"))
	f.Add([]byte("credentials:\n  - supersecret:\n"))
	f.Add([]byte("credentials:\n  - supersecret-token-123: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		creds, err := server.ParseCredentials(data)
		if err != nil {
			if strings.Contains(err.Error(), "supersecret") {
				t.Fatalf("error %q quotes the file", err)
			}
			return
		}
		if _, err := server.New(server.Config{Credentials: creds, Signer: signer}); err != nil {
			t.Fatalf("ParseCredentials accepted credentials that New refuses: %v", err)
		}
	})
}
