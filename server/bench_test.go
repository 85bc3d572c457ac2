package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/server"
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
