package standin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/store"
)

// BenchmarkListVideos lists an account's videos through the handler, at
// 1,000 and at 10,000 (the most an account keeps) videos: the first page
// (of 50, and of 1,000, the default), and filtered pages with counts,
// which look at every video's fields (read once, when the video was kept:
// nothing is decoded). The baseline is reading one video. A page costs
// the page, not the account: the first page of 50 costs the same at both
// sizes; a filtered, counted one a look at each video's fields besides.
func BenchmarkListVideos(b *testing.B) {
	keys(b)
	for _, n := range []int{1000, store.MaxMediaPerAccount} {
		st := store.NewMemory(0)
		created := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
		for i := range n {
			v := gen.Video{UID: fmt.Sprintf("%032x", i), RequireSignedURLs: i%2 == 0, AllowedOrigins: gen.AllowedOrigins{"example.com"},
				Creator: new(fmt.Sprintf("creator-%d", i%100)), Meta: map[string]any{"name": fmt.Sprintf("video %d.mp4", i)},
				Status: &gen.VideoStatus{State: gen.VideoStateReady}, Created: created.Add(time.Duration(i) * time.Second), Modified: created}
			details, _ := json.Marshal(v)
			if _, err := st.EditMedia(context.Background(), store.Video, account, v.UID, store.MaxMediaPerAccount, func([]byte, bool) ([]byte, error) { return details, nil }); err != nil {
				b.Fatal(err)
			}
		}
		srv, err := server.New(server.Config{Credentials: credentials(), Signer: signerOf(serverKey), Store: st, Media: &standin.Service{Store: st}})
		if err != nil {
			b.Fatal(err)
		}
		h := srv.Handler()
		base := server.BasePath + "/accounts/" + account + "/stream"
		for _, c := range []struct{ name, path string }{
			{"one video", "/" + fmt.Sprintf("%032x", n/2)},
			{"first 50", "?limit=50"},
			{"first 1000", ""},
			{"creator, counted", "?creator=creator-7&include_counts=true"},
			{"search, counted", "?search=zzz&include_counts=true"},
		} {
			b.Run(fmt.Sprintf("videos=%d/%s", n, c.name), func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, base+c.path, nil)
				req.Header.Set("Authorization", "Bearer "+apiToken)
				b.ReportAllocs()
				for b.Loop() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						b.Fatal(rec.Body.String())
					}
				}
			})
		}
	}
}
