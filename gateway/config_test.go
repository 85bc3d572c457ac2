package gateway_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gateway"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

func TestNewRefusesWhatCannotWork(t *testing.T) {
	good := "https://api.cloudflare.com/client/v4"
	for _, tt := range []struct {
		name string
		cfg  gateway.Config
		want string
	}{
		{"no upstream", gateway.Config{}, "Upstream: required"},
		{"another scheme", gateway.Config{Upstream: "ftp://example.com"}, "Upstream"},
		{"no host", gateway.Config{Upstream: "https:///client/v4"}, "Upstream"},
		{"credentials in the URL", gateway.Config{Upstream: "https://u:p@example.com/client/v4"}, "without credentials"},
		{"a query", gateway.Config{Upstream: good + "?a=b"}, "no query"},
		{"media", gateway.Config{Upstream: good, Server: server.Config{Media: &standin.Service{}}}, "Server.Media"},
		{"a front", gateway.Config{Upstream: good, Server: server.Config{Front: func(h http.Handler) http.Handler { return h }}}, "Server.Front"},
		{"an authenticator", gateway.Config{Upstream: good, Server: server.Config{Authenticator: server.AuthenticatorFunc(func(*http.Request) (*server.Caller, *server.Problem) { return nil, nil })}}, "Server.Authenticator"},
		{"a negative TTL", gateway.Config{Upstream: good, AuthTTL: -1}, "AuthTTL"},
		{"a negative idle bound", gateway.Config{Upstream: good, IdleTimeout: -1}, "IdleTimeout"},
		{"a negative bound", gateway.Config{Upstream: good, MaxDecisions: -1}, "MaxDecisions"},
		{"upstream credentials, no local ones", gateway.Config{Upstream: good, UpstreamCredentials: []server.Credential{{Token: "t", Accounts: []string{account}}}}, "local credentials"},
		{"an upstream credential for no account", gateway.Config{Upstream: good, Server: server.Config{Credentials: []server.Credential{{Token: "l"}}},
			UpstreamCredentials: []server.Credential{{Token: "t"}}}, "UpstreamCredentials[0]"},
		{"an upstream credential of nothing", gateway.Config{Upstream: good, Server: server.Config{Credentials: []server.Credential{{Token: "l"}}},
			UpstreamCredentials: []server.Credential{{Accounts: []string{account}}}}, "UpstreamCredentials[0]"},
		{"two for one account", gateway.Config{Upstream: good, Server: server.Config{Credentials: []server.Credential{{Token: "l"}}},
			UpstreamCredentials: []server.Credential{{Token: "t", Accounts: []string{account}}, {Token: "u", Accounts: []string{account}}}}, "UpstreamCredentials[1]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := gateway.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v; want one naming %q", err, tt.want)
			}
		})
	}
}

// TestTheUpstreamsRefusalKept: a refusal's answer is replayed as it came
// while it holds, up to 8 KiB of it; a longer one is replayed as its
// status alone, in an envelope.
func TestTheUpstreamsRefusalKept(t *testing.T) {
	for _, size := range []int{8 << 10, 8<<10 + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			body := `{"success":false,"errors":[{"code":9109,"message":"Invalid access token"}],"pad":"` + strings.Repeat("x", size-80) + `"}`
			body = body[:size-2] + `"}`
			asked := 0
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked++
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(body))
			}))
			defer upstream.Close()
			g := startGateway(t, upstream.URL+"/client/v4", nil)
			first, again := postToken(t, g.url, "Bearer refused"), postToken(t, g.url, "Bearer refused")
			if first.status != http.StatusForbidden || string(first.body) != body || asked != 1 {
				t.Fatalf("the first: %d, %d bytes, the upstream asked %d times; want its 403 as it came, once", first.status, len(first.body), asked)
			}
			switch {
			case again.status != http.StatusForbidden:
				t.Errorf("replayed: %d; want 403", again.status)
			case size <= 8<<10 && (string(again.body) != body || again.header.Get("Content-Type") != "application/json; charset=utf-8"):
				t.Errorf("a refusal of %d bytes replayed as %d bytes (%s); want it whole", size, len(again.body), again.header.Get("Content-Type"))
			case size > 8<<10 && again.code() != apicode.Forbidden:
				t.Errorf("a refusal of %d bytes replayed as %.80s; want the envelope of its status", size, again.body)
			}
		})
	}
}

// TestAKeyTheUpstreamCannotMakeNow: a 5xx to the key's creation decides
// nothing: the token is a 503 of the gateway's, and the next one asks
// again (a 429 locks the credential out: TestALockoutStopsTheGatewaysOwnRequests).
func TestAKeyTheUpstreamCannotMakeNow(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	fail := streamtokentest.InternalError()
	fail.Operation = "CreateSigningKey"
	up.FailNext(2, fail)
	g := startGateway(t, up.URL, nil)
	c := client(t, g.url, streamtoken.WithAPIToken(up.APIToken))
	auth := "Bearer " + up.APIToken
	if r := postToken(t, g.url, auth); r.status != http.StatusOK { // the authorization, forwarded
		t.Fatalf("the first token: %d %s", r.status, r.body)
	}
	for _, what := range []string{"a 500", "another 500"} {
		if r := postToken(t, g.url, auth); r.status != http.StatusServiceUnavailable || r.code() != apicode.UpstreamUnavailable {
			t.Errorf("the key's creation met %s: %d %s; want the gateway's 503 (1020)", what, r.status, r.body)
		}
	}
	if _, err := c.CreateToken(t.Context(), account, video, streamtoken.TokenRequest{}); err != nil {
		t.Errorf("the key made at last: %v", err)
	}
	if got := operations(up); got["CreateSigningKey"] != 3 || got["CreateStreamToken"] != 1 {
		t.Errorf("the upstream saw %v; want three creations (two failed) and one token request", got)
	}
}

// TestADeploymentsTokensForwardedUnderItsCredential: with the
// deployment's own credentials, a token forwarded (the key's creation
// refused) reaches the upstream under the deployment's credential.
func TestADeploymentsTokensForwardedUnderItsCredential(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	up.FailNext(10, streamtokentest.Failure{Operation: "CreateSigningKey", Status: http.StatusForbidden, Code: apicode.Forbidden, Message: "no"})
	g := startGateway(t, up.URL, func(c *gateway.Config) {
		c.Server.Credentials = []server.Credential{{Token: "local", Accounts: []string{account}}}
		c.UpstreamCredentials = []server.Credential{{Token: up.APIToken, Accounts: []string{account}}}
	})
	for range 2 {
		if r := postToken(t, g.url, "Bearer local"); r.status != http.StatusOK {
			t.Fatalf("a token, forwarded: %d %s", r.status, r.body)
		}
	}
	log := up.RequestLog()
	if got := operations(up); got["CreateStreamToken"] != 2 {
		t.Errorf("the upstream saw %v; want the two tokens forwarded", got)
	}
	for _, l := range log {
		if l.Credential != streamtokentest.CredentialDigest(up.APIToken, "", "") {
			t.Errorf("%s %s reached the upstream with the caller's credential", l.Method, l.Path)
		}
	}
}

// FuzzCredentialsFile: any credentials file either parses into local and
// upstream credentials that New accepts for a gateway, or fails with an
// error that quotes none of it.
func FuzzCredentialsFile(f *testing.F) {
	f.Add([]byte("credentials:\n  - token: local\n    accounts: [023e105f4ecef8ad9ca31a8372d0c353]\nupstream:\n  - token: supersecret\n    accounts: [023e105f4ecef8ad9ca31a8372d0c353]\n"))
	f.Add([]byte("credentials:\n  - token: l\nupstream:\n  - email: a@example.com\n    key: supersecret\n    accounts: [a, b]\n"))
	f.Add([]byte("credentials:\n  - token: l\nupstream:\n  - token: supersecret\n"))
	f.Add([]byte("credentials:\n  - token: l\nupstream:\n  - token: supersecret\n    accounts: [a]\n  - token: supersecret2\n    accounts: [a]\n"))
	f.Add([]byte("credentials:\n  - token: l\nupstrem:\n  - token: supersecret\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := server.ParseCredentialsFile(data)
		if err != nil {
			if strings.Contains(err.Error(), "supersecret") {
				t.Fatalf("error %q quotes the file", err)
			}
			return
		}
		cfg := gateway.Config{Upstream: "https://api.cloudflare.com/client/v4", Server: server.Config{Credentials: file.Credentials},
			UpstreamCredentials: file.Upstream, SyncInterval: -1}
		if len(file.Upstream) == 0 {
			cfg.UpstreamCredentials = nil
		}
		if _, err := gateway.New(cfg); err != nil {
			t.Fatalf("ParseCredentialsFile accepted credentials that gateway.New refuses: %v", err)
		}
	})
}
