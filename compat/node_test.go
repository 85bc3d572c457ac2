package compat

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/gateway"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

// TestTypeScriptSDKThroughTheGateway: Cloudflare's TypeScript SDK (npm
// "cloudflare", pinned in node/package-lock.json), unchanged but for its
// base URL, gets 1,000 tokens through a gateway; the upstream sees one
// authorization and one key created, and every token verifies against
// its JWK set. make test installs the SDK first (npm ci in compat/node).
func TestTypeScriptSDKThroughTheGateway(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on PATH: Node.js runs the TypeScript SDK's harness")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "cloudflare", "package.json")); err != nil {
		t.Skip("the TypeScript SDK is not installed: run npm ci --prefix compat/node (make test does)")
	}
	up := streamtokentest.NewServer()
	defer up.Close()
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
	defer func() { cancel(); <-done }()
	const tokens = 1000
	cmd := exec.Command(node, "tokens.mjs")
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), "BASE_URL=http://"+ln.Addr().String()+server.BasePath, "API_TOKEN="+up.APIToken,
		"ACCOUNT="+account, "VIDEO="+video, "COUNT=1000")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("the harness: %v\n%s", err, stderr)
	}
	got := strings.Fields(string(out))
	if len(got) != tokens {
		t.Fatalf("the harness printed %d tokens; want %d", len(got), tokens)
	}
	for i, tok := range got {
		if _, err := up.Verify(account, tok); err != nil {
			t.Fatalf("token %d does not verify against the upstream's JWK set: %v", i, err)
		}
	}
	ops := map[string]int{}
	for _, l := range up.RequestLog() {
		ops[l.Operation]++
	}
	if len(ops) != 2 || ops["CreateStreamToken"] != 1 || ops["CreateSigningKey"] != 1 {
		t.Errorf("for %d tokens the upstream saw %v; want one authorization (CreateStreamToken) and one key created", tokens, ops)
	}
	t.Logf("%d tokens from the TypeScript SDK through the gateway; the upstream saw %v", tokens, ops)
}
