package standin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/standin"
)

// BenchmarkVideoReady is what a video made ready costs the caller, beside
// the same with no webhook (/receiver=none): with a receiver that answers
// at once, and with one that never answers (its deliveries wait out their
// timeout on the workers, the queue fills, and the rest are dropped).
//
//	go test -run '^$' -bench VideoReady -count 6 ./standin | benchstat -col /receiver -
func BenchmarkVideoReady(b *testing.B) {
	release := make(chan struct{})
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer fast.Close()
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(release) // before the Close above, which waits for its handlers
	for _, c := range []struct {
		name string
		url  string
	}{{"none", ""}, {"fast", fast.URL}, {"hung", hung.URL}} {
		b.Run("receiver="+c.name, func(b *testing.B) {
			ms := &standin.Service{Deliveries: &standin.Deliveries{AllowPrivate: true, Timeout: 2 * time.Second, Attempts: 1}}
			base, _ := start(b, ms)
			if c.url != "" {
				setWebhook(b, base, &receiver{ts: &httptest.Server{URL: c.url}})
			}
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if err := ms.SetVideoStatus(ctx, account, hookVideo, gen.VideoStatus{State: gen.VideoStateReady}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			ms.Close()
		})
	}
}
