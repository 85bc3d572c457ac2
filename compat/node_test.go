package compat

import (
	"encoding/json"
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
	requireHarness(t)
	up := streamtokentest.NewServer()
	defer up.Close()
	const tokens = 1000
	out := runHarness(t, "tokens.mjs", "BASE_URL="+startGateway(t, up), "API_TOKEN="+up.APIToken,
		"ACCOUNT="+account, "VIDEO="+video, "COUNT="+strconv.Itoa(tokens))
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

// TestTypeScriptSDKWebhooksAgainstServe: the TypeScript SDK's
// stream.webhooks.update (by either name of the URL), get and delete,
// unchanged, against serve.
func TestTypeScriptSDKWebhooksAgainstServe(t *testing.T) {
	requireHarness(t)
	out := runHarness(t, "webhooks.mjs", "BASE_URL="+startServe(t), "API_TOKEN="+serveAPIToken, "ACCOUNT="+account)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 5 {
		t.Fatalf("the harness printed %d lines, want 5:\n%s", len(lines), out)
	}
	var set, again, got struct {
		NotificationURL string `json:"notificationUrl"`
		Snake           string `json:"notification_url"`
		Secret          string `json:"secret"`
		Modified        string `json:"modified"`
	}
	for i, v := range []any{&set, &again, &got} {
		if err := json.Unmarshal([]byte(lines[i]), v); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
	if set.NotificationURL != "https://example.com/hook" || set.Snake != set.NotificationURL || len(set.Secret) != 32 || set.Modified == "" {
		t.Errorf("update(notificationUrl) = %+v", set)
	}
	if again.NotificationURL != "https://example.com/other" || again.Secret == set.Secret {
		t.Errorf("update(notification_url) = %+v; want the new URL, a new secret", again)
	}
	if got != again {
		t.Errorf("get() = %+v, want %+v", got, again)
	}
	if lines[3] != `"ok"` || lines[4] != `"404"` {
		t.Errorf("delete() = %s, get() after it = %s; want \"ok\" and a 404", lines[3], lines[4])
	}
}

// requireHarness skips the test where the TypeScript SDK's harness cannot
// run: no Node.js, or the SDK not installed.
func requireHarness(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node on PATH: Node.js runs the TypeScript SDK's harness")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "cloudflare", "package.json")); err != nil {
		t.Skip("the TypeScript SDK is not installed: run npm ci --prefix compat/node (make test does)")
	}
}

// runHarness runs one of the harness's scripts in node/ with env added,
// and returns what it printed; its failure ends the test, with its stderr.
func runHarness(t *testing.T, script string, env ...string) []byte {
	t.Helper()
	cmd := exec.Command("node", script)
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("the harness %s: %v\n%s", script, err, stderr)
	}
	return out
}
