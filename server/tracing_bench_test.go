package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/streamtoken/streamtoken/server"
)

// discard is a span exporter that keeps nothing.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkTracing serves a token request (identical ones: the token
// cache answers, so the handler's own cost shows) with tracing off (no
// TracerProvider: the default), and on (the SDK, every span recorded and
// handed to an exporter that drops it). Off costs what the server cost
// before tracing existed: compare off with BenchmarkHandlerHot/no_rules.
func BenchmarkTracing(b *testing.B) {
	keys(b)
	for _, c := range []struct {
		name string
		tp   *sdktrace.TracerProvider
	}{
		{"off", nil},
		{"on", sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))},
	} {
		cfg := server.Config{Credentials: credentials(), Signer: signerOf(serverKey)}
		if c.tp != nil {
			cfg.TracerProvider = c.tp
		}
		srv, err := server.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		h := srv.Handler()
		b.Run("tracing="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, tokenPath, strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+apiToken)
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
		if c.tp != nil {
			_ = c.tp.Shutdown(context.Background())
		}
	}
}
