package streamtoken_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
)

// TestShedTokenRequestIsRetried sends a token request to a server whose one
// signing worker is busy past its wait bound: the server turns it away with
// a 429 and Retry-After, and the client waits that long and tries again,
// this time with the worker free.
func TestShedTokenRequestIsRetried(t *testing.T) {
	held := &testkey.HeldSigner{Signer: testkey.Load(t, "rsa2048.pem", "").Private, Hold: make(chan struct{})}
	signer, err := token.NewCryptoSigner("held-key", held)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Credentials: []server.Credential{{Token: "t"}}, Signer: signer,
		SigningWorkers: 1, MaxSigningWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	base := streamtoken.WithBaseURL(ts.URL + "/client/v4")

	busy, err := streamtoken.NewClient(streamtoken.WithAPIToken("t"), base, streamtoken.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := busy.CreateToken(context.Background(), testAccount, "video-a", streamtoken.TokenRequest{})
		first <- err
	}()
	for held.Calls() == 0 { // the first request holds the worker
		time.Sleep(time.Millisecond)
	}

	var mu sync.Mutex
	var waits []time.Duration
	var release sync.Once
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("t"), base, streamtoken.WithMaxRetries(1),
		streamtoken.WithSleep(func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
			// Instead of sleeping, let the first request finish: the
			// worker is free for the retry.
			release.Do(func() {
				close(held.Hold)
				if err := <-first; err != nil {
					t.Errorf("the first request: %v", err)
				}
			})
			return ctx.Err()
		}))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateToken(context.Background(), testAccount, "video-b", streamtoken.TokenRequest{})
	if err != nil {
		var apiErr *streamtoken.APIError
		errors.As(err, &apiErr)
		t.Fatalf("CreateToken() error = %v (%+v), want a token on the retry", err, apiErr)
	}
	if tok.Value == "" || len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("waits %v, want one of 1s: the Retry-After of the 429", waits)
	}
	if held.Calls() != 2 {
		t.Errorf("signatures = %d, want 2: the shed try signed nothing", held.Calls())
	}
}
