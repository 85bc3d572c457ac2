package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/internal/pgtest"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/token"
)

// replica is a serve process on a PostgreSQL store.
type replica struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	logs *syncBuffer
}

const replicaToken = "replica-token"

// startReplica runs serve in a process of its own (the test binary, as
// the command line) with args after the store's.
func startReplica(t *testing.T, store, kekFile string) *replica {
	t.Helper()
	// A store timeout that 40 creates waiting on one account's lock, on a
	// busy machine, stay within; a stopped database refuses at once.
	return startServeProcess(t, "", "serve", "--addr", "127.0.0.1:0", "--api-token", replicaToken,
		"--store", store, "--key-encryption-key", kekFile, "--store-timeout", "4s")
}

// startServeProcess runs a command line that serves in a process of its
// own: bin's, or (bin "") the test binary's, and waits for its URL.
func startServeProcess(t *testing.T, bin string, argv ...string) *replica {
	t.Helper()
	r := &replica{logs: &syncBuffer{}}
	if bin == "" {
		args, _ := json.Marshal(argv)
		r.cmd = exec.Command(os.Args[0])
		r.cmd.Env = append(os.Environ(), argsVar+"="+string(args))
	} else {
		r.cmd = exec.Command(bin, argv...)
	}
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		_ = r.cmd.Wait()
		if t.Failed() {
			t.Logf("replica log:\n%s", r.logs.String())
		}
	})
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=serving url=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.logs.Write([]byte(sc.Text() + "\n"))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- strings.TrimSuffix(m[1], "/client/v4")
			}
		}
	}()
	select {
	case r.base = <-urls:
	case <-time.After(60 * time.Second):
		t.Fatalf("a replica did not start: %s", r.logs.String())
	}
	return r
}

// call sends a request to the replica's API and decodes its envelope.
func (r *replica) call(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, r.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+replicaToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env map[string]any
	_ = json.Unmarshal(raw, &env)
	return resp.StatusCode, env
}

// keyIDs lists an account's keys on the replica, through the keys API and
// through its JWK set.
func (r *replica) keyIDs(t *testing.T, account string) (listed, set []string) {
	t.Helper()
	_, env := r.call(t, http.MethodGet, "/client/v4/accounts/"+account+"/stream/keys", "")
	result, _ := env["result"].([]any)
	for _, k := range result {
		listed = append(listed, k.(map[string]any)["id"].(string))
	}
	_, jwks := r.call(t, http.MethodGet, "/.well-known/jwks/"+account+".json", "")
	keys, _ := jwks["keys"].([]any)
	for _, k := range keys {
		set = append(set, k.(map[string]any)["kid"].(string))
	}
	return listed, set
}

// within polls cond every 2 ms for up to bound, and returns how long it
// took to hold.
func within(t *testing.T, what string, bound time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > bound {
			t.Fatalf("%s: not within %v", what, bound)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// Two serve processes on one PostgreSQL database are one server to their
// users: keys, key sets, video settings and caps are shared, and an
// outage of the database is a 503 that heals by itself while tokens go on
// being signed.
func TestTwoReplicasOnOnePostgreSQL(t *testing.T) {
	c := pgtest.New(t)
	db := c.Database(t)
	kekFile := newKEKFile(t, 0o600)
	var a, b *replica
	var wg sync.WaitGroup // started at once: the second waits for the first's migrations
	wg.Go(func() { a = startReplica(t, c.URL(db), kekFile) })
	wg.Go(func() { b = startReplica(t, "postgres:"+c.ConnString(db), kekFile) })
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}
	const acct = "023e105f4ecef8ad9ca31a8372d0c353"
	keysPath := "/client/v4/accounts/" + acct + "/stream/keys"
	for _, r := range []*replica{a, b} { // each has read the account's keys: a cache to go stale
		if listed, set := r.keyIDs(t, acct); len(listed)+len(set) != 0 {
			t.Fatalf("a new database lists %v, %v", listed, set)
		}
	}

	// A key created on A: listed, and in the set, on B.
	status, env := a.call(t, http.MethodPost, keysPath, "")
	if status != 200 {
		t.Fatalf("create on A: %d %v", status, env)
	}
	kid := env["result"].(map[string]any)["id"].(string)
	created := within(t, "a key created on A, on B", time.Second, func() bool {
		listed, set := b.keyIDs(t, acct)
		return slices.Contains(listed, kid) && slices.Contains(set, kid)
	})
	status, _ = a.call(t, http.MethodDelete, keysPath+"/"+kid, "")
	if status != 200 {
		t.Fatalf("delete on A: %d", status)
	}
	deleted := within(t, "a key deleted on A, gone from B", time.Second, func() bool {
		listed, set := b.keyIDs(t, acct)
		return !slices.Contains(listed, kid) && !slices.Contains(set, kid)
	})
	t.Logf("propagation from A to B: created %v, deleted %v", created.Round(time.Millisecond), deleted.Round(time.Millisecond))

	// A video secured on A reads secured on B.
	videoPath := "/client/v4/accounts/" + acct + "/stream/ea95132c15732412d22c1476fa83f27a"
	if status, env := a.call(t, http.MethodPost, videoPath, `{"requireSignedURLs":true,"allowedOrigins":["example.com"]}`); status != 200 {
		t.Fatalf("securing a video on A: %d %v", status, env)
	}
	if _, env := b.call(t, http.MethodGet, videoPath, ""); env["result"].(map[string]any)["requireSignedURLs"] != true {
		t.Errorf("the video on B: %v, want requireSignedURLs", env["result"])
	}

	// A token of A's verifies against B's set: one account key for both.
	status, env = a.call(t, http.MethodPost, videoPath+"/token", "")
	if status != 200 {
		t.Fatalf("a token from A: %d %v", status, env)
	}
	tok := env["result"].(map[string]any)["token"].(string)
	// A's first token made the account's key: B's set has it within the
	// propagation bound.
	within(t, "A's token verifying against B's set", time.Second, func() bool {
		return cli(t, nil, "", "verify", tok, "--account", acct, "--base-url", b.base+"/client/v4").code == 0
	})

	// 40 creates at once at 990 keys, across both: exactly 10 kept.
	fillKeys(t, c, db, acct, 990)
	results := make(chan int, 40)
	var creates sync.WaitGroup
	for i := range 40 {
		r := []*replica{a, b}[i%2]
		creates.Go(func() {
			for { // a 429 (one key made at a time) is sent again, as a client would
				status, _ := r.call(t, http.MethodPost, keysPath, "")
				if status != http.StatusTooManyRequests {
					results <- status
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	creates.Wait()
	close(results)
	counts := map[int]int{}
	for s := range results {
		counts[s]++
	}
	if counts[200] != 10 || counts[400] != 30 {
		t.Errorf("40 creates at 990 keys on two replicas: %v, want 10 of 200 and 30 of 400", counts)
	}
	if listed, _ := b.keyIDs(t, acct); len(listed) != 1000 {
		t.Errorf("B lists %d keys, want 1000", len(listed))
	}

	// The database stops: a 503 for what needs it, tokens go on being
	// signed, the set is served as last read.
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			_ = c.Start()
		}
	}()
	for _, r := range []*replica{a, b} {
		// (A create in the full account is refused from the count last read.)
		if status, env := r.call(t, http.MethodPost, "/client/v4/accounts/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/stream/keys", ""); status != 503 || code(env) != 1017 {
			t.Errorf("a create with the database down: %d %v, want 503 code 1017", status, env)
		}
		if status, env := r.call(t, http.MethodGet, videoPath, ""); status != 503 || code(env) != 1017 {
			t.Errorf("a video read with the database down: %d %v, want 503 code 1017", status, env)
		}
		if status, env := r.call(t, http.MethodPost, videoPath+"/token", `{"exp":`+fmt.Sprint(time.Now().Add(time.Hour).Unix())+`}`); status != 200 {
			t.Errorf("a token with the database down: %d %v, want 200", status, env)
		}
		if _, set := r.keyIDs(t, acct); len(set) != 1001 {
			t.Errorf("the set with the database down: %d keys, want 1001 (the account's key and 1,000 created)", len(set))
		}
	}
	// Back: both recover without a restart.
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	stopped = false
	_, _ = a.call(t, http.MethodDelete, keysPath+"/"+mustFirst(t, a, acct), "")
	for _, r := range []*replica{a, b} {
		within(t, "a read after the database came back", 20*time.Second, func() bool {
			status, _ := r.call(t, http.MethodGet, videoPath, "")
			return status == 200
		})
	}
	if listed, _ := b.keyIDs(t, acct); len(listed) != 999 {
		t.Errorf("B lists %d keys after a delete on A once back, want 999", len(listed))
	}
}

func code(env map[string]any) int {
	errs, _ := env["errors"].([]any)
	if len(errs) == 0 {
		return 0
	}
	n, _ := errs[0].(map[string]any)["code"].(float64)
	return int(n)
}

// mustFirst is the ID of the first key the replica lists, once the
// database answers again.
func mustFirst(t *testing.T, r *replica, account string) string {
	t.Helper()
	var id string
	within(t, "a list after the database came back", 20*time.Second, func() bool {
		status, env := r.call(t, http.MethodGet, "/client/v4/accounts/"+account+"/stream/keys", "")
		if result, _ := env["result"].([]any); status == 200 && len(result) > 0 {
			id = result[0].(map[string]any)["id"].(string)
			return true
		}
		return false
	})
	return id
}

// fillKeys puts n created keys in an account straight into the database
// (the public half of one test key under n IDs): no RSA work, as the
// keys API would cost.
func fillKeys(t *testing.T, c *pgtest.Cluster, db, account string, n int) {
	t.Helper()
	conn := pgtest.Connect(t, c.ConnString(db))
	k := testkey.Load(t, "rsa2048-b.pem", "")
	ctx := context.Background()
	for i := range n {
		pub := &token.Key{ID: fmt.Sprintf("filled-%04d", i), Public: k.Public}
		if _, err := conn.Exec(ctx, "INSERT INTO streamtoken_keys (key_id, account_id, public_jwk, created) VALUES ($1, $2, $3, now())",
			pub.ID, account, string(pub.PublicJWK())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, "SELECT pg_notify('streamtoken', 'k' || $1::text)", account); err != nil {
		t.Fatal(err)
	}
}

// The store's flags refuse what cannot work in one line, before serving:
// a PostgreSQL store without a key-encryption key, or with another than
// the database's first; a store that is none of the kinds.
func TestServeStoreFlags(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	_ = os.WriteFile(short, []byte("c2hvcnQ="), 0o600)
	for name, tt := range map[string]struct {
		args []string
		want string
	}{
		"no key-encryption key":    {[]string{"--store", "postgres://u:hunter2@127.0.0.1:1/x"}, "needs --key-encryption-key"},
		"a short key":              {[]string{"--store", "postgres://u:hunter2@127.0.0.1:1/x", "--key-encryption-key", short}, "5 bytes, want 32"},
		"an unknown store":         {[]string{"--store", "redis://u:hunter2@x"}, "want memory, dir:PATH, or postgres://"},
		"two directories":          {[]string{"--store", "dir:" + dir, "--keys-dir", dir + "2"}, "give one"},
		"a key without PostgreSQL": {[]string{"--key-encryption-key", newKEKFile(t, 0o600)}, "only a PostgreSQL --store"},
		"no pool":                  {[]string{"--store-max-conns", "0"}, "--store-max-conns 0"},
		"a timeout of nothing":     {[]string{"--store-timeout", "1ns"}, "--store-timeout 1ns"},
		"a memory store of a byte": {[]string{"--store-memory-bytes", "1"}, "--store-memory-bytes 1"},
		"no database there":        {[]string{"--store", "postgres://u:hunter2@127.0.0.1:1/x", "--key-encryption-key", newKEKFile(t, 0o600), "--store-timeout", "200ms"}, "--store: postgres:"},
	} {
		t.Run(name, func(t *testing.T) {
			r := cli(t, nil, "", append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.args...)...)
			if r.code != exitBadInput || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stderr, "hunter2") {
				t.Errorf("serve %v: %v; want exit %d and one line with %q, no password", tt.args, r, exitBadInput, tt.want)
			}
		})
	}
	c := pgtest.New(t)
	db := c.URL(c.Database(t))
	first := newKEKFile(t, 0o600)
	startReplica(t, db, first).cmd.Process.Signal(syscall.SIGTERM)
	r := cli(t, nil, "", "serve", "--addr", "127.0.0.1:0", "--store", db, "--key-encryption-key", newKEKFile(t, 0o600))
	if r.code != exitBadInput || !strings.Contains(r.stderr, "not the one this database's signing keys were sealed with") {
		t.Errorf("serve with another key-encryption key: %v, want a refusal", r)
	}
}

// A key-encryption key readable by others, and a password in --store on
// the command line, are warned about at start.
func TestServeWarnsOfLooseSecrets(t *testing.T) {
	c := pgtest.New(t)
	db := c.Database(t)
	kekFile := newKEKFile(t, 0o644)
	url := strings.Replace(c.URL(db), "postgres@", "postgres:not-a-real-password@", 1)
	r := startReplica(t, url, kekFile)
	logs := r.logs.String()
	for _, want := range []string{"a secret file is readable by group or others: chmod 600 it\" flag=--key-encryption-key", "--store holds a password"} {
		if !strings.Contains(logs, want) {
			t.Errorf("serve's log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "not-a-real-password") {
		t.Errorf("serve logged the password:\n%s", logs)
	}
}

// newKEKFile writes a new key-encryption key, in base64, to a file of mode
// perm, and returns its path.
func newKEKFile(t *testing.T, perm os.FileMode) string {
	t.Helper()
	kek := make([]byte, 32)
	rand.Read(kek)
	path := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(kek)+"\n"), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}
