package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/internal/pgtest"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

// argsVar, when set, makes the test binary run the command line with
// these arguments (JSON) instead of the tests: a real process to kill.
const argsVar = "STREAMTOKEN_TEST_ARGS"

func TestMain(m *testing.M) {
	// The README's walk-throughs run this binary as "streamtoken".
	if os.Getenv(readmeChild) == "1" && filepath.Base(os.Args[0]) == "streamtoken" {
		main()
		return
	}
	if args := os.Getenv(argsVar); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			panic(err)
		}
		os.Args = append([]string{"streamtoken"}, a...)
		main()
		return
	}
	os.Exit(pgtest.Main(m))
}

func TestKeysCommands(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testSigningKey(t)))
	defer srv.Close()
	environ := map[string]string{"CLOUDFLARE_API_TOKEN": srv.APIToken}
	api := []string{"--account", account, "--base-url", srv.URL}
	dir := t.TempDir()
	out := filepath.Join(dir, "key.json")

	r := cli(t, environ, "", append([]string{"keys", "create", "--out", out}, api...)...)
	if r.code != 0 {
		t.Fatalf("keys create: %v", r)
	}
	id := strings.TrimSpace(r.stdout)
	if len(id) != 32 || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("keys create printed %q, want the key's ID alone", r.stdout)
	}
	info, err := os.Stat(out)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("--out: %v, %v; want a file of mode 0600", info, err)
	}
	saved, _ := os.ReadFile(out)
	if k, err := token.ParsePrivateKey(saved); err != nil || k.ID != id {
		t.Errorf("the saved key parses as %v, %v; want the key %s", k, err, id)
	}

	// Never over an existing file; the file is left as it was.
	r = cli(t, environ, "", append([]string{"keys", "create", "--out", out}, api...)...)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "the file exists") {
		t.Errorf("keys create over a file: %v", r)
	}
	if again, _ := os.ReadFile(out); string(again) != string(saved) {
		t.Error("keys create changed an existing file")
	}

	// sign reads the saved key with its kid; the server's JWK set vouches
	// for it until it is deleted.
	r = cli(t, nil, "", "sign", "--key", out, "--video", video)
	if r.code != 0 {
		t.Fatalf("sign --key %s: %v", out, r)
	}
	tok := strings.TrimSpace(r.stdout)
	if d, _ := token.Decode(tok); d == nil || d.Header["kid"] != id {
		t.Fatalf("the token's kid is not the key's ID %s", id)
	}
	if r := cli(t, nil, "", "verify", tok, "--jwks", srv.JWKSURL(account)); r.code != 0 {
		t.Errorf("verify --jwks before the delete: %v", r)
	}
	if r := cli(t, nil, "", "verify", tok, "--account", account, "--base-url", srv.URL); r.code != 0 {
		t.Errorf("verify --account before the delete: %v", r)
	}

	r = cli(t, environ, "", append([]string{"keys", "list"}, api...)...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ID") || !strings.Contains(r.stdout, id) {
		t.Errorf("keys list: %v", r)
	}
	r = cli(t, environ, "", append([]string{"keys", "list", "--output", "json"}, api...)...)
	var listed []streamtoken.SigningKeyInfo
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &listed) != nil || len(listed) != 1 || listed[0].ID != id || listed[0].Created.IsZero() {
		t.Errorf("keys list --output json: %v", r)
	}

	if r := cli(t, environ, "", append([]string{"keys", "delete", id}, api...)...); r.code != 0 || r.stdout != "deleted "+id+"\n" {
		t.Errorf("keys delete: %v", r)
	}
	if r := cli(t, nil, "", "verify", tok, "--jwks", srv.JWKSURL(account)); r.code != exitInvalid || !strings.Contains(r.stderr, "unknown key") {
		t.Errorf("verify --jwks after the delete: %v, want exit %d", r, exitInvalid)
	}
	r = cli(t, environ, "", append([]string{"keys", "list", "--output", "json"}, api...)...)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("keys list after the delete: %v, want []", r)
	}

	for name, tt := range map[string]struct {
		env  map[string]string
		args []string
		code int
		want string
	}{
		"delete an unknown key": {environ, append([]string{"keys", "delete", id}, api...), exitFailure, "1010"},
		"a dot account":         {environ, []string{"keys", "list", "--account", "..", "--base-url", srv.URL}, exitBadInput, `--account: must not be ".."`},
		"a slash key":           {environ, append([]string{"keys", "delete", "a/b"}, api...), exitBadInput, `KEY_ID: must not contain "/"`},
		"no credentials":        {nil, append([]string{"keys", "list"}, api...), exitBadInput, "no credentials"},
		"no --out":              {environ, append([]string{"keys", "create"}, api...), exitBadInput, `"out" not set`},
		"a bad --output":        {environ, append([]string{"keys", "list", "--output", "yaml"}, api...), exitBadInput, `"yaml" for "--output" flag: want text or json`},
		"wrong credentials":     {map[string]string{"CLOUDFLARE_API_TOKEN": "wrong"}, append([]string{"keys", "list"}, api...), exitFailure, "10000"},
	} {
		t.Run(name, func(t *testing.T) {
			r := cli(t, tt.env, "", tt.args...)
			if r.code != tt.code || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("%v, want exit %d and one line with %q", r, tt.code, tt.want)
			}
		})
	}
	// A create that fails leaves no file behind.
	failed := filepath.Join(dir, "failed.json")
	r = cli(t, map[string]string{"CLOUDFLARE_API_TOKEN": "wrong"}, "", append([]string{"keys", "create", "--out", failed}, api...)...)
	if _, err := os.Stat(failed); r.code == 0 || err == nil {
		t.Errorf("a failed create: %v; the file exists: %v", r, err == nil)
	}
}

// A server killed with SIGKILL right after a create finds the key again
// when it restarts on the same --keys-dir.
func TestKeysDirSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	start := func() (*exec.Cmd, string) {
		args, _ := json.Marshal([]string{"serve", "--addr", "127.0.0.1:0", "--api-token", "restart-token", "--keys-dir", dir,
			"--signing-key", keyFile, "--signing-key-id", kid})
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), argsVar+"="+string(args))
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		urls := make(chan string, 1)
		go func() {
			re := regexp.MustCompile(`msg=serving url=(\S+)`)
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					urls <- m[1]
				}
			}
		}()
		select {
		case u := <-urls:
			return cmd, u
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("the server did not start")
		}
		return nil, ""
	}
	client := func(base string) *streamtoken.Client {
		c, err := streamtoken.NewClient(streamtoken.WithAPIToken("restart-token"), streamtoken.WithBaseURL(base))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	first, base := start()
	key, err := client(base).CreateSigningKey(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	second, base := start()
	defer func() {
		_ = second.Process.Signal(syscall.SIGKILL)
		_ = second.Wait()
	}()
	list, err := client(base).ListSigningKeys(ctx, account)
	if err != nil || len(list) != 1 || list[0].ID != key.ID || !list[0].Created.Equal(key.Created) {
		t.Fatalf("after SIGKILL and a restart: %+v, %v; want key %s", list, err, key.ID)
	}
	jwks, err := streamtoken.KeySetURL(base, account)
	if err != nil {
		t.Fatal(err)
	}
	set, err := streamtoken.NewKeySet(jwks)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := token.NewSigner(key.Key)
	tok, _, _ := signer.Sign(token.Request{VideoID: video})
	if _, err := set.Verify(ctx, tok); err != nil {
		t.Errorf("a token of the key, after the restart: %v", err)
	}
}
