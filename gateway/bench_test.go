package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/gateway"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

// BenchmarkTokenHandler is a token request's cost in the handler, beside
// the standalone server's (/impl=server): identical requests, so that the
// token cache answers and the cost is the rest of the path, not the
// signature. The gateway's account and credential are loaded first.
func BenchmarkTokenHandler(b *testing.B) {
	up := streamtokentest.NewServer()
	defer up.Close()
	g, err := gateway.New(gateway.Config{Upstream: up.URL})
	if err != nil {
		b.Fatal(err)
	}
	standalone, err := server.New(server.Config{Credentials: []server.Credential{{Token: up.APIToken}}})
	if err != nil {
		b.Fatal(err)
	}
	path := server.BasePath + "/accounts/" + account + "/stream/" + video + "/token"
	for _, impl := range []struct {
		name string
		h    http.Handler
	}{{"server", standalone.Handler()}, {"gateway", g.Handler()}} {
		serve := func() int {
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{}`))
			req.Header.Set("Authorization", "Bearer "+up.APIToken)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			impl.h.ServeHTTP(rec, req)
			return rec.Code
		}
		for range 3 { // the authorization, the key, a first signature
			if code := serve(); code != http.StatusOK {
				b.Fatalf("%s: %d", impl.name, code)
			}
		}
		b.Run("impl="+impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if serve() != http.StatusOK {
					b.Fatal("not 200")
				}
			}
		})
	}
}
