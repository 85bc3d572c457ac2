package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// BenchmarkTokenEndpoint sends requests one after another over loopback
// from a single client: to the server (auth, request checks, the API's
// rules, signing, envelope), and to a bare net/http handler that only signs
// with the same key. Compare with benchstat -col /impl.
func BenchmarkTokenEndpoint(b *testing.B) {
	keys(b)
	signer, err := token.NewSigner(serverKey)
	if err != nil {
		b.Fatal(err)
	}
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		tok, _, err := signer.Sign(token.Request{VideoID: video})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": map[string]string{"token": tok}})
	}))
	defer bare.Close()
	srv, err := server.New(server.Config{Credentials: credentials(), Signer: signerOf(serverKey)})
	if err != nil {
		b.Fatal(err)
	}
	real := httptest.NewServer(srv.Handler())
	defer real.Close()

	body := `{"downloadable":true,"accessRules":[{"type":"ip.src","action":"allow","ip":["93.184.216.0/24"]},{"type":"any","action":"block"}]}`
	for _, impl := range []struct{ name, url string }{{"bare-handler", bare.URL}, {"server", real.URL}} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			client := &http.Client{}
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, impl.url+tokenPath, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+apiToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkJWKS serves an account's JWK set with its 1,000
// keys (the most it may hold) in each store, beside the server's own key
// alone: what a full account costs each fetch of the set. The directory
// store serves its snapshot of the account's directory, looking at the
// directory's modification time at most every store.DirRecheck. Compare
// with benchstat -col /store.
func BenchmarkJWKS(b *testing.B) {
	ctx := context.Background()
	dirStore, err := store.OpenDir(b.TempDir(), store.DirOptions{})
	if err != nil {
		b.Fatal(err)
	}
	memStore := store.NewMemory(0)
	for _, k := range copies(b, account, store.MaxKeysPerAccount) {
		if err := memStore.AddKey(ctx, k, store.MaxKeysPerAccount); err != nil {
			b.Fatal(err)
		}
		if err := dirStore.AddKey(ctx, k, store.MaxKeysPerAccount); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name  string
		store store.Store
	}{{"none", nil}, {"memory-1000", memStore}, {"dir-1000", dirStore}} {
		b.Run("store="+bc.name, func(b *testing.B) {
			srv, err := server.New(server.Config{Credentials: credentials(), Signer: signerOf(serverKey), Store: bc.store})
			if err != nil {
				b.Fatal(err)
			}
			h := srv.Handler()
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, jwksPath(account), nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkHandlerHot runs the handler in-process, no network, on the
// request of a hot video: every one after the first is a cache hit, so
// this is what a request costs beside its signature (auth, the spec's
// checks, the API's rules, the draft, the cache, the envelope).
func BenchmarkHandlerHot(b *testing.B) {
	keys(b)
	srv, err := server.New(server.Config{Credentials: credentials(), Signer: signerOf(serverKey)})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for _, body := range []struct{ name, json string }{
		{"no rules", `{}`},
		// Three rules that say what they mean, and one that restricts
		// nothing: the findings are worked out on every answer.
		{"rules", `{"accessRules":[{"type":"ip.geoip.country","action":"block","country":["US","MX"]},{"type":"ip.src","action":"allow","ip":["93.184.216.0/24","2400:cb00::/32"]},{"type":"any","action":"block"}]}`},
		{"rules with findings", `{"accessRules":[{"type":"ip.src","action":"allow","ip":["93.184.216.0/24"]}]}`},
	} {
		b.Run(body.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, tokenPath, strings.NewReader(body.json))
				req.Header.Set("Authorization", "Bearer "+apiToken)
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
