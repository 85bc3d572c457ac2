package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

const (
	account  = "023e105f4ecef8ad9ca31a8372d0c353"
	video    = "ea95132c15732412d22c1476fa83f27a"
	kid      = "e9db990a82666dd571c77f944a5c5c8d"
	keyFile  = "../../token/testdata/rsa2048.pem"
	testdata = "../../token/testdata"
	// seedToken is the API reference's example token.
	seedToken = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImU5ZGI5OTBhODI2NjZkZDU3MWM3N2Y5NDRhNWM1YzhkIn0.eyJzdWIiOiJlYTk1MTMyYzE1NzMyNDEyZDIyYzE0NzZmYTgzZjI3YSIsImtpZCI6ImU5ZGI5OTBhODI2NjZkZDU3MWM3N2Y5NDRhNWM1YzhkIiwiZXhwIjoiMTUzNzQ2MDM2NSIsIm5iZiI6IjE1Mzc0NTMxNjUifQ.OZhqOARADn1iubK6GKcn25hN3nU-hCFF5q9w2C4yup0C4diG7aMIowiRpP-eDod8dbAJubsiFuTKrqPcmyCKWYsiv0TQueukqbQlF7HCO1TV-oF6El5-7ldJ46eD-ZQ0XgcIYEKrQOYFF8iDQbqPm3REWd6BnjKZdeVrLzuRaiSnZ9qqFpGu5dfxIY9-nZKDubJHqCr3Imtb211VIG_b9MdtO92JjvkDS-rxT_pkEfTZSafl1OU-98A7KBGtPSJHz2dHORIrUiTA6on4eIXTj9aFhGiir4rSn-rn0OjPRTtJMWIDMoQyE_fwrSYzB7MPuzL2t82BWaEbHZTfixBm5A"
)

// result is one run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command line in-process, with environ as its whole
// environment and stdin as its input.
func cli(t *testing.T, environ map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, env{
		stdin:  strings.NewReader(stdin),
		stdout: &stdout,
		stderr: &stderr,
		getenv: func(k string) string { return environ[k] },
	})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// String shows a run for a failure message, with the signature of every
// token cut off: test output never holds a usable token.
func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, unsigned(r.stdout), unsigned(r.stderr))
}

var tokenSignature = regexp.MustCompile(`(eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.)[A-Za-z0-9_-]+`)

func unsigned(s string) string { return tokenSignature.ReplaceAllString(s, "${1}[signature]") }

func TestSignThenVerify(t *testing.T) {
	r := cli(t, nil, "", "sign", "--key", keyFile, "--key-id", kid, "--video", video, "--exp", "2h", "--downloadable",
		"--rule", "block ip.geoip.country US,MX", "--rule", "allow ip.src 93.184.216.0/24,2400:cb00::/32", "--rule", "block any")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("sign: %v", r)
	}
	tok := strings.TrimSpace(r.stdout)
	if strings.Count(tok, ".") != 2 || strings.Contains(tok, "\n") {
		t.Fatalf("sign printed %q, want the token alone", unsigned(r.stdout))
	}
	d, err := token.Decode(tok)
	if err != nil || d.Claims.KeyID != kid || !d.Claims.Downloadable || len(d.Claims.AccessRules) != 3 {
		t.Fatalf("signed claims = %+v, %v", d, err)
	}
	if got := d.Claims.AccessRules[1].IP; len(got) != 2 || got[1] != "2400:cb00::/32" {
		t.Errorf("rule 1 ip = %q: a --rule value must not be split at commas into rules", got)
	}
	if ttl := time.Until(d.Claims.ExpiresAt); ttl < 119*time.Minute || ttl > 121*time.Minute {
		t.Errorf("exp is %v from now, want 2h", ttl)
	}

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "allowed by an ip rule", args: []string{"--ip", "93.184.216.34", "--country", "GB"}, wantCode: 0, wantOut: "allowed by rule 2 (of 3)"},
		{name: "IPv4-mapped IPv6 viewer", args: []string{"--ip", "::ffff:93.184.216.34"}, wantCode: 0, wantOut: "allowed by rule 2 (of 3)"},
		{name: "IPv6 viewer", args: []string{"--ip", "2400:cb00::1"}, wantCode: 0, wantOut: "allowed by rule 2 (of 3)"},
		{name: "blocked by country", args: []string{"--ip", "93.184.216.34", "--country", "us"}, wantCode: exitBlocked, wantOut: "blocked by rule 1 (of 3)"},
		{name: "blocked by the last rule", args: []string{"--ip", "198.51.100.1"}, wantCode: exitBlocked, wantOut: "blocked by rule 3 (of 3)"},
		{name: "expired", args: []string{"--at", "3h"}, wantCode: exitTime, wantOut: "token has expired"},
		{name: "not yet valid", args: []string{"--at", "-2h"}, wantCode: exitTime, wantOut: "not valid yet"},
		{name: "wrong key", args: []string{"--key", filepath.Join(testdata, "rsa3072.pem")}, wantCode: exitInvalid, wantOut: "signature is invalid"},
		{name: "public key", args: []string{"--key", filepath.Join(testdata, "rsa2048-public.pem"), "--ip", "93.184.216.1"}, wantCode: 0, wantOut: "valid (RS256"},
		{name: "json output", args: []string{"--ip", "93.184.216.34", "--output", "json"}, wantCode: 0, wantOut: `"allowed": true`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"verify", tok}, tt.args...) // flags after the token
			if !contains(tt.args, "--key") {
				args = append(args, "--key", keyFile)
			}
			r := cli(t, nil, "", args...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantOut) {
				t.Fatalf("verify: %v\nwant exit %d and %q", r, tt.wantCode, tt.wantOut)
			}
		})
	}
	tampered := tok[:len(tok)-4] + "AAAA"
	if r := cli(t, nil, "", "verify", tampered, "--key", keyFile); r.code != exitInvalid {
		t.Errorf("verify(tampered): %v, want exit %d", r, exitInvalid)
	}
	if r := cli(t, nil, "", "verify", "not-a-token", "--key", keyFile); r.code != exitInvalid || !strings.Contains(r.stdout, "malformed") {
		t.Errorf("verify(garbage): %v, want exit %d", r, exitInvalid)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestInspectSeedToken(t *testing.T) {
	r := cli(t, nil, "", "inspect", seedToken)
	if r.code != 0 {
		t.Fatalf("inspect: %v", r)
	}
	for _, want := range []string{"NOT VERIFIED", `"alg": "RS256"`, `"sub": "ea95132c15732412d22c1476fa83f27a"`, `"exp": "1537460365"`,
		"exp:     1537460365 (2018-09-20T16:19:25Z)", "nbf:     1537453165 (2018-09-20T14:19:25Z)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = cli(t, nil, "", "inspect", "--output", "json", seedToken)
	var got struct {
		Verified  bool   `json:"verified"`
		ExpiresAt string `json:"expires_at"`
		Claims    struct {
			Sub string `json:"sub"`
		} `json:"claims"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Verified || got.ExpiresAt != "2018-09-20T16:19:25Z" || got.Claims.Sub != video {
		t.Errorf("inspect --output json = %s (%v)", r.stdout, err)
	}
}

func TestCreateAgainstTheTokenServer(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testSigningKey(t)))
	defer srv.Close()
	environ := map[string]string{"CLOUDFLARE_API_TOKEN": srv.APIToken}
	rulesJSON := `[{"type":"ip.src","action":"allow","ip":["10.0.0.0/8","2001:db8::/32"]},{"type":"any","action":"block"}]`
	tests := []struct {
		name  string
		stdin string
		args  []string
		check func(t *testing.T, c *token.Claims)
	}{
		{
			name: "every token flag",
			args: []string{"--exp", time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339), "--nbf", "-5m", "--downloadable",
				"--rule", "block ip.geoip.country US,MX", "--rule", "allow ip.src 93.184.216.0/24,2400:cb00::/32", "--rule", "block any"},
			check: func(t *testing.T, c *token.Claims) {
				if !c.Downloadable || len(c.AccessRules) != 3 || c.AccessRules[0].Country[1] != "MX" {
					t.Errorf("claims = %+v", c)
				}
				if ttl := time.Until(c.ExpiresAt); ttl < 179*time.Minute || ttl > 181*time.Minute {
					t.Errorf("exp in %v, want 3h", ttl)
				}
				if ago := time.Since(c.NotBefore); ago < 4*time.Minute || ago > 6*time.Minute {
					t.Errorf("nbf %v ago, want 5m", ago)
				}
			},
		},
		{
			name:  "rules from stdin",
			stdin: rulesJSON,
			args:  []string{"--rules", "-"},
			check: func(t *testing.T, c *token.Claims) {
				if len(c.AccessRules) != 2 || c.AccessRules[0].IP[0] != "10.0.0.0/8" {
					t.Errorf("claims = %+v", c)
				}
			},
		},
		{
			name: "defaults",
			check: func(t *testing.T, c *token.Claims) {
				if c.Downloadable || len(c.AccessRules) != 0 || time.Until(c.ExpiresAt) > 61*time.Minute {
					t.Errorf("claims = %+v, want the defaults", c)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"create", "--account", account, "--video", video, "--base-url", srv.URL}, tt.args...)
			r := cli(t, environ, tt.stdin, args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("create: %v", r)
			}
			claims, err := srv.Verify(account, strings.TrimSpace(r.stdout))
			if err != nil {
				t.Fatalf("the created token does not verify: %v", err)
			}
			tt.check(t, claims)
		})
	}

	// With --key-id and --send-key the server signs with that key (--pem, its older name, still works: tenancy_test).
	r := cli(t, environ, "", "create", "--account", account, "--video", video, "--base-url", srv.URL, "--key-id", kid, "--send-key", keyFile, "--output", "json", "--customer-code", "f33zs165nr7gyfy4")
	if r.code != 0 {
		t.Fatalf("create --send-key: %v", r)
	}
	var out tokenOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if v := cli(t, nil, "", "verify", out.Token, "--key", keyFile); v.code != 0 {
		t.Errorf("a token signed with --send-key does not verify with that key: %v", v)
	}
	var claims struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(out.Claims, &claims)
	if out.URLs == nil || !strings.HasSuffix(out.URLs.DASH, out.Token+"/manifest/video.mpd") || claims.Kid != kid {
		t.Errorf("create --output json = %s", r.stdout)
	}

	// With --key, create signs here: no credentials, no request, a token
	// of that key.
	before := srv.Requests()
	r = cli(t, nil, "", "create", "--account", account, "--video", video, "--key", keyFile, "--key-id", kid, "--rule", "block any")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("create --key: %v", r)
	}
	if c, err := srv.Verify(account, strings.TrimSpace(r.stdout)); err != nil || c.KeyID != kid || len(c.AccessRules) != 1 {
		t.Errorf("create --key: claims %+v, %v; want a token of %s with the rule", c, err, kid)
	}
	if n := srv.Requests() - before; n != 0 {
		t.Errorf("create --key sent %d requests", n)
	}

	// API failures: the envelope's code and message, exit 1.
	srv.FailNext(1, streamtokentest.Failure{Status: http.StatusNotFound, Code: 10003, Message: "video not found"})
	r = cli(t, environ, "", "create", "--account", account, "--video", video, "--base-url", srv.URL)
	if r.code != exitFailure || !strings.Contains(r.stderr, "10003 video not found") || r.stdout != "" {
		t.Errorf("create against a failing server: %v", r)
	}
	r = cli(t, map[string]string{"CLOUDFLARE_API_TOKEN": "wrong"}, "", "create", "--account", account, "--video", video, "--base-url", srv.URL)
	if r.code != exitFailure || !strings.Contains(r.stderr, "10000 Authentication error") {
		t.Errorf("create with a wrong token: %v", r)
	}
	if strings.Contains(r.stderr, srv.APIToken) {
		t.Error("stderr shows the API token")
	}
}

func TestBadInputIsOneLine(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testSigningKey(t)))
	defer srv.Close()
	environ := map[string]string{"CLOUDFLARE_API_TOKEN": srv.APIToken}
	sign := func(extra ...string) []string {
		return append([]string{"sign", "--key", keyFile, "--key-id", kid, "--video", video}, extra...)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // in the one line on stderr
	}{
		{name: "bad duration", args: sign("--exp", "soonish"), want: `--exp "soonish"`},
		{name: "bad rule syntax", args: sign("--rule", "allow"), want: `--rule "allow": want "ACTION TYPE [VALUES]"`},
		{name: "unknown action", args: sign("--rule", "deny any"), want: `unknown action "deny"`},
		{name: "unknown type", args: sign("--rule", "block ip.dst 1.2.3.4"), want: `unknown type "ip.dst"`},
		{name: "bad CIDR", args: sign("--rule", "allow ip.src 10.0.0.0/8,10.0.0.0/33"), want: `"10.0.0.0/33" is not an IP address or CIDR`},
		{name: "3-letter country", args: sign("--rule", "block ip.geoip.country USA"), want: `"USA" is not an assigned ISO 3166-1 alpha-2 country code`},
		{name: "missing key", args: []string{"sign", "--key", "no-such-key.pem", "--key-id", kid, "--video", video}, want: "--key: stat no-such-key.pem: no such file or directory"},
		{name: "short RSA key", args: []string{"sign", "--key", filepath.Join(testdata, "rsa1024.pem"), "--key-id", kid, "--video", video}, want: "RSA key shorter than 2048 bits"},
		{name: "non-RSA key", args: []string{"sign", "--key", filepath.Join(testdata, "ec-p256.pem"), "--key-id", kid, "--video", video}, want: "not an RSA key"},
		{name: "exp beyond 24h", args: sign("--exp", "48h"), want: "--exp: must be at most 24h after now"},
		{name: "exp beyond 24h, create", env: environ, args: []string{"create", "--account", account, "--video", video, "--base-url", srv.URL, "--exp", "48h"}, want: "--exp: must be at most 24h after now"},
		{name: "id without pem", env: environ, args: []string{"create", "--account", account, "--video", video, "--base-url", srv.URL, "--key-id", kid}, want: "--key-id: needs --send-key or --key"},
		{name: "no key ID", args: []string{"sign", "--key", keyFile, "--video", video}, want: "--key-id: no key ID"},
		{name: "video too long", args: sign("--video", strings.Repeat("v", 33)), want: "--video: must be at most 32 characters"},
		{name: "rules and rule", args: sign("--rules", "x.json", "--rule", "block any"), want: "--rules and --rule"},
		{name: "values without commas", args: sign("--rule", "allow ip.src 10.0.0.0/8 192.168.0.0/16"), want: `separate values with commas`},
		{name: "a dot segment as video", args: sign("--video", ".."), want: `--video: must not be ".."`},
		{name: "a slash in the video", args: sign("--video", "a/b"), want: `--video: must not contain "/"`},
		{name: "customer code of 55", args: sign("--customer-code", strings.Repeat("a", 55)), want: "--customer-code: " + `"` + strings.Repeat("a", 48)},
		{name: "customer code in capitals", args: sign("--customer-code", "ABC"), want: "customer code must be 1 to 54 lowercase letters and digits"},
		{name: "unknown flag", args: sign("--expires", "1h"), want: "unknown flag: --expires"},
		{name: "missing video", args: []string{"sign", "--key", keyFile, "--key-id", kid}, want: `VIDEO: required (the video's ID, as the argument or --video)`},
		{name: "no credentials", args: []string{"create", "--account", account, "--video", video}, want: "no credentials: set CLOUDFLARE_API_TOKEN"},
		{name: "bad ip to verify", args: []string{"verify", seedToken, "--key", keyFile, "--ip", "300.1.1.1"}, want: `--ip "300.1.1.1"`},
		{name: "bad output", args: sign("--output", "yaml"), want: `"yaml" for "--output" flag: want text or json`},
		{name: "inspect garbage", args: []string{"inspect", "garbage"}, want: "TOKEN: malformed token"},
		{name: "verify without a key", args: []string{"verify", seedToken}, want: "--key, --jwks or --account: one is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.env, "", tt.args...)
			if r.code != exitBadInput {
				t.Errorf("exit %d, want %d", r.code, exitBadInput)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "streamtoken: ") {
				t.Errorf("stderr = %q, want one line", r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.want)
			}
		})
	}
}

func TestRulesFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rules.json")
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(good, []byte(`[{"type":"ip.geoip.country","action":"block","country":["US"]},{"type":"any","action":"allow"}]`), 0o600)
	_ = os.WriteFile(bad, []byte(`[{"type":"ip.src","action":"allow","ip":["10.0.0.0/8"],"countries":["US"]}]`), 0o600)
	r := cli(t, nil, "", "sign", "--key", keyFile, "--key-id", kid, "--video", video, "--rules", good)
	if r.code != 0 {
		t.Fatalf("sign --rules: %v", r)
	}
	if d, _ := token.Decode(strings.TrimSpace(r.stdout)); len(d.Claims.AccessRules) != 2 {
		t.Errorf("rules = %+v", d.Claims.AccessRules)
	}
	r = cli(t, nil, "", "sign", "--key", keyFile, "--key-id", kid, "--video", video, "--rules", bad)
	if r.code != exitBadInput || !strings.Contains(r.stderr, `unknown field "countries"`) {
		t.Errorf("sign --rules with an unknown field: %v", r)
	}
}

func TestHelpAndVersion(t *testing.T) {
	r := cli(t, nil, "", "--version")
	if r.code != 0 || !strings.Contains(r.stdout, "streamtoken version") {
		t.Errorf("--version: %v", r)
	}
	for _, cmd := range []string{"create", "sign", "verify", "inspect", "serve"} {
		r := cli(t, nil, "", cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "streamtoken "+cmd) {
			t.Errorf("%s --help: %v", cmd, r)
		}
	}
	if r := cli(t, nil, "", "completion", "bash"); r.code != 0 || !strings.Contains(r.stdout, "bash completion") {
		t.Errorf("completion bash: exit %d", r.code)
	}
}

// syncBuffer is an io.Writer that a test may read while serve writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serving is a serve command running in the test.
type serving struct {
	stdout, stderr *syncBuffer
	apiToken, url  string // from the printed curl command
	cancel         context.CancelFunc
	done           chan int
}

// startServe runs serve with args after --addr 127.0.0.1:0, and waits
// for its curl command.
func startServe(t *testing.T, args ...string) *serving {
	t.Helper()
	s := &serving{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1)}
	var ctx context.Context
	ctx, s.cancel = context.WithCancel(context.Background())
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), env{stdin: strings.NewReader(""), stdout: s.stdout, stderr: s.stderr, getenv: func(string) string { return "" }})
	}()
	curl := regexp.MustCompile(`curl -sS -X POST -H "Authorization: Bearer (\S+)" (\S+)`)
	var m []string
	for deadline := time.Now().Add(20 * time.Second); m == nil; {
		if time.Now().After(deadline) {
			s.cancel()
			t.Fatalf("serve printed no curl command; stdout %q stderr %q", s.stdout.String(), s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
		m = curl.FindStringSubmatch(s.stdout.String())
	}
	s.apiToken, s.url = m[1], m[2]
	return s
}

// token asks the server for a token, as its curl command does.
func (s *serving) token(t *testing.T) string {
	t.Helper()
	tok, status := s.tokenAt(t, s.url)
	if status != 200 || tok == "" {
		t.Fatalf("the printed curl command got %d", status)
	}
	return tok
}

// tokenAt asks the server for a token at url, with its API token, and
// returns it (or "") and the answer's status.
func (s *serving) tokenAt(t *testing.T, url string) (string, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Result struct{ Token string } `json:"result"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	return env.Result.Token, resp.StatusCode
}

// stop ends serve as a signal would and returns its exit code.
func (s *serving) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
		return -1
	}
}

func TestServe(t *testing.T) {
	s := startServe(t, "--signing-key", keyFile, "--signing-key-id", kid)
	stdout, stderr, apiToken, url := s.stdout, s.stderr, s.apiToken, s.url
	tok := s.token(t)
	// One key for every account of a credential that may use any: said.
	if !strings.Contains(stderr.String(), "level=WARN msg=\"--signing-key signs the tokens of every account") {
		t.Errorf("serve --signing-key with an unscoped credential did not warn that one key signs every account:\n%s", stderr.String())
	}
	// The account's set, as printed, and as verify --account finds it.
	jwks := regexp.MustCompile(`\S+/\.well-known/jwks/` + account + `\.json`).FindString(stdout.String())
	if r := cli(t, nil, "", "verify", tok, "--jwks", jwks); jwks == "" || r.code != 0 {
		t.Errorf("verify --jwks %q (printed): %v", jwks, r)
	}
	base := url[:strings.Index(url, "/accounts/")]
	if r := cli(t, nil, "", "verify", tok, "--account", account, "--base-url", base); r.code != 0 {
		t.Errorf("verify --account %s --base-url %s: %v", account, base, r)
	}
	if code := s.stop(t); code != 0 {
		t.Errorf("serve exited %d after the signal, want 0; stderr %q", code, stderr.String())
	}
	logs := stderr.String()
	if strings.Contains(logs, apiToken) || strings.Contains(logs, tok) {
		t.Error("the log holds the API token or the token")
	}
	if !strings.Contains(logs, "msg=serving") || !strings.Contains(logs, "key_id="+kid) || !strings.Contains(logs, "status=200") {
		t.Errorf("log = %q, want the key's ID and the request", logs)
	}
	sc := bufio.NewScanner(strings.NewReader(stdout.String()))
	n := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), apiToken) {
			n++
		}
	}
	if n != 2 { // the token line and the curl line
		t.Errorf("stdout shows the API token on %d lines, want 2", n)
	}
}

func TestRuleValuesMayHaveSpacesAfterCommas(t *testing.T) {
	for _, rule := range []string{
		"allow ip.src 10.0.0.0/8, 192.168.0.0/16",
		"allow ip.src 10.0.0.0/8 ,192.168.0.0/16",
		"allow  ip.src  10.0.0.0/8,  192.168.0.0/16 ",
		"allow ip.src 10.0.0.0/8,192.168.0.0/16,",
	} {
		r := cli(t, nil, "", "sign", "--key", keyFile, "--key-id", kid, "--video", video, "--rule", rule)
		if r.code != 0 {
			t.Errorf("--rule %q: %v", rule, r)
			continue
		}
		d, err := token.Decode(strings.TrimSpace(r.stdout))
		if err != nil || len(d.Claims.AccessRules) != 1 || strings.Join(d.Claims.AccessRules[0].IP, " ") != "10.0.0.0/8 192.168.0.0/16" {
			t.Errorf("--rule %q: claims %+v, %v", rule, d.Claims, err)
		}
	}
}

// With --customer-code, text output is what --help says: the token on the
// first line, then one NAME URL line per signed URL.
func TestSignTextOutputMatchesItsHelp(t *testing.T) {
	code := strings.Repeat("c", 54) // the longest code
	r := cli(t, nil, "", "sign", "--key", keyFile, "--key-id", kid, "--video", video, "--customer-code", code)
	if r.code != 0 {
		t.Fatalf("sign --customer-code: %v", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d lines, want the token and 6 URLs:\n%s", len(lines), unsigned(r.stdout))
	}
	tok := lines[0]
	if _, err := token.Decode(tok); err != nil || strings.ContainsAny(tok, " \t") {
		t.Errorf("line 1 is not the token alone: %v", err)
	}
	for i, name := range []string{"iframe", "watch", "hls", "dash", "thumbnail", "download"} {
		f := strings.Fields(lines[i+1])
		if len(f) != 2 || f[0] != name || !strings.HasPrefix(f[1], "https://customer-"+code+".cloudflarestream.com/"+tok+"/") {
			t.Errorf("line %d = %q, want %s and its URL", i+2, unsigned(lines[i+1]), name)
		}
	}
	help := cli(t, nil, "", "sign", "--help")
	if !strings.Contains(help.stdout, "with --customer-code, then one line per signed URL") {
		t.Errorf("sign --help does not say what text output holds:\n%s", help.stdout)
	}
}

// testSigningKey is the key of keyFile, for fake servers: tests generate
// no RSA keys.
func testSigningKey(t *testing.T) *token.Key { return testkey.Load(t, "rsa2048.pem", kid) }

func TestServeTokenCacheFlag(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		lookups string
	}{
		{nil, "2"},                            // on by default: both requests asked the cache
		{[]string{"--token-cache", "0"}, "0"}, // off: neither did
	} {
		s := startServe(t, tt.args...)
		s.token(t)
		s.token(t)
		resp, err := http.Get(s.url[:strings.Index(s.url, server.BasePath)] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		hits := regexp.MustCompile(`(?m)^streamtoken_token_cache_lookups_total\{result="(?:hit|miss)"\} (\d+)$`).FindAllStringSubmatch(string(b), -1)
		total := 0
		for _, h := range hits {
			n, _ := strconv.Atoi(h[1])
			total += n
		}
		if strconv.Itoa(total) != tt.lookups {
			t.Errorf("serve %v: %d cache lookups after two tokens, want %s", tt.args, total, tt.lookups)
		}
		if code := s.stop(t); code != 0 {
			t.Errorf("serve %v exited %d", tt.args, code)
		}
	}
}

// The root command's help lists every command it has, once.
func TestRootHelpListsEveryCommandOnce(t *testing.T) {
	r := cli(t, nil, "", "--help")
	root := newRootCmd(env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }})
	for _, c := range root.Commands() {
		if c.Hidden {
			continue
		}
		if n := strings.Count(r.stdout, "\n  "+c.Name()+" "); n != 1 {
			t.Errorf("streamtoken --help lists %s %d times, want once:\n%s", c.Name(), n, r.stdout)
		}
	}
}

// The hints serve prints run as they are printed: by the path the
// command was started by (make run's ./bin/streamtoken), else by name.
func TestSelfName(t *testing.T) {
	for arg0, want := range map[string]string{"./bin/streamtoken": "./bin/streamtoken", "/usr/local/bin/streamtoken": "/usr/local/bin/streamtoken", "streamtoken": "streamtoken"} {
		if got := selfName(arg0); got != want {
			t.Errorf("selfName(%q) = %q, want %q", arg0, got, want)
		}
	}
	out := &syncBuffer{}
	e := env{stdin: strings.NewReader(""), stdout: out, stderr: io.Discard, getenv: func(string) string { return "" }, self: "./bin/streamtoken"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, e) }()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "keys create"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			break
		}
	}
	cancel()
	<-done
	if !strings.Contains(out.String(), "\n  ./bin/streamtoken keys create --account") {
		t.Errorf("serve started as ./bin/streamtoken prints hints of another command:\n%s", out.String())
	}
}

// --account-key signs one account's tokens with the key given (a key
// created at Cloudflare makes them play there); the other accounts keep
// keys of their own, and the variable takes the same list. The server
// says it is a stand-in.
func TestServeAccountKey(t *testing.T) {
	const other = "9a7806061c88ada191ed06f989cc3dac"
	s := startServe(t, "--account-key", account+"="+keyFile)
	defer s.stop(t)
	kidOf := func(tok string) string {
		head, _, _ := strings.Cut(tok, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(head)
		var h struct {
			Kid string `json:"kid"`
		}
		_ = json.Unmarshal(raw, &h)
		return h.Kid
	}
	mine := kidOf(s.token(t))
	want, err := store.LoadKey(keyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	if mine != want.ID {
		t.Errorf("the account's token is signed by %q, want its --account-key's %q", mine, want.ID)
	}
	tok, status := s.tokenAt(t, strings.Replace(s.url, account, other, 1))
	if theirs := kidOf(tok); status != 200 || theirs == "" || theirs == mine {
		t.Errorf("another account's token: %d, signed by %q; want a key of its own", status, theirs)
	}
	// What it is, said in its banner and on every answer.
	if !strings.Contains(s.stdout.String(), "a stand-in for Cloudflare's API") {
		t.Errorf("serve's banner does not say it is a stand-in:\n%s", s.stdout.String())
	}
	health, err := http.Get(s.url[:strings.Index(s.url, "/client/v4")] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	health.Body.Close()
	if got := health.Header.Get("Streamtoken-Mode"); got != "stand-in" {
		t.Errorf("serve's answers carry Streamtoken-Mode %q, want stand-in", got)
	}
	// The variable: a list, each checked as the flag is.
	r := cli(t, map[string]string{"STREAMTOKEN_ACCOUNT_KEYS": account + "=" + keyFile + ",x"}, "", "serve", "--addr", "127.0.0.1:0")
	if r.code != exitBadInput || !strings.Contains(r.stderr, "--account-key") {
		t.Errorf("STREAMTOKEN_ACCOUNT_KEYS with a bad entry: %v", r)
	}
}
