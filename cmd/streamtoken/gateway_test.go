package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/pgtest"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

// upstreamServe is serve, in a process of its own, playing Cloudflare's
// API for a gateway: it accepts replicaToken.
func upstreamServe(t *testing.T) *replica {
	t.Helper()
	return startServeProcess(t, "", "serve", "--addr", "127.0.0.1:0", "--api-token", replicaToken)
}

// gatewayServe is serve --upstream in a process of its own.
func gatewayServe(t *testing.T, bin string, up *replica, args ...string) *replica {
	t.Helper()
	return startServeProcess(t, bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--upstream", up.base + "/client/v4"}, args...)...)
}

// served counts the requests a serve process answered with status, on
// route (its pattern), by its /metrics.
func (r *replica) served(t *testing.T, route string, status int) int {
	t.Helper()
	resp, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	re := regexp.MustCompile(`^streamtoken_http_requests_total\{code="` + strconv.Itoa(status) + `",route="` + regexp.QuoteMeta(route) + `"\} (\d+)`)
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
	}
	return n
}

// The routes whose requests an upstream's /metrics counts.
var (
	keyRoute   = gen.CreateSigningKeyRoute.Method + " " + server.BasePath + gen.CreateSigningKeyRoute.Path
	tokenRoute = gen.CreateStreamTokenRoute.Method + " " + server.BasePath + gen.CreateStreamTokenRoute.Path
	listRoute  = gen.ListSigningKeysRoute.Method + " " + server.BasePath + gen.ListSigningKeysRoute.Path
)

// token asks a serve process for a token of the example video in
// account: the status, the token ("" for none) and the envelope.
func (r *replica) token(t *testing.T, account string) (int, string, map[string]any) {
	t.Helper()
	status, env := r.call(t, http.MethodPost, server.BasePath+gen.CreateStreamTokenPath(account, video), "")
	result, _ := env["result"].(map[string]any)
	tok, _ := result["token"].(string)
	if status != http.StatusOK {
		tok = ""
	}
	return status, tok, env
}

// mustToken is token's token, or the test's end.
func (r *replica) mustToken(t *testing.T, account string) string {
	t.Helper()
	status, tok, env := r.token(t, account)
	if tok == "" {
		t.Fatalf("a token of %s: %d %v", account, status, env)
	}
	return tok
}

// upstreamVerifies checks a token against the upstream's JWK set for the
// account.
func upstreamVerifies(t *testing.T, up *replica, account, tok string) error {
	t.Helper()
	resp, err := http.Get(up.base + "/.well-known/jwks/" + account + ".json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	keys, err := token.ParseJWKS(raw)
	if err != nil {
		t.Fatalf("the upstream's JWK set: %v", err)
	}
	v, err := token.NewVerifier(keys)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(tok)
	return err
}

func TestGatewayInFrontOfServe(t *testing.T) {
	up := upstreamServe(t)
	gw := gatewayServe(t, "", up)
	for i := range 50 {
		tok := gw.mustToken(t, account)
		if err := upstreamVerifies(t, up, account, tok); err != nil {
			t.Fatalf("token %d does not verify against the upstream's JWK set: %v", i, err)
		}
	}
	if keys, tokens := up.served(t, keyRoute, 200), up.served(t, tokenRoute, 200); keys != 1 || tokens != 1 {
		t.Errorf("for 50 tokens, the upstream created %d keys and answered %d token requests; want 1 and 1", keys, tokens)
	}
	// The rest is the upstream's: a video secured through the gateway is
	// secured there.
	if status, env := gw.call(t, http.MethodPost, server.BasePath+gen.EditVideoPath(account, video), `{"requireSignedURLs":true}`); status != 200 {
		t.Fatalf("a video edit through the gateway: %d %v", status, env)
	}
	if _, env := up.call(t, http.MethodGet, server.BasePath+gen.GetVideoPath(account, video), ""); env["result"].(map[string]any)["requireSignedURLs"] != true {
		t.Errorf("a video secured through the gateway is not secured at the upstream: %v", env)
	}
}

// TestTwoGatewayReplicasOnOnePostgreSQL: 40 concurrent first tokens of an
// account, on two gateways sharing a store, make one key at the upstream.
func TestTwoGatewayReplicasOnOnePostgreSQL(t *testing.T) {
	c := pgtest.New(t)
	db := c.Database(t)
	kekFile := newKEKFile(t, 0o600)
	up := upstreamServe(t)
	store := []string{"--store", c.URL(db), "--key-encryption-key", kekFile, "--store-timeout", "4s"}
	gws := []*replica{gatewayServe(t, "", up, store...), gatewayServe(t, "", up, store...)}
	accounts := []string{account, "11111111111111111111111111111111"}
	for _, acct := range accounts {
		var wg sync.WaitGroup
		toks := make(chan string, 40)
		for i := range 40 {
			wg.Go(func() {
				if status, tok, env := gws[i%2].token(t, acct); tok != "" {
					toks <- tok
				} else {
					t.Errorf("a first token of %s: %d %v", acct, status, env)
				}
			})
		}
		wg.Wait()
		close(toks)
		for tok := range toks {
			if err := upstreamVerifies(t, up, acct, tok); err != nil {
				t.Errorf("a token of %s does not verify against the upstream's JWK set: %v", acct, err)
			}
		}
	}
	if keys := up.served(t, keyRoute, 200); keys != len(accounts) {
		t.Errorf("40 concurrent first tokens of each of %d accounts on two gateways: the upstream created %d keys; want one per account", len(accounts), keys)
	}
}

// TestGatewayStreamsA200MBUpload: a basic upload of 200 MB (multipart)
// reaches the upstream whole, through a gateway built without -race whose
// memory grows far less than the body.
func TestGatewayStreamsA200MBUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and sends 200 MB: not with -short")
	}
	bin := filepath.Join(t.TempDir(), "streamtoken")
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	type received struct {
		bytes  int64
		sum    string
		status int
	}
	got := make(chan received, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		rec := received{bytes: n, sum: hex.EncodeToString(h.Sum(nil))}
		if err != nil || r.Method != http.MethodPost || r.URL.Path != server.BasePath+gen.ListVideosPath(account) || r.Header.Get("Authorization") != "Bearer "+replicaToken {
			rec.status = http.StatusBadRequest
		}
		got <- rec
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"success":true,"errors":[],"messages":[],"result":{"uid":%q}}`, video)
	}))
	defer upstream.Close()
	gw := startServeProcess(t, bin, "serve", "--addr", "127.0.0.1:0", "--upstream", upstream.URL+"/client/v4")
	rssBefore := procKB(t, gw.cmd.Process.Pid, "VmRSS")

	const size = 200 << 20
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	sent := sha256.New()
	go func() {
		part, err := mw.CreateFormFile("file", "video.mp4")
		if err == nil {
			chunk := make([]byte, 1<<20)
			for i := 0; i < size>>20 && err == nil; i++ {
				chunk[0] = byte(i)
				_, err = part.Write(chunk)
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	body := io.TeeReader(pr, sent)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, gw.base+server.BasePath+gen.ListVideosPath(account), body) // a basic upload: POST on the videos' path
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+replicaToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rec := <-got
	if resp.StatusCode != 200 || rec.status != 0 || rec.sum != hex.EncodeToString(sent.Sum(nil)) || rec.bytes < size {
		t.Errorf("the upload: %d %s; the upstream got %d bytes (%s...), status %d; want every byte sent", resp.StatusCode, answer, rec.bytes, rec.sum[:8], rec.status)
	}
	peak := procKB(t, gw.cmd.Process.Pid, "VmHWM")
	grew := peak - rssBefore
	t.Logf("gateway RSS before %d KiB, peak %d KiB: grew %d KiB for a %d MiB upload", rssBefore, peak, grew, size>>20)
	if grew > 32<<10 {
		t.Errorf("the gateway's RSS grew by %d MiB for a %d MiB upload; want under 32", grew>>10, size>>20)
	}
}

// procKB reads a field of /proc/PID/status in KiB.
func procKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestKeysImportIntoPostgreSQL: an operator's key file, imported sealed
// into the store, signs a gateway's tokens for the account: no key is
// created at the upstream.
func TestKeysImportIntoPostgreSQL(t *testing.T) {
	c := pgtest.New(t)
	db := c.Database(t)
	kekFile := newKEKFile(t, 0o600)
	dir := t.TempDir()
	keyFile, otherFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "other.pem")
	for _, f := range []string{keyFile, otherFile} {
		k, err := token.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		pemBytes, _ := k.PrivatePEM()
		if err := os.WriteFile(f, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"STREAMTOKEN_STORE": c.URL(db), "STREAMTOKEN_KEY_ENCRYPTION_KEY_FILE": kekFile}
	r := cli(t, env, "", "keys", "import", keyFile, "--account", account)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "imported ") {
		t.Fatalf("keys import: %v", r)
	}
	kid := strings.Fields(r.stdout)[1]
	kid = strings.TrimSuffix(kid, ":")
	if r := cli(t, env, "", "keys", "import", otherFile, "--account", account); r.code != exitBadInput || !strings.Contains(r.stderr, "has signing key "+kid) {
		t.Errorf("a second key for the account: %v; want exit 2, naming the key kept", r)
	}
	if r := cli(t, nil, "", "keys", "import", keyFile, "--account", account, "--store", "memory"); r.code != exitBadInput || !strings.Contains(r.stderr, "--store") {
		t.Errorf("into a memory store: %v; want exit 2 naming --store", r)
	}
	up := upstreamServe(t)
	gw := gatewayServe(t, "", up, "--store", c.URL(db), "--key-encryption-key", kekFile)
	// The first token is the upstream's (its authorization); the next
	// are signed here.
	gw.mustToken(t, account)
	for range 2 {
		if got := tokenKID(t, gw.mustToken(t, account)); got != kid {
			t.Errorf("a token signed here with key %s; want the imported %s", got, kid)
		}
	}
	if keys := up.served(t, keyRoute, 200); keys != 0 {
		t.Errorf("the upstream created %d keys; want none: the account's key was imported", keys)
	}
}

// tokenKID is the kid of a token's header.
func tokenKID(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	var h struct {
		Kid string `json:"kid"`
	}
	if err != nil || json.Unmarshal(raw, &h) != nil {
		t.Fatalf("a token's header does not decode: %v", err)
	}
	return h.Kid
}

// TestKeysRotate: keys rotate against the stand-in saves the new key and
// names the old; against a server that fails mid-way it leaves nothing:
// no file, no key at the API.
func TestKeysRotate(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	env := map[string]string{"CLOUDFLARE_API_TOKEN": srv.APIToken}
	old, next := filepath.Join(dir, "key1.json"), filepath.Join(dir, "key2.json")
	if r := cli(t, env, "", "keys", "create", "--account", account, "--out", old, "--base-url", srv.URL); r.code != 0 {
		t.Fatalf("keys create: %v", r)
	}
	oldID := strings.TrimSpace(cli(t, env, "", "keys", "list", "--account", account, "--base-url", srv.URL, "--output", "json").stdout)
	start := time.Now()
	r := cli(t, env, "", "keys", "rotate", "--account", account, "--key", old, "--out", next, "--base-url", srv.URL)
	if r.code != 0 {
		t.Fatalf("keys rotate: %v", r)
	}
	info, err := os.Stat(next)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the new key file: %v, %v; want mode 0600", info, err)
	}
	m := regexp.MustCompile(`old key:  ([0-9a-f]{32}): delete it at or after (\S+), once`).FindStringSubmatch(r.stdout)
	if m == nil || !strings.Contains(oldID, m[1]) {
		t.Fatalf("keys rotate printed %q; want the old key's ID (of %s) and a time", r.stdout, oldID)
	}
	at, err := time.Parse(time.RFC3339, m[2])
	if want := start.Add(24*time.Hour + 5*time.Minute); err != nil || at.Before(want.Add(-time.Second)) || at.After(time.Now().Add(24*time.Hour+5*time.Minute)) {
		t.Errorf("the old key may go at %v; want 24 h 5 min from now", at)
	}
	if !strings.Contains(r.stdout, "keys delete "+m[1]+" --account "+account+" --base-url "+srv.URL) {
		t.Errorf("keys rotate does not print the delete to run: %q", r.stdout)
	}
	if r := cli(t, env, "", "keys", "rotate", "--account", account, "--key", old, "--out", next, "--base-url", srv.URL); r.code != exitBadInput || !strings.Contains(r.stderr, "exists") {
		t.Errorf("keys rotate over an existing file: %v; want exit 2", r)
	}
	// A server that fails mid-way: nothing is left behind.
	fail := streamtokentest.InternalError()
	fail.Operation = "CreateSigningKey"
	srv.FailNext(1, fail)
	keysBefore := cli(t, env, "", "keys", "list", "--account", account, "--base-url", srv.URL).stdout
	third := filepath.Join(dir, "key3.json")
	if r := cli(t, env, "", "keys", "rotate", "--account", account, "--key", old, "--out", third, "--base-url", srv.URL); r.code != exitFailure {
		t.Errorf("keys rotate against a failing server: %v; want exit 1", r)
	}
	if _, err := os.Stat(third); !os.IsNotExist(err) {
		t.Errorf("a failed rotate left %s behind (%v)", third, err)
	}
	if after := cli(t, env, "", "keys", "list", "--account", account, "--base-url", srv.URL).stdout; after != keysBefore {
		t.Errorf("a failed rotate changed the account's keys:\n%s\nto\n%s", keysBefore, after)
	}
	if r := cli(t, env, "", "keys", "rotate", "--account", account, "--key", filepath.Join(dir, "nope.json"), "--out", third, "--base-url", srv.URL); r.code != exitBadInput || !strings.Contains(r.stderr, "--key") {
		t.Errorf("keys rotate of a missing old key: %v; want exit 2 naming --key, nothing created", r)
	}
	if _, err := os.Stat(third); !os.IsNotExist(err) {
		t.Errorf("a rotate refused for its --key left %s behind (%v)", third, err)
	}
}

// TestTwoGatewayReplicasSync: two gateways on one PostgreSQL, syncing
// every second: the upstream sees about one listing of the account's keys
// per second between them (the lease), not one per replica; a key deleted
// at the upstream is replaced, once, and both sign with the new one.
func TestTwoGatewayReplicasSync(t *testing.T) {
	c := pgtest.New(t)
	db := c.Database(t)
	kekFile := newKEKFile(t, 0o600)
	up := upstreamServe(t)
	args := []string{"--store", c.URL(db), "--key-encryption-key", kekFile, "--upstream-sync", "1s"}
	gws := []*replica{gatewayServe(t, "", up, args...), gatewayServe(t, "", up, args...)}
	tokenKID := func(r *replica) string {
		t.Helper()
		tok := r.mustToken(t, account)
		if err := upstreamVerifies(t, up, account, tok); err != nil {
			return "" // not (or no longer) a key of the upstream's
		}
		return tokenKID(t, tok)
	}
	for _, g := range gws {
		tokenKID(g) // the authorization, and the credential the sync uses
	}
	first := tokenKID(gws[0])
	if first == "" || tokenKID(gws[1]) != first {
		t.Fatal("the two gateways do not sign with one key of the upstream's")
	}
	before := up.served(t, listRoute, 200)
	start := time.Now()
	time.Sleep(4 * time.Second)
	lists := up.served(t, listRoute, 200) - before
	per := float64(lists) / time.Since(start).Seconds()
	t.Logf("two replicas syncing every second: %d listings in %v (%.1f a second)", lists, time.Since(start).Round(time.Millisecond), per)
	if per > 1.5 || lists == 0 {
		t.Errorf("two replicas syncing every second made %.1f listings a second; want about one between them", per)
	}
	if status, env := up.call(t, http.MethodDelete, server.BasePath+gen.DeleteSigningKeyPath(account, first), ""); status != 200 {
		t.Fatalf("deleting the key at the upstream: %d %v", status, env)
	}
	deleted := time.Now()
	within(t, "both gateways sign with a key that replaced the deleted one", 10*time.Second, func() bool {
		a, b := tokenKID(gws[0]), tokenKID(gws[1])
		return a != "" && a != first && a == b
	})
	t.Logf("a key deleted at the upstream: both replicas sign with its replacement after %v", time.Since(deleted).Round(10*time.Millisecond))
	if made := up.served(t, keyRoute, 200); made != 2 {
		t.Errorf("the upstream created %d keys; want 2: the first, and one replacement", made)
	}
}
