package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Each flag given a bad value is refused in one line that names that
// flag, with the bad-input exit code: the message points at what to fix.
func TestEveryBadFlagIsNamed(t *testing.T) {
	creds := map[string]string{"CLOUDFLARE_API_TOKEN": "t"}
	signed := cli(t, nil, "", "sign", "--key", keyFile, "--key-id", kid, "--video", video)
	tok := strings.TrimSpace(signed.stdout)
	if signed.code != 0 || strings.Count(tok, ".") != 2 {
		t.Fatalf("sign: %v", signed)
	}
	sign := []string{"sign", "--key", keyFile, "--key-id", kid, "--video", video}
	local := "http://127.0.0.1:1/client/v4"
	for _, tt := range []struct {
		flag string
		env  map[string]string
		args []string
	}{
		{"--key", nil, []string{"sign", "--key", "/nonexistent.pem", "--video", video}},
		{"--key-id", nil, []string{"sign", "--key", keyFile, "--key-id", "a b", "--video", video}},
		{"--video", nil, []string{"sign", "--key", keyFile, "--key-id", kid, "--video", "a/b"}},
		{"--exp", nil, append(sign, "--exp", "soon")},
		{"--nbf", nil, append(sign, "--nbf", "later")},
		{"--rule", nil, append(sign, "--rule", "maybe any")},
		{"--rules", nil, append(sign, "--rules", "/nonexistent.rules")},
		{"--output", nil, append(sign, "--output", "yaml")},
		{"--send-key", creds, []string{"create", "--account", account, "--video", video, "--send-key", "/nonexistent.pem", "--key-id", kid, "--base-url", local}},
		{"--base-url", creds, []string{"create", "--account", account, "--video", video, "--base-url", "ftp://x"}},
		{"--key", nil, []string{"create", "--account", account, "--video", video, "--key", "/nonexistent.json"}},
		{"--key-id", nil, []string{"create", "--account", account, "--video", video, "--key", keyFile}},
		{"--send-key", nil, []string{"create", "--account", account, "--video", video, "--key", keyFile, "--key-id", kid, "--send-key", keyFile}},
		{"--base-url", nil, []string{"create", "--account", account, "--video", video, "--key", keyFile, "--key-id", kid, "--base-url", local}},
		{"CLOUDFLARE_API_TOKEN", map[string]string{"CLOUDFLARE_API_TOKEN": "bad\ntoken"}, []string{"keys", "list", "--account", account, "--base-url", local}},
		{"--output", creds, []string{"keys", "list", "--account", account, "--output", "yaml", "--base-url", local}},
		{"--out", creds, []string{"keys", "create", "--account", account, "--out", "/nonexistent/dir/key.json", "--base-url", local}},
		{"--listen", creds, []string{"guard", "--account", account, "--listen", "nowhere", "--base-url", local}},
		{"--register", creds, []string{"guard", "--account", account, "--listen", "127.0.0.1:0", "--register", "ftp://example.com/hook", "--base-url", local}},
		{"--allowed-origin", creds, []string{"guard", "--account", account, "--allowed-origin", "a b", "--base-url", local}},
		{"--secret-file", creds, []string{"guard", "--account", account, "--listen", "127.0.0.1:0", "--secret-file", "/nonexistent/secret", "--base-url", local}},
		{"notificationUrl", creds, []string{"webhook", "set", "ftp://example.com/hook", "--account", account, "--base-url", local}},
		{"--output", creds, []string{"webhook", "show", "--account", account, "--output", "yaml", "--base-url", local}},
		{"--jwks", nil, []string{"verify", tok, "--jwks", "/nonexistent.json"}},
		{"--key", nil, []string{"verify", tok, "--key", "/nonexistent.pem"}},
		{"--ip", nil, []string{"verify", tok, "--key", keyFile, "--ip", "not-an-ip"}},
		{"--at", nil, []string{"verify", tok, "--key", keyFile, "--at", "yesterday-ish"}},
		{"--output", nil, []string{"inspect", tok, "--output", "yaml"}},
		{"--addr", nil, []string{"serve", "--addr", "not an address"}},
		{"--max-connections", nil, []string{"serve", "--max-connections", "-1"}},
		{"--max-connections-per-ip", nil, []string{"serve", "--max-connections-per-ip", "-1"}},
		{"--store-account-bytes", nil, []string{"serve", "--store-account-bytes", "5"}},
		{"--signing-workers", nil, []string{"serve", "--signing-workers", "-1"}},
		{"--max-signing-wait", nil, []string{"serve", "--max-signing-wait", "0s"}},
		{"--token-cache", nil, []string{"serve", "--token-cache", "-1"}},
		{"--token-cache-bytes", nil, []string{"serve", "--token-cache-bytes", "1"}},
		{"--max-accounts", nil, []string{"serve", "--max-accounts", "0"}},
		{"--crypto", nil, []string{"serve", "--crypto", "fast"}},
		{"--log-format", nil, []string{"serve", "--log-format", "xml"}},
		{"--credentials", nil, []string{"serve", "--credentials", "/nonexistent.yaml"}},
		{"--signing-key", nil, []string{"serve", "--signing-key", "/nonexistent.pem"}},
		{"--signing-key-id", nil, []string{"serve", "--signing-key-id", "k"}},
		{"--keys-dir", nil, []string{"serve", "--keys-dir", "/dev/null/x"}},
		{"--upstream", nil, []string{"serve", "--upstream", "ftp://example.com"}},
		{"--upstream", nil, []string{"serve", "--upstream", "https://user:secret@example.com/client/v4"}},
		{"--signing-key", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--signing-key", keyFile}},
		{"--public-url", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--public-url", "https://x.example"}},
		{"--upstream-auth-ttl", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--upstream-auth-ttl", "0s"}},
		{"--upstream-refusal-ttl", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--upstream-refusal-ttl", "2h"}},
		{"--upstream-grace", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--upstream-grace", "-1s"}},
		{"--upstream-grace", nil, []string{"serve", "--upstream-grace", "1m"}},
		{"--rotate-after", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--rotate-after", "1m"}},
		{"--rotate-after", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--rotate-after", "720h", "--upstream-sync", "0"}},
		{"--rotate-after", nil, []string{"serve", "--rotate-after", "720h"}},
		{"--allow-private-webhooks", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--allow-private-webhooks"}},
		{"--upstream-budget", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--upstream-budget", "1200"}},
		{"--upstream-budget", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--upstream-budget", "1/5m"}},
		{"--upstream-budget", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--upstream-budget", "100/1ms"}},
		{"--upstream-sync", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--upstream-sync", "10ms"}},
		{"--api-token", nil, []string{"serve", "--upstream", "https://example.com/client/v4", "--api-token", "local"}},
		{"--account-key", nil, []string{"serve", "--account-key", "no-equals-sign"}},
		{"--account-key", nil, []string{"serve", "--account-key", "a b=" + keyFile}},
		{"--account-key", nil, []string{"serve", "--account-key", "acct=/nonexistent.pem"}},
		{"--account-key", nil, []string{"serve", "--account-key", "acct=" + keyFile, "--account-key", "acct=" + keyFile}},
		{"--account-key", nil, []string{"serve", "--account-key", "acct=../../token/testdata/rsa2048-public.pem"}},
	} {
		t.Run(tt.flag+" "+tt.args[0], func(t *testing.T) {
			r := cli(t, tt.env, "", tt.args...)
			if r.code != exitBadInput || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tt.flag) {
				t.Errorf("streamtoken %s: %v; want exit %d and one line naming %s", strings.Join(tt.args, " "), r, exitBadInput, tt.flag)
			}
		})
	}
}

// A mistyped flag gets the flag it likely meant, on its one line.
func TestMistypedFlagsGetASuggestion(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sign", "--video-id", "x"}, "unknown flag: --video-id (did you mean --video?)"},
		{[]string{"videos", "show", "v", "--acount", "a"}, "unknown flag: --acount (did you mean --account?)"},
		{[]string{"serve", "--adr", "x"}, "unknown flag: --adr (did you mean --addr?)"},
		{[]string{"keys", "list", "--outptu", "json"}, "unknown flag: --outptu (did you mean --output?)"},
	} {
		r := cli(t, nil, "", c.args...)
		if r.code != exitBadInput || strings.TrimSpace(r.stderr) != "streamtoken: "+c.want {
			t.Errorf("%v: %v; want exit 2 and %q", c.args, r, c.want)
		}
	}
	if r := cli(t, nil, "", "sign", "--zzz"); strings.Contains(r.stderr, "did you mean") {
		t.Errorf("sign --zzz: %v; want no suggestion", r)
	}
}

// sign and create take the video as their argument, as videos show does,
// or by --video; one of the two.
func TestVideoArgument(t *testing.T) {
	const v = "ea95132c15732412d22c1476fa83f27a"
	arg := cli(t, nil, "", "sign", v, "--key", keyFile, "--key-id", kid, "--output", "json")
	flag := cli(t, nil, "", "sign", "--video", v, "--key", keyFile, "--key-id", kid, "--output", "json")
	if arg.code != 0 || flag.code != 0 || !strings.Contains(arg.stdout, `"sub": "`+v) || !strings.Contains(flag.stdout, `"sub": "`+v) {
		t.Fatalf("sign VIDEO: %v; sign --video: %v", arg, flag)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sign", v, "--video", v, "--key", keyFile, "--key-id", kid}, "VIDEO: given twice"},
		{[]string{"sign", v, v, "--key", keyFile, "--key-id", kid}, "want one VIDEO argument, got 2"},
		{[]string{"create", "--account", account}, "VIDEO: required"},
		{[]string{"sign", "a/b", "--key", keyFile, "--key-id", kid}, `--video: must not contain "/"`},
	} {
		if r := cli(t, nil, "", c.args...); r.code != exitBadInput || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: %v; want exit 2 with %q", c.args, r, c.want)
		}
	}
}

// Every command that runs shows an example in its help.
func TestEveryCommandHasAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Runnable() && c.Example == "" && c.Name() != "help" && (c.Parent() == nil || c.Parent().Name() != "completion") && c.Name() != "completion" {
			t.Errorf("%q has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(env{getenv: func(string) string { return "" }}))
}

// version prints the build's own information; a binary built from a
// checkout says its revision.
func TestVersion(t *testing.T) {
	r := cli(t, nil, "", "version", "--output", "json")
	var v struct {
		Version, Go string
		Crypto      struct{ Use, Version string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != 0 || v.Version == "" || !strings.HasPrefix(v.Go, "go") || v.Crypto.Use == "" {
		t.Fatalf("version --output json: %v (%+v)", r, v)
	}
	if r := cli(t, nil, "", "version"); r.code != 0 || !strings.Contains(r.stdout, "crypto ") {
		t.Errorf("version: %v", r)
	}
	if testing.Short() {
		return
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): no revision to compare", err)
	}
	bin := filepath.Join(t.TempDir(), "streamtoken")
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if meta, _ := exec.Command("go", "version", "-m", bin).Output(); !strings.Contains(string(meta), "vcs.revision=") {
		t.Skip("the go command stamped no VCS information here (a git worktree): no revision to compare")
	}
	out, err := exec.Command(bin, "version", "--output", "json").Output()
	var built struct{ Version, Revision string }
	if err != nil || json.Unmarshal(out, &built) != nil || built.Revision != strings.TrimSpace(string(head)) || built.Version == "devel" {
		t.Errorf("a build's version --output json = %s, %v; want revision %s and a version", out, err, head)
	}
}

// Every flag of serve has a variable, and the README's one list of them
// names each, and no other.
func TestEveryServeFlagHasAVariable(t *testing.T) {
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(readme), "<!-- serve's variables: a test compares this list with serve's flags -->")
	if !ok {
		t.Fatal("the README has no list of serve's variables")
	}
	list, _, _ = strings.Cut(list, "\n- ")
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("`(STREAMTOKEN_[A-Z_]+)`").FindAllStringSubmatch(list, -1) {
		listed[m[1]] = true
	}
	want := map[string]bool{envCrypto: true, envServeKEK: true}
	root := newRootCmd(env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }})
	serve, _, _ := root.Find([]string{"serve"})
	serve.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" {
			want[serveEnv(f.Name)] = true
		}
	})
	for name := range want {
		if !listed[name] {
			t.Errorf("the README's list of serve's variables lacks %s", name)
		}
	}
	for name := range listed {
		if !want[name] {
			t.Errorf("the README lists %s, which is no flag's", name)
		}
	}
	// A variable's value is checked as its flag's, and named.
	r := cli(t, map[string]string{"STREAMTOKEN_MAX_SIGNING_WAIT": "soon"}, "", "serve")
	if r.code != exitBadInput || errorLines(r.stderr) != 1 || !strings.Contains(r.stderr, "STREAMTOKEN_MAX_SIGNING_WAIT (for --max-signing-wait)") {
		t.Errorf("STREAMTOKEN_MAX_SIGNING_WAIT=soon serve: %v", r)
	}
	r = cli(t, map[string]string{"STREAMTOKEN_TOKEN_CACHE": "-1"}, "", "serve")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "--token-cache -1") {
		t.Errorf("STREAMTOKEN_TOKEN_CACHE=-1 serve: %v, want the flag's own refusal", r)
	}
}

// serve --help fits a screen: under 50 lines, the rest in the README;
// --keys-dir, the older name of --store dir:DIR, is taken but not shown.
func TestServeHelpIsShort(t *testing.T) {
	r := cli(t, nil, "", "serve", "--help")
	if n := strings.Count(r.stdout, "\n"); n >= 50 || r.code != 0 {
		t.Errorf("serve --help is %d lines (exit %d), want under 50", n, r.code)
	}
	if strings.Contains(r.stdout, "--keys-dir") {
		t.Errorf("serve --help shows --keys-dir, the older name of --store dir:DIR")
	}
}
