package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// serve runs s.Serve on a loopback listener until the test ends, and
// returns its address and the channel Serve's result arrives on.
func serve(t *testing.T, cfg server.Config) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	return serveServer(t, newServer(t, cfg))
}

// serveServer runs s.Serve on a loopback port, as serve does.
func serveServer(t *testing.T, s *server.Server) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served, done := make(chan error, 1), make(chan struct{})
	go func() {
		served <- s.Serve(ctx, ln)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return ln.Addr().String(), cancel, served
}

// raw sends bytes as they are on a new connection and returns the answer's
// status line and body (the connection is closed after one answer).
func raw(t *testing.T, addr, request string) (string, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to %.40q: %v", request, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.Status, string(body)
}

// envelopeCodes decodes a failure envelope's codes, failing the test if
// body is no envelope.
func envelopeCodes(t *testing.T, body string) []int {
	t.Helper()
	var env struct {
		Success *bool `json:"success"`
		Errors  []struct {
			Code int `json:"code"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || env.Success == nil || *env.Success || len(env.Errors) == 0 {
		t.Fatalf("body %.200q is no failure envelope", body)
	}
	var codes []int
	for _, e := range env.Errors {
		codes = append(codes, e.Code)
	}
	return codes
}

func TestIdleConnectionsCannotLockOutARealRequest(t *testing.T) {
	t.Parallel() // mostly waiting on timers: let other tests run meanwhile
	const max = 16
	addr, _, _ := serve(t, server.Config{MaxConnections: max, MaxConnectionsPerIP: -1}) // every client here is 127.0.0.1
	// Three times the cap of keep-alive connections, each idle after one
	// request, and as many that never send a byte.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 3*max; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if i%2 == 0 {
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			_, _ = c.Read(make([]byte, 512)) // an answer, or an eviction
		}
	}
	time.Sleep(1100 * time.Millisecond) // the silent ones are now evictable too
	// A real request gets through at once, not after the idle timeout.
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post("http://"+addr+tokenPath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("a real request beside %d idle connections: %v", 3*max, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized { // no credentials: answered, that is all
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
}

func TestNetHTTPRefusalsAreEnvelopes(t *testing.T) {
	t.Parallel() // mostly waiting on timers: let other tests run meanwhile
	addr, _, _ := serve(t, server.Config{})
	tests := []struct {
		name, request, status string
	}{
		{"headers over the limit", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", server.MaxHeaderBytes+4096) + "\r\n\r\n", "431 Request Header Fields Too Large"},
		{"no Host header", "GET /healthz HTTP/1.1\r\n\r\n", "400 Bad Request"},
		{"malformed request line", "GET\r\n\r\n", "400 Bad Request"},
		{"unknown transfer coding", "POST " + tokenPath + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501 Not Implemented"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := raw(t, addr, tt.request)
			if status != tt.status {
				t.Errorf("status %q, want %q", status, tt.status)
			}
			if codes := envelopeCodes(t, body); codes[0] != int(apicode.MalformedHTTP) {
				t.Errorf("codes %v, want %d", codes, apicode.MalformedHTTP)
			}
		})
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, code := range []string{"400", "431", "501"} {
		if want := `streamtoken_http_requests_total{code="` + code + `",route="http-layer"}`; !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestUncleanPathsAreEnvelopes(t *testing.T) {
	addr, _, _ := serve(t, server.Config{})
	auth := "Authorization: Bearer " + apiToken + "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
	for _, path := range []string{
		"/client/v4/accounts//stream/" + video + "/token",
		"/client/v4/accounts/" + account + "/../" + account + "/stream/" + video + "/token",
		"/client/v4/accounts/./stream/" + video + "/token",
		"//client/v4/accounts/" + account + "/stream/" + video + "/token",
	} {
		status, body := raw(t, addr, "POST "+path+" HTTP/1.1\r\nHost: x\r\n"+auth)
		if status != "400 Bad Request" || envelopeCodes(t, body)[0] != int(apicode.UncleanPath) {
			t.Errorf("POST %s = %s %.120s, want 400 with code %d", path, status, body, apicode.UncleanPath)
		}
	}
	// Dot segments that arrive escaped reach the checks, which refuse them.
	status, body := raw(t, addr, "POST /client/v4/accounts/%2E%2E/stream/%2E/token HTTP/1.1\r\nHost: x\r\n"+auth)
	if codes := envelopeCodes(t, body); status != "400 Bad Request" || len(codes) != 2 || codes[0] != int(apicode.InvalidPath) {
		t.Errorf("POST with %%2E%%2E segments = %s %v, want 400 with two %d", status, codes, apicode.InvalidPath)
	}
}

func TestServeClosesWhatIsLeftAfterTheDrain(t *testing.T) {
	t.Parallel() // mostly waiting on timers: let other tests run meanwhile
	addr, cancel, served := serve(t, server.Config{ShutdownTimeout: 200 * time.Millisecond})
	// A request whose body never comes keeps its handler busy.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"exp\":", tokenPath, apiToken)
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-served:
		if err == nil || !strings.Contains(err.Error(), "cut off") {
			t.Errorf("Serve() = %v, want an error saying requests were cut off", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve() did not return after the drain timed out")
	}
	// The connection is closed at once, not at the read timeout.
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
		t.Errorf("read after Serve returned: %v, want the connection closed", err)
	}
}

func TestHostileBodies(t *testing.T) {
	base, _ := start(t, server.Config{})
	now := time.Now().Unix()
	thirtyThousand := `{"accessRules":[{"type":"ip.src","action":"allow","ip":[` + strings.Repeat("0,", 29999) + `0]}]}`
	badIPs := `{"accessRules":[{"type":"ip.src","action":"allow","ip":[` + strings.Repeat(`"x",`, 9999) + `"x"]}]}`
	tests := []struct {
		name, body string
		code       apicode.Code
		pointer    string
		message    string // a part of the first error's message
	}{
		{name: "exp 1e18", body: `{"exp":1e18}`, code: apicode.Schema, pointer: "/exp", message: "whole number"},
		{name: "exp past int64", body: `{"exp":9223372036854775808}`, code: apicode.Schema, pointer: "/exp", message: "out of range"},
		{name: "exp with a fraction", body: fmt.Sprintf(`{"exp":%d.0}`, now+600), code: apicode.Schema, pointer: "/exp", message: "whole number"},
		{name: "exp 1e309", body: `{"exp":1e309}`, code: apicode.Schema, pointer: "/exp", message: "whole number"},
		{name: "exp a string", body: fmt.Sprintf(`{"exp":"%d"}`, now+600), code: apicode.Schema, pointer: "/exp", message: "must be an integer, got a string"},
		{name: "nbf before 1970", body: fmt.Sprintf(`{"exp":%d,"nbf":-1000000000000001}`, now+3600), code: apicode.InvalidRequest, pointer: "/nbf", message: "before 1970"},
		{name: "10,000-character id", body: `{"id":"` + strings.Repeat("k", 10000) + `","pem":"` + userPEMField + `"}`, code: apicode.Schema, pointer: "/id"},
		{name: "id with CRLF", body: `{"id":"a\r\nb","pem":"` + userPEMField + `"}`, code: apicode.Schema, pointer: "/id"},
		{name: "30,000 wrong types", body: thirtyThousand, code: apicode.Schema, pointer: "/accessRules/0/ip/0", message: "must be a string"},
		{name: "10,000 bad addresses", body: badIPs, code: apicode.InvalidRequest, pointer: "/accessRules/0/ip/0", message: "not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, base, tt.body)
			if r.Status != http.StatusBadRequest || len(r.Env.Errors) == 0 {
				t.Fatalf("status %d %.200s, want 400 with errors", r.Status, r.Raw)
			}
			e := r.Env.Errors[0]
			if apicode.Code(e.Code) != tt.code || r.pointers()[0] != tt.pointer || !strings.Contains(e.Message, tt.message) {
				t.Errorf("first error = %d %q at %q, want %d %q at %q", e.Code, e.Message, r.pointers()[0], tt.code, tt.message, tt.pointer)
			}
			if n := len(r.Env.Errors); n > token.MaxViolations+1 {
				t.Errorf("%d errors, want at most %d", n, token.MaxViolations+1)
			}
			if len(r.Raw) > 4096 {
				t.Errorf("a %d-byte body got a %d-byte answer", len(tt.body), len(r.Raw))
			}
		})
	}
	// Each of the three checks that can find thousands of violations
	// (JSON types, the schema through kin-openapi, the API's rules) lists
	// 20 and counts the rest.
	badCountries := `{"accessRules":[{"type":"ip.geoip.country","action":"allow","country":[` + strings.Repeat(`"aa",`, 11999) + `"aa"]}]}`
	for body, want := range map[string]string{
		thirtyThousand: "and 29980 more violations, not listed",
		badCountries:   "and 11980 more violations, not listed",
		badIPs:         "and 9980 more violations, not listed",
	} {
		r := post(t, base, body)
		if last := r.Env.Errors[len(r.Env.Errors)-1].Message; len(r.Env.Errors) != token.MaxViolations+1 || last != want {
			t.Errorf("%d errors, the last %q; want %d, the last %q", len(r.Env.Errors), last, token.MaxViolations+1, want)
		}
	}
}

func TestRequestKeyOver8192BitsIsRefused(t *testing.T) {
	base, _ := start(t, server.Config{})
	// A 16384-bit modulus with junk for the rest: it must be refused for
	// its size before anything else of it is looked at.
	n := new(big.Int).Lsh(big.NewInt(1), 16383)
	n.Or(n, big.NewInt(1))
	der, err := asn1.Marshal(struct {
		Version               int
		N                     *big.Int
		E                     int
		D, P, Q, Dp, Dq, Qinv *big.Int
	}{0, n, 65537, n, n, n, n, n, n})
	if err != nil {
		t.Fatal(err)
	}
	field := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}))
	start := time.Now()
	r := post(t, base, `{"id":"k","pem":"`+field+`"}`)
	elapsed := time.Since(start)
	if r.Status != http.StatusBadRequest || r.pointers()[0] != "/pem" || !strings.Contains(r.Env.Errors[0].Message, "longer than 8192 bits") {
		t.Fatalf("a 16384-bit pem: %d %.200s, want 400 at /pem", r.Status, r.Raw)
	}
	t.Logf("refused in %v", elapsed) // for the record, not a timing assertion
}

func TestDuplicateKeyIDsAreRefused(t *testing.T) {
	keys(t)
	sameAsDefault := &token.Key{ID: serverKID, Private: userKey.Private, Public: userKey.Public}
	for name, accountKeys := range map[string]map[string]*token.Key{
		"the default key again": {otherAcct: serverKey},
		"the default key's ID":  {otherAcct: sameAsDefault},
		"two accounts, one key": {account: userKey, otherAcct: userKey},
	} {
		_, err := server.New(server.Config{Credentials: credentials(), Signer: signerOf(serverKey), AccountSigners: signersOf(accountKeys)})
		if err == nil || !strings.Contains(err.Error(), "a key ID must name one key") || strings.Contains(err.Error(), "\n") {
			t.Errorf("New(%s) = %v, want a one-line refusal", name, err)
		}
	}
	// Each account's set holds its own key alone, in a stable order; an
	// account with no key of its own has the shared one.
	k2, _ := testKey(t, "rsa2048-c.pem", "third-key")
	const third = "3333333333333333333333333333333a"
	var first []byte
	for range 5 {
		base, _ := start(t, server.Config{AccountSigners: signersOf(map[string]*token.Key{otherAcct: userKey, account: k2})})
		got := map[string][]string{}
		var raw []byte
		for _, a := range []string{account, otherAcct, third} {
			r := do(t, http.MethodGet, base+jwksPath(a), nil)
			raw = append(raw, r.Raw...)
			set, err := token.ParseJWKS([]byte(r.Raw))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range set {
				got[a] = append(got[a], k.ID)
			}
		}
		if fmt.Sprint(got[account], got[otherAcct], got[third]) != fmt.Sprint([]string{k2.ID}, []string{userKey.ID}, []string{serverKID}) {
			t.Fatalf("JWK sets %v, want each account's key alone, and the shared key for an account without one", got)
		}
		if first == nil {
			first = raw
		} else if !bytes.Equal(raw, first) {
			t.Fatal("the JWK sets change between starts")
		}
	}
}

func TestCredentialNeverPrintsItsSecret(t *testing.T) {
	creds := []server.Credential{{Token: apiToken, Accounts: []string{account}}, {Email: email, Key: globalKey}}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("creds", "c0", creds[0], "c1", creds[1])
	j, _ := json.Marshal(creds)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %s", creds, creds, creds, creds[0]), logs.String(), string(j)} {
		if strings.Contains(out, apiToken) || strings.Contains(out, globalKey) {
			t.Errorf("a credential printed its secret: %s", out)
		}
		if !strings.Contains(out, email) || !strings.Contains(out, account) {
			t.Errorf("a credential printed nothing useful: %s", out)
		}
	}
}

func TestCredentialsFileTraps(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty accounts", "credentials:\n  - token: abcdef\n    accounts: []\n", "accounts is an empty list"},
		{"spaces around a token", "credentials:\n  - token: ' abcdef '\n", "token has leading or trailing spaces"},
		{"a second document", "credentials:\n  - token: abcdef\n---\ncredentials:\n  - token: ghijkl\n", "a second YAML document"},
		{"a duplicate field", "credentials:\n  - token: abcdef\n    token: ghijkl\n", "field token given twice (line 3)"},
		{"a duplicate secret-looking key", "credentials:\n  - token: abcdef\n    accounts: [a]\n    accounts: [b]\n", "field accounts given twice"},
		{"a dot account", "credentials:\n  - token: abcdef\n    accounts: ['..']\n", `account "..": must not be ".."`},
	}
	for _, tt := range tests {
		_, err := server.ParseCredentials([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ParseCredentials() = %v, want %q", tt.name, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "abcdef") || strings.Contains(err.Error(), "ghijkl") {
			t.Errorf("%s: the error %q holds a secret", tt.name, err)
		}
	}
	if _, err := server.ParseCredentials([]byte("credentials:\n  - token: abcdef\n    accounts: [" + account + "]\n")); err != nil {
		t.Errorf("a good file: %v", err)
	}
}

func TestKeysDirRefusesUnusableNames(t *testing.T) {
	keys(t)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(userKey.Private)})
	for _, name := range []string{"a.PEM", account + ".Jwk", "..pem", ".pem", "a\nb.pem", strings.ToUpper(account) + ".pem"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := store.LoadKeysDir(dir)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("LoadKeysDir(%q) = %v, want a one-line error", name, err)
		}
	}
}

func TestKeyFilesAreRegularAndBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, account+".pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.pem")
	if err := os.WriteFile(big, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := store.LoadKeysDir(dir); err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("LoadKeysDir(a FIFO) = %v, want a refusal naming it", err)
		}
		for _, path := range []string{fifo, "/dev/zero", big} {
			if _, err := store.LoadKey(path, "k"); err == nil {
				t.Errorf("LoadKey(%s) = nil error", path)
			}
			if _, err := server.LoadCredentials(path); err == nil {
				t.Errorf("LoadCredentials(%s) = nil error", path)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("reading a FIFO or /dev/zero did not return")
	}
}

// From nine tenths of its connections on, the server closes each after its
// answer (and says so), rather than keep connections it may have to cut
// as they are reused; below that, it keeps them alive.
func TestACrowdedServerClosesConnectionsAfterAnswering(t *testing.T) {
	const max = 10
	addr, _, _ := serve(t, server.Config{MaxConnections: max, MaxConnectionsPerIP: -1}) // every client here is 127.0.0.1
	get := func() string {
		status, _ := raw(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		return status
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if crowded(t, c) {
		t.Fatal("an uncrowded answer closes its connection, want it kept alive")
	}
	idle(t, addr, 8) // nine of ten
	if !crowded(t, c) {
		t.Fatal("an answer at nine tenths of the connections keeps its connection, want Connection: close")
	}
	if got := get(); got != "200 OK" {
		t.Errorf("a new connection when crowded: %s", got)
	}
}

// idle opens n connections to addr that send nothing, closed when the test
// ends, and waits until the server has had time to accept them.
func idle(t *testing.T, addr string, n int) {
	t.Helper()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	time.Sleep(200 * time.Millisecond)
}

// crowded asks for /healthz on c and reports whether the answer closes
// the connection.
func crowded(t *testing.T, c net.Conn) bool {
	t.Helper()
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Close
}
