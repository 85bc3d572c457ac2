package standin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

const (
	account   = "023e105f4ecef8ad9ca31a8372d0c353"
	otherAcct = "9a7806061c88ada191ed06f989cc3dac"
	video     = "ea95132c15732412d22c1476fa83f27a"
	apiToken  = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"
	scoped    = "scoped-token-0123456789abcdef"
	serverKID = "0123456789abcdef0123456789abcdef"
)

var (
	keysOnce  sync.Once
	serverKey *token.Key
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() { serverKey = testkey.Load(t, "rsa2048.pem", serverKID) })
}

func signerOf(k *token.Key) *token.Signer {
	s, err := token.NewSigner(k)
	if err != nil {
		panic(err)
	}
	return s
}

func credentials() []server.Credential {
	return []server.Credential{{Token: apiToken}, {Token: scoped, Accounts: []string{otherAcct}}}
}

// newServer composes the core with ms (its store a new memory store
// when it has none, the server's clock its own): the server serve runs.
func newServer(t testing.TB, ms *standin.Service) *server.Server {
	t.Helper()
	keys(t)
	if ms.Store == nil {
		ms.Store = store.NewMemory(0)
	}
	cfg := server.Config{Credentials: credentials(), Signer: signerOf(serverKey), Media: ms, Now: ms.Now}
	if st, ok := ms.Store.(store.KeyStore); ok {
		cfg.Store = st
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New() error = %v", err)
	}
	return s
}

// start runs the server of ms on loopback and returns its base URL
// (without /client/v4).
func start(t testing.TB, ms *standin.Service) (string, *server.Server) {
	t.Helper()
	s := newServer(t, ms)
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
	}
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

func do(t testing.TB, method, url string, body io.Reader, headers ...string) response {
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
