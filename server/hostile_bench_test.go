package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/server"
)

// BenchmarkHostileBodies answers bodies built to be expensive (tens of
// thousands of violations in 60 KB) beside the same endpoint's answer to
// a valid request: compare with benchstat -col /body.
func BenchmarkHostileBodies(b *testing.B) {
	keys(b)
	srv, err := server.New(server.Config{Credentials: credentials(), Signer: signerOf(serverKey)})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, c := range []struct{ name, body string }{
		{"valid", `{"accessRules":[{"type":"ip.src","action":"allow","ip":["93.184.216.0/24"]}]}`},
		{"30000-wrong-types", `{"accessRules":[{"type":"ip.src","action":"allow","ip":[` + strings.Repeat("0,", 29999) + `0]}]}`},
		{"12000-bad-countries", `{"accessRules":[{"type":"ip.geoip.country","action":"allow","country":[` + strings.Repeat(`"aa",`, 11999) + `"aa"]}]}`},
		{"12000-bad-ips", `{"accessRules":[{"type":"ip.src","action":"allow","ip":[` + strings.Repeat(`"xx",`, 11999) + `"xx"]}]}`},
	} {
		b.Run("body="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, ts.URL+tokenPath, strings.NewReader(c.body))
				req.Header.Set("Authorization", "Bearer "+apiToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := ts.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				size, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			b.ReportMetric(float64(size), "resp-bytes")
			b.ReportMetric(float64(len(c.body)), "req-bytes")
		})
	}
}
