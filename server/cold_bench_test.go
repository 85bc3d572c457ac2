package server_test

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
)

// instantKey is a crypto.Signer whose signature costs nothing: what is
// left of a cold token's cost is the server's own.
type instantKey struct{ pub *rsa.PublicKey }

func (k instantKey) Public() crypto.PublicKey { return k.pub }
func (k instantKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return make([]byte, k.pub.Size()), nil
}

// BenchmarkHandlerCold is the handler's own cost of a token, its
// signature made free: "cold" a new video each request (the cache missed
// and filled, the queue taken, the token drafted and signed), "hot" one
// video (from the cache). A cold token costs its RSA signature beyond
// this, and net/http's handling of its connection.
func BenchmarkHandlerCold(b *testing.B) {
	keys(b)
	signer, err := token.NewCryptoSigner(serverKID, instantKey{serverKey.Public})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Config{Credentials: credentials(), Signer: signer})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for _, cold := range []bool{true, false} {
		name := "token=hot"
		if cold {
			name = "token=cold"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				video := "ea95132c15732412d22c1476fa83f27a"
				if cold {
					video = fmt.Sprintf("%032x", n)
				}
				req := httptest.NewRequest(http.MethodPost, server.BasePath+gen.CreateStreamTokenPath(account, video), strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+apiToken)
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
