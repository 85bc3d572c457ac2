package compat

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
	const tokens = 1000
	cmd := exec.Command(node, "tokens.mjs")
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), "BASE_URL="+startGateway(t, up), "API_TOKEN="+up.APIToken,
		"ACCOUNT="+account, "VIDEO="+video, "COUNT="+strconv.Itoa(tokens))
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
	checkUpstream(t, up, tokens)
}
