package webhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	var logged strings.Builder
	var got []*Notification
	fail := false
	h := Handler(vectorSecret, func(ctx context.Context, n *Notification) error {
		got = append(got, n)
		if fail {
			return errors.New("the database is down")
		}
		return nil
	}, WithClock(func() time.Time { return vectorTime }), WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	send := func(method, header, body string, chunked bool) int {
		var r io.Reader = strings.NewReader(body)
		if chunked {
			r = io.MultiReader(r) // no length known: read until the bound
		}
		req := httptest.NewRequest(method, "/hook", r)
		if chunked {
			req.ContentLength = -1
		}
		if header != "" {
			req.Header.Set(HeaderName, header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if code := send(http.MethodPost, vectorHeader, vectorBody, false); code != http.StatusOK || len(got) != 1 || got[0].UID != "ea95132c15732412d22c1476fa83f27a" {
		t.Fatalf("a good notification: %d, %d calls", code, len(got))
	}
	fail = true
	if code := send(http.MethodPost, vectorHeader, vectorBody, false); code != http.StatusInternalServerError || len(got) != 2 {
		t.Errorf("the function failing: %d; want 500, for the sender to retry", code)
	}
	fail = false
	huge := `{"uid":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	for _, c := range []struct {
		name, method, header, body string
		chunked                    bool
		want                       int
	}{
		{"GET", http.MethodGet, vectorHeader, "", false, http.StatusMethodNotAllowed},
		{"no header", http.MethodPost, "", vectorBody, false, http.StatusBadRequest},
		{"bad signature", http.MethodPost, "time=1230811200,sig1=" + strings.Repeat("0", 64), vectorBody, false, http.StatusUnauthorized},
		{"stale", http.MethodPost, Sign(vectorSecret, []byte(vectorBody), vectorTime.Add(-time.Hour)), vectorBody, false, http.StatusUnauthorized},
		{"too large, by its length", http.MethodPost, vectorHeader, huge, false, http.StatusRequestEntityTooLarge},
		{"too large, chunked", http.MethodPost, vectorHeader, huge, true, http.StatusRequestEntityTooLarge},
	} {
		if code := send(c.method, c.header, c.body, c.chunked); code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	if len(got) != 2 {
		t.Errorf("the function was called for a refused notification: %d calls", len(got))
	}
	// A body of MaxBodyBytes, by its length, is read and verified.
	exact := `{"uid":"` + strings.Repeat("a", MaxBodyBytes-10) + `"}`
	if code := send(http.MethodPost, Sign(vectorSecret, []byte(exact), vectorTime), exact, false); code != http.StatusOK {
		t.Errorf("a body of exactly %d bytes: %d, want 200", MaxBodyBytes, code)
	}
	if strings.Contains(logged.String(), vectorSecret.Reveal()) || strings.Contains(logged.String(), "ebf8ecb1") {
		t.Errorf("the log quotes the secret or a signature:\n%s", logged.String())
	}
	if !strings.Contains(logged.String(), "the database is down") {
		t.Errorf("the log does not say why the function failed:\n%s", logged.String())
	}
}

func ExampleHandler() {
	secret := Secret("85011ed3a913c6ad5f9cf6c5573cc0a7") // from the API's answer when the webhook was set
	http.Handle("POST /stream-webhook", Handler(secret, func(ctx context.Context, n *Notification) error {
		if n.Ready() && !n.RequireSignedURLs {
			slog.InfoContext(ctx, "a video plays without a token", "video", n.UID, "name", n.Name())
		}
		return nil // 200: the notification was handled
	}))
}
