package compat

import (
	"context"
	"net"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/stream"

	"github.com/streamtoken/streamtoken/gateway"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

// TestSDKThroughTheGateway: cloudflare-go, unchanged but for its base URL,
// gets 1,000 tokens through a gateway in front of an upstream; the
// upstream sees one authorization and one key created, and every token
// verifies against the upstream's JWK set for the account.
func TestSDKThroughTheGateway(t *testing.T) {
	up := streamtokentest.NewServer()
	defer up.Close()
	ctx := context.Background()
	sdk := cloudflare.NewClient(option.WithAPIToken(up.APIToken), option.WithBaseURL(startGateway(t, up)), option.WithMaxRetries(0))
	const tokens = 1000
	for i := range tokens {
		resp, err := sdk.Stream.Token.New(ctx, video, stream.TokenNewParams{AccountID: cloudflare.F(account)})
		if err != nil {
			t.Fatalf("token %d: Stream.Token.New() error = %v", i, err)
		}
		if _, err := up.Verify(account, resp.Token); err != nil {
			t.Fatalf("token %d does not verify against the upstream's JWK set: %v", i, err)
		}
	}
	checkUpstream(t, up, tokens)
}

// startGateway serves a gateway in front of up on loopback until the test
// ends, and returns its API base URL.
func startGateway(t *testing.T, up *streamtokentest.Server) string {
	t.Helper()
	g, err := gateway.New(gateway.Config{Upstream: up.URL})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String() + server.BasePath
}

// checkUpstream checks what reached the upstream for the tokens: one
// authorization and one key created, nothing else.
func checkUpstream(t *testing.T, up *streamtokentest.Server, tokens int) {
	t.Helper()
	ops := map[string]int{}
	for _, l := range up.RequestLog() {
		ops[l.Operation]++
	}
	if len(ops) != 2 || ops["CreateStreamToken"] != 1 || ops["CreateSigningKey"] != 1 {
		t.Errorf("for %d tokens the upstream saw %v; want one authorization (CreateStreamToken) and one key created", tokens, ops)
	}
	t.Logf("%d tokens through the gateway; the upstream saw %v", tokens, ops)
}
