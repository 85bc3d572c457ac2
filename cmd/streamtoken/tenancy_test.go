package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	tenantA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tenantB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// tenantCredentials writes a credentials file of two tokens, each scoped
// to one account.
func tenantCredentials(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "creds.yaml")
	creds := "credentials:\n  - token: token-a\n    accounts: [\"" + tenantA + "\"]\n  - token: token-b\n    accounts: [\"" + tenantB + "\"]\n"
	if err := os.WriteFile(f, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// serveLogged runs serve with args after --addr 127.0.0.1:0 and returns
// the API's base URL, from its start log line.
func serveLogged(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: func(string) string { return "" }})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	re := regexp.MustCompile(`msg=serving url=(\S+)`)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", stderr.String())
		}
	}
}

// Through the command line, account A's tokens, every way there is to get
// one, verify against A's set and not against B's.
func TestCLICrossTenantMatrix(t *testing.T) {
	base := serveLogged(t, "--credentials", tenantCredentials(t), "--keys-dir", t.TempDir())
	envA := map[string]string{"CLOUDFLARE_API_TOKEN": "token-a"}
	envB := map[string]string{"CLOUDFLARE_API_TOKEN": "token-b"}
	if r := cli(t, envB, "", "create", "--account", tenantB, "--video", video, "--base-url", base); r.code != 0 {
		t.Fatalf("B's token: %v", r)
	}
	fromServer := cli(t, envA, "", "create", "--account", tenantA, "--video", video, "--base-url", base)
	keyFile := filepath.Join(t.TempDir(), "a.json")
	created := cli(t, envA, "", "keys", "create", "--account", tenantA, "--out", keyFile, "--base-url", base)
	local := cli(t, nil, "", "sign", "--key", keyFile, "--video", video)
	withPEM := cli(t, envA, "", "create", "--account", tenantA, "--video", video, "--base-url", base, "--key-id", strings.TrimSpace(created.stdout), "--pem", keyFile)
	for name, r := range map[string]result{"the server's key for A": fromServer, "a key of A's keys API, signed here": local, "A's key as id and pem": withPEM} {
		if r.code != 0 {
			t.Fatalf("%s: %v (keys create: %v)", name, r, created)
		}
		tok := strings.TrimSpace(r.stdout)
		if v := cli(t, nil, "", "verify", tok, "--account", tenantA, "--base-url", base); v.code != 0 {
			t.Errorf("%s, verify --account A: %v, want exit 0", name, v)
		}
		if v := cli(t, nil, "", "verify", tok, "--account", tenantB, "--base-url", base); v.code != exitInvalid || !strings.Contains(v.stderr, "unknown key") {
			t.Errorf("%s, verify --account B: %v, want exit %d (unknown key)", name, v, exitInvalid)
		}
	}
	// The server-wide set is no set of several accounts.
	jwks := strings.TrimSuffix(base, "/client/v4") + "/.well-known/jwks.json"
	if v := cli(t, nil, "", "verify", strings.TrimSpace(fromServer.stdout), "--jwks", jwks); v.code != 1 || !strings.Contains(v.stderr, "HTTP 404") {
		t.Errorf("verify --jwks %s: %v, want exit 1 (HTTP 404)", jwks, v)
	}
}

// --signing-key alone for accounts the credentials keep apart is refused,
// in one line naming the flags; --shared-signing-key accepts it.
func TestServeRefusesASharedKeyForSeveralAccounts(t *testing.T) {
	creds := tenantCredentials(t)
	r := cli(t, nil, "", "serve", "--addr", "127.0.0.1:0", "--credentials", creds, "--signing-key", keyFile)
	if r.code != exitBadInput || errorLines(r.stderr) != 1 || !strings.Contains(r.stderr, "--signing-key would sign the tokens of accounts "+tenantA+", "+tenantB) || !strings.Contains(r.stderr, "--shared-signing-key") {
		t.Errorf("serve --signing-key, two scoped accounts: %v, want exit 2 and one line naming both flags", r)
	}
	if r := cli(t, nil, "", "serve", "--addr", "127.0.0.1:0", "--shared-signing-key"); r.code != exitBadInput || !strings.Contains(r.stderr, "--shared-signing-key: needs --signing-key") {
		t.Errorf("serve --shared-signing-key alone: %v", r)
	}
	base := serveLogged(t, "--credentials", creds, "--signing-key", keyFile, "--shared-signing-key")
	if r := cli(t, map[string]string{"CLOUDFLARE_API_TOKEN": "token-a"}, "", "create", "--account", tenantA, "--video", video, "--base-url", base); r.code != 0 {
		t.Errorf("a token with the shared key accepted: %v", r)
	}
}

func TestVerifyAccountFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--account", tenantA}, "--account: needs --base-url"},
		{[]string{"--base-url", "http://127.0.0.1:1/client/v4"}, "--base-url: needs --account"},
		{[]string{"--account", "..", "--base-url", "http://127.0.0.1:1/client/v4"}, `--account "..": must not be ".."`},
		{[]string{"--account", tenantA, "--base-url", "http://127.0.0.1:1"}, "--base-url: key set: base URL http://127.0.0.1:1 does not end in /client/v4"},
		{[]string{"--account", tenantA, "--base-url", "https://api.cloudflare.com/client/v4"}, "Cloudflare's API publishes no JWK set"},
		{[]string{"--account", tenantA, "--key", keyFile, "--base-url", "http://127.0.0.1:1/client/v4"}, "--key, --jwks and --account: give one of them"},
	} {
		r := cli(t, nil, "", append([]string{"verify", seedToken}, tc.args...)...)
		if r.code != exitBadInput || errorLines(r.stderr) != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("verify %v: %v, want exit 2 and %q", tc.args, r, tc.want)
		}
	}
}
