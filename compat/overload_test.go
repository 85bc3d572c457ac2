package compat

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/stream"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
)

// TestSDKRetriesAShedRequest: the token server turns a request away with
// a 429 and Retry-After while its one signing worker is busy past the
// wait bound; cloudflare-go waits as told and gets the token on its retry.
func TestSDKRetriesAShedRequest(t *testing.T) {
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
	sdk := func(retries int) *cloudflare.Client {
		return cloudflare.NewClient(option.WithAPIToken("t"), option.WithBaseURL(ts.URL+"/client/v4"),
			option.WithHTTPClient(ts.Client()), option.WithMaxRetries(retries))
	}

	first := make(chan error, 1)
	go func() {
		_, err := sdk(0).Stream.Token.New(context.Background(), "video-a", stream.TokenNewParams{AccountID: cloudflare.F(account)})
		first <- err
	}()
	for held.Calls() == 0 { // the first request holds the worker
		time.Sleep(time.Millisecond)
	}
	// The second request is shed after 20 ms, and retried after the 429's
	// Retry-After of a second: the first request is done by then.
	go func() {
		for !shed(t, ts.URL) {
			time.Sleep(time.Millisecond)
		}
		close(held.Hold)
	}()
	start := time.Now()
	resp, err := sdk(1).Stream.Token.New(context.Background(), "video-b", stream.TokenNewParams{AccountID: cloudflare.F(account)})
	if err != nil {
		t.Fatalf("Stream.Token.New() error = %v, want a token on the retry", err)
	}
	if resp.Token == "" {
		t.Error("no token")
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("the retry came after %v: the SDK did not wait the Retry-After of 1s", waited)
	}
	if err := <-first; err != nil {
		t.Errorf("the first request: %v", err)
	}
	if held.Calls() != 2 {
		t.Errorf("signatures = %d, want 2: the shed try signed nothing", held.Calls())
	}
}

// shed reports whether the server at base has shed a token request.
func shed(t *testing.T, base string) bool {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Error(err)
		return true
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "\n"+`streamtoken_signing_queue_requests_total{outcome="shed"} 1`)
}
