package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/streamtokentest"
)

// cliWithin runs the command line and fails the test if it takes longer
// than a generous bound: a FIFO or /dev/zero must not hang it.
func cliWithin(t *testing.T, environ map[string]string, stdin string, args ...string) result {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- cli(t, environ, stdin, args...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(30 * time.Second):
		t.Fatalf("streamtoken %s hangs", strings.Join(args, " "))
		return result{}
	}
}

// errorLines counts the lines of stderr that are the command's error, not
// a log line.
func errorLines(stderr string) int {
	n := 0
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "streamtoken: ") {
			n++
		}
	}
	return n
}

func TestFilesMustBeRegularAndSmall(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, account+".pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"sign", "--key", fifo, "--key-id", kid, "--video", video},
		{"sign", "--key", "/dev/zero", "--key-id", kid, "--video", video},
		{"sign", "--key", keyFile, "--key-id", kid, "--video", video, "--rules", "/dev/zero"},
		{"verify", seedToken, "--key", "/dev/zero"},
		{"verify", seedToken, "--jwks", "/dev/zero"},
		{"verify", seedToken, "--jwks", big},
		{"serve", "--addr", "127.0.0.1:0", "--signing-key", fifo},
		{"serve", "--addr", "127.0.0.1:0", "--credentials", "/dev/zero"},
		{"serve", "--addr", "127.0.0.1:0", "--keys-dir", dir},
	} {
		r := cliWithin(t, nil, "", args...)
		if r.code != exitBadInput || errorLines(r.stderr) != 1 || r.stdout != "" {
			t.Errorf("streamtoken %s: %v, want exit 2 with one line", strings.Join(args, " "), r)
		}
	}
	if r := cliWithin(t, nil, "", "verify", seedToken, "--jwks", big); !strings.Contains(r.stderr, "too large") {
		t.Errorf("a 2 MiB JWK set file: %v, want it called too large", r)
	}
}

func TestTokenFromStandardInput(t *testing.T) {
	r := cli(t, nil, "  "+seedToken+"\n", "inspect", "-")
	if r.code != 0 || !strings.Contains(r.stdout, `"sub": "`+video+`"`) {
		t.Errorf("inspect -: %v", r)
	}
	r = cli(t, nil, seedToken+"\n", "verify", "-", "--key", filepath.Join(testdata, "rsa2048.pem"))
	if r.code != exitInvalid { // a key that did not sign it: read, checked, refused
		t.Errorf("verify -: %v, want exit %d", r, exitInvalid)
	}
	if r := cli(t, nil, "", "inspect", "-"); r.code != exitBadInput || !strings.Contains(r.stderr, "standard input is empty") {
		t.Errorf("inspect - with nothing on stdin: %v", r)
	}
}

func TestJWKSURLPolicy(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testSigningKey(t)))
	defer srv.Close()
	jwks := strings.TrimSuffix(srv.URL, "/client/v4") + "/.well-known/jwks.json"
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/elsewhere":
			// localhost and 127.0.0.1 are one machine but two hosts.
			http.Redirect(w, r, strings.Replace(jwks, "127.0.0.1", "localhost", 1), http.StatusFound)
		case "/same-host":
			http.Redirect(w, r, "/big", http.StatusFound)
		case "/big":
			fmt.Fprintf(w, `{"keys":[],"pad":"%s"}`, strings.Repeat("x", 2<<20))
		}
	}))
	defer other.Close()
	tests := []struct {
		name, url string
		code      int
		want      string
	}{
		{"plain http beyond loopback", "http://jwks.example.com/.well-known/jwks.json", exitBadInput, "http is for loopback addresses only"},
		{"redirect to another host", other.URL + "/elsewhere", exitFailure, "refused a redirect to another host"},
		{"over 1 MiB after a same-host redirect", other.URL + "/same-host", exitFailure, "too large"},
	}
	for _, tt := range tests {
		r := cli(t, nil, "", "verify", seedToken, "--jwks", tt.url)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: %v, want exit %d saying %q", tt.name, r, tt.code, tt.want)
		}
	}
}

func TestEncryptedKeySaysSo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "enc.pem")
	pemText := "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n"
	if err := os.WriteFile(path, []byte(pemText), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, nil, "", "sign", "--key", path, "--key-id", kid, "--video", video)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "the key is encrypted: decrypt it first (openssl pkey") {
		t.Errorf("sign with an encrypted key: %v", r)
	}
}

func TestDotIDsAreRefusedBeforeSending(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testSigningKey(t)))
	defer srv.Close()
	environ := map[string]string{"CLOUDFLARE_API_TOKEN": srv.APIToken}
	for _, acct := range []string{"..", "."} {
		r := cli(t, environ, "", "create", "--account", acct, "--video", "..", "--base-url", srv.URL)
		if r.code != exitBadInput || !strings.Contains(r.stderr, "--account: must not be") {
			t.Errorf("create --account %s: %v", acct, r)
		}
	}
	if n := srv.Requests(); n != 0 {
		t.Errorf("the server got %d requests, want none", n)
	}
}

func TestSecondSignalEndsTheDrain(t *testing.T) {
	tests := []struct {
		name      string
		graceful  bool
		signals   int
		cancelled bool
		exitCode  int // 0: no exit
	}{
		{name: "during start-up: exit at once", signals: 1, exitCode: 128 + int(syscall.SIGTERM)},
		{name: "while serving: drain", graceful: true, signals: 1, cancelled: true},
		{name: "during the drain: exit at once", graceful: true, signals: 2, cancelled: true, exitCode: 128 + int(syscall.SIGTERM)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := make(chan os.Signal, 2)
			var graceful atomic.Bool
			graceful.Store(tt.graceful)
			var cancelled atomic.Bool
			exited := make(chan int, 1)
			var stderr syncBuffer
			go watchSignals(sigs, &graceful, func() { cancelled.Store(true) }, func(code int) { exited <- code }, &stderr)
			for range tt.signals {
				sigs <- syscall.SIGTERM
			}
			code := 0
			select {
			case code = <-exited:
			case <-time.After(300 * time.Millisecond): // long enough for a goroutine to act
			}
			close(sigs)
			if code != tt.exitCode || cancelled.Load() != tt.cancelled {
				t.Errorf("exit %d, cancelled %v; want exit %d, cancelled %v (stderr %q)", code, cancelled.Load(), tt.exitCode, tt.cancelled, stderr.String())
			}
		})
	}
}

func TestServeRefusesLoadFlagsOutOfBounds(t *testing.T) {
	for _, args := range [][]string{
		{"--max-connections", "-1"},
		{"--signing-workers", "-1"}, {"--signing-workers", "1025"},
		{"--max-signing-wait", "0s"}, {"--max-signing-wait", "2m"},
		{"--token-cache", "-1"}, {"--token-cache", "10000001"},
		{"--token-cache-bytes", "1024"}, {"--token-cache-bytes", "17179869185"},
	} {
		r := cli(t, nil, "", append([]string{"serve"}, args...)...)
		if r.code != exitBadInput || !strings.Contains(r.stderr, args[0]) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("serve %s: %v, want exit %d and one line naming the flag", strings.Join(args, " "), r, exitBadInput)
		}
	}
}

func TestManyViolationsAreCounted(t *testing.T) {
	ips := make([]string, 25)
	for i := range ips {
		ips[i] = fmt.Sprintf(`"x%d"`, i)
	}
	rules := `[{"type":"ip.src","action":"allow","ip":[` + strings.Join(ips, ",") + `]}]`
	r := cli(t, nil, rules, "sign", "--key", keyFile, "--key-id", kid, "--video", video, "--rules", "-")
	if r.code != exitBadInput || !strings.HasSuffix(strings.TrimSpace(r.stderr), "; and 5 more") || strings.Count(r.stderr, "not an IP address") != 20 {
		t.Errorf("25 bad addresses: %v, want 20 listed and 5 counted", r)
	}
}

// Beyond loopback without --public-url, the start log says that upload
// URLs come from the Host header, and recommends the flag.
func TestServeRecommendsAPublicURLBeyondLoopback(t *testing.T) {
	s := startServe(t, "--addr", "0.0.0.0:0")
	defer s.stop(t)
	if !strings.Contains(s.stderr.String(), "no --public-url") {
		t.Errorf("serve on 0.0.0.0 without --public-url logged no recommendation:\n%s", s.stderr.String())
	}
	withURL := startServe(t, "--addr", "0.0.0.0:0", "--public-url", "https://stream.example.com")
	defer withURL.stop(t)
	if strings.Contains(withURL.stderr.String(), "no --public-url") {
		t.Errorf("serve with --public-url recommended it:\n%s", withURL.stderr.String())
	}
}

// A command is bounded as a whole (--timeout), and says which bound ran
// out; a retry the server asks for past the bound is not waited for.
func TestCommandTimeout(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("busy") != "" || strings.Contains(r.URL.Path, "busy") {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	environ := map[string]string{"CLOUDFLARE_API_TOKEN": "timeout-test-token"}
	start := time.Now()
	r := cli(t, environ, "", "keys", "list", "--account", account, "--base-url", srv.URL+"/client/v4", "--timeout", "300ms")
	if r.code != exitFailure || !strings.Contains(r.stderr, "the command's --timeout of 300ms ran out") || time.Since(start) > 20*time.Second {
		t.Errorf("keys list against a server that never answers, --timeout 300ms: %v", r)
	}
	r = cli(t, environ, "", "videos", "show", "busy", "--account", account, "--base-url", srv.URL+"/client/v4", "--timeout", "2s")
	if r.code != exitFailure || !strings.Contains(r.stderr, "503") {
		t.Errorf("videos show against a 503 asking for 30 s, --timeout 2s: %v, want the 503 at once", r)
	}
	if r := cli(t, environ, "", "keys", "list", "--account", account, "--timeout", "-2s"); r.code != exitBadInput || !strings.Contains(r.stderr, "--timeout") {
		t.Errorf("--timeout -2s: %v", r)
	}
}
