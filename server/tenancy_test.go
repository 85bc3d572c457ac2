package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Two tenants, each with a credential scoped to its account alone.
const (
	tenantA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tenantB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	tokenA  = "token-of-tenant-a"
	tokenB  = "token-of-tenant-b"
)

func tenantCredentials() []server.Credential {
	return []server.Credential{{Token: tokenA, Accounts: []string{tenantA}}, {Token: tokenB, Accounts: []string{tenantB}}}
}

// countingGenerator hands out the test keys and counts the calls.
func countingGenerator(t *testing.T) (func() (*token.Key, error), *atomic.Int64) {
	gen := testkey.Generator(t)
	var n atomic.Int64
	return func() (*token.Key, error) { n.Add(1); return gen() }, &n
}

// tenantServer is a server of the two tenants with no shared key: each
// account gets a key of its own.
func tenantServer(t *testing.T, cfg server.Config) (string, *atomic.Int64) {
	t.Helper()
	gen, n := countingGenerator(t)
	cfg.Credentials, cfg.GenerateKey = tenantCredentials(), gen
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptestServer(t, s)
	return ts, n
}

// httptestServer serves s on loopback and returns its base URL.
func httptestServer(t *testing.T, s *server.Server) string {
	t.Helper()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// tokenOf asks the server for a token of account's video with cred.
func tokenOf(t *testing.T, base, cred, account, video string) response {
	t.Helper()
	return do(t, http.MethodPost, base+"/client/v4/accounts/"+account+"/stream/"+video+"/token", nil, bearer(cred)...)
}

// setOf is an account's JWK set, as a verifier fetches it.
func setOf(t *testing.T, base, account string) (*token.Verifier, []string) {
	t.Helper()
	r := do(t, http.MethodGet, base+jwksPath(account), nil)
	keys, err := token.ParseJWKS([]byte(r.Raw))
	if r.Status != 200 || err != nil {
		t.Fatalf("the JWK set of %s: %d %s (%v)", account, r.Status, r.Raw, err)
	}
	v, err := token.NewVerifier(keys)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return v, ids
}

func TestEachAccountSignsWithAKeyOfItsOwn(t *testing.T) {
	base, generated := tenantServer(t, server.Config{})
	// Before its first token an account's set is empty, and asking for it
	// generates nothing: anyone may ask.
	for _, a := range []string{tenantA, tenantB, "cccccccccccccccccccccccccccccccc"} {
		if _, ids := setOf(t, base, a); len(ids) != 0 {
			t.Errorf("the set of %s before any token = %v, want none", a, ids)
		}
	}
	if generated.Load() != 0 {
		t.Fatalf("%d keys generated for JWK-set requests, want none", generated.Load())
	}
	tokA := tokenOf(t, base, tokenA, tenantA, video)
	tokB := tokenOf(t, base, tokenB, tenantB, video)
	again := tokenOf(t, base, tokenA, tenantA, "ffffffffffffffffffffffffffffffff")
	if tokA.Status != 200 || tokB.Status != 200 || again.Status != 200 {
		t.Fatalf("tokens: %d %d %d", tokA.Status, tokB.Status, again.Status)
	}
	kid := func(r response) string { d, _ := token.Decode(r.Env.Result.Token); return d.Claims.KeyID }
	if kid(tokA) == kid(tokB) || kid(tokA) != kid(again) || generated.Load() != 2 {
		t.Fatalf("kids %s, %s, %s after %d generations; want one key per account", kid(tokA), kid(tokB), kid(again), generated.Load())
	}
	vA, idsA := setOf(t, base, tenantA)
	vB, idsB := setOf(t, base, tenantB)
	if !slices.Equal(idsA, []string{kid(tokA)}) || !slices.Equal(idsB, []string{kid(tokB)}) {
		t.Errorf("sets: A %v, B %v; want each account's key alone", idsA, idsB)
	}
	for name, tc := range map[string]struct {
		v    *token.Verifier
		tok  response
		want error
	}{
		"A's token, A's set": {vA, tokA, nil},
		"B's token, B's set": {vB, tokB, nil},
		"A's token, B's set": {vB, tokA, token.ErrUnknownKey},
		"B's token, A's set": {vA, tokB, token.ErrUnknownKey},
	} {
		if _, err := tc.v.Verify(tc.tok.Env.Result.Token); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: Verify() = %v, want %v", name, err, tc.want)
		}
	}
	// A scoped credential cannot reach the other account.
	if r := tokenOf(t, base, tokenA, tenantB, video); r.Status != 403 {
		t.Errorf("A's credential for B's video: %d, want 403", r.Status)
	}
}

// Concurrent first tokens of one account wait for one key.
func TestAnAccountsFirstTokensShareOneGeneration(t *testing.T) {
	base, generated := tenantServer(t, server.Config{})
	kids := make([]string, 16)
	var wg sync.WaitGroup
	for i := range kids {
		wg.Go(func() {
			r := tokenOf(t, base, tokenA, tenantA, video)
			if d, err := token.Decode(r.Env.Result.Token); err == nil {
				kids[i] = d.Claims.KeyID
			} else {
				t.Errorf("a first token: %d %s", r.Status, r.Raw)
			}
		})
	}
	wg.Wait()
	distinct := slices.Compact(slices.Sorted(slices.Values(kids)))
	if n := generated.Load(); n != 1 || len(distinct) != 1 || distinct[0] == "" {
		t.Errorf("16 first tokens: kids %v after %d generations, want one key generated once", distinct, n)
	}
}

func TestAccountKeysInADirectorySurviveAndAreShared(t *testing.T) {
	dir := t.TempDir()
	gen := testkey.Generator(t)
	newOn := func() string {
		st, err := store.OpenDir(dir, store.DirOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := server.New(server.Config{Credentials: tenantCredentials(), GenerateKey: gen, Store: st})
		if err != nil {
			t.Fatal(err)
		}
		return httptestServer(t, s)
	}
	one, two := newOn(), newOn()
	kid := func(base string) string {
		r := tokenOf(t, base, tokenA, tenantA, video)
		d, err := token.Decode(r.Env.Result.Token)
		if err != nil {
			t.Fatalf("a token of %s: %d %s", base, r.Status, r.Raw)
		}
		return d.Claims.KeyID
	}
	first := kid(one)
	if got := kid(two); got != first {
		t.Errorf("a second server on the directory signs with %s, want the first's %s", got, first)
	}
	if _, ids := setOf(t, two, tenantA); !slices.Equal(ids, []string{first}) {
		t.Errorf("the second server's set of A = %v, want %s", ids, first)
	}
	info, err := os.Stat(filepath.Join(dir, tenantA+".json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v, %v; want mode 0600", info, err)
	}
	// A restart reads it as the account's key.
	keys, err := store.LoadKeysDir(dir)
	if err != nil || keys[tenantA] == nil || keys[tenantA].ID != first {
		t.Fatalf("LoadKeysDir() = %v, %v; want A's key %s", keys, err, first)
	}
	if got := kid(newOn()); got != first {
		t.Errorf("after a restart, A's tokens are signed by %s, want %s", got, first)
	}
}

func TestATokenForOneAccountTooManyIsRefused(t *testing.T) {
	base, _ := tenantServer(t, server.Config{MaxAccounts: 1})
	if r := tokenOf(t, base, tokenA, tenantA, video); r.Status != 200 {
		t.Fatalf("the first account's token: %d %s", r.Status, r.Raw)
	}
	r := tokenOf(t, base, tokenB, tenantB, video)
	if r.Status != 400 || len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != int(apicode.AccountLimit) {
		t.Errorf("a second account of 1: %d %s, want a 400 envelope (1013)", r.Status, r.Raw)
	}
	if r := tokenOf(t, base, tokenA, tenantA, video); r.Status != 200 {
		t.Errorf("the first account after the refusal: %d", r.Status)
	}
}

func TestASharedKeyNeedsConsent(t *testing.T) {
	keys(t)
	shared := signerOf(serverKey)
	_, err := server.New(server.Config{Credentials: tenantCredentials(), Signer: shared})
	var StoreRefusal *server.SharedSignerError
	if !errors.As(err, &StoreRefusal) || !slices.Equal(StoreRefusal.Accounts, []string{tenantA, tenantB}) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("New(a shared key, two scoped accounts) = %v, want a one-line SharedSignerError naming both", err)
	}
	for name, cfg := range map[string]server.Config{
		"consent":                 {Credentials: tenantCredentials(), Signer: shared, ShareSigner: true},
		"one account shares it":   {Credentials: tenantCredentials(), Signer: shared, AccountSigners: signersOf(map[string]*token.Key{tenantA: userKey})},
		"credentials not scoped":  {Credentials: []server.Credential{{Token: apiToken}}, Signer: shared},
		"one account, two tokens": {Credentials: []server.Credential{{Token: tokenA, Accounts: []string{tenantA}}, {Token: tokenB, Accounts: []string{tenantA}}}, Signer: shared},
	} {
		if _, err := server.New(cfg); err != nil {
			t.Errorf("New(%s) = %v", name, err)
		}
	}
}

func TestTheServerWideKeySetIsForOneAccountOnly(t *testing.T) {
	keys(t)
	for name, tc := range map[string]struct {
		creds []server.Credential
		want  int // status
	}{
		"one account":     {[]server.Credential{{Token: tokenA, Accounts: []string{tenantA}}}, 200},
		"two accounts":    {tenantCredentials(), 404},
		"every account":   {[]server.Credential{{Token: apiToken}}, 404},
		"one, and a root": {[]server.Credential{{Token: tokenA, Accounts: []string{tenantA}}, {Token: apiToken}}, 404},
	} {
		t.Run(name, func(t *testing.T) {
			base, _ := start(t, server.Config{Credentials: tc.creds, KeySetMaxAge: 30e9, ShareSigner: true})
			r := do(t, http.MethodGet, base+"/.well-known/jwks.json", nil)
			if r.Status != tc.want {
				t.Fatalf("GET /.well-known/jwks.json = %d %s, want %d", r.Status, r.Raw, tc.want)
			}
			if tc.want == 200 {
				if want := do(t, http.MethodGet, base+jwksPath(tenantA), nil); r.Raw != want.Raw || !strings.Contains(r.Raw, serverKID) {
					t.Errorf("GET /.well-known/jwks.json = %s, want the account's set %s", r.Raw, want.Raw)
				}
				if got := r.Header.Get("Cache-Control"); got != "public, max-age=30" {
					t.Errorf("Cache-Control = %q, want the configured bound", got)
				}
				return
			}
			if len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != int(apicode.KeySetPerAccount) || !strings.Contains(r.Env.Errors[0].Message, gen.GetAccountKeySetRoute.Path) {
				t.Errorf("GET /.well-known/jwks.json = %s, want a 1014 envelope naming the per-account path", r.Raw)
			}
		})
	}
	base, _ := start(t, server.Config{})
	if got := do(t, http.MethodGet, base+jwksPath(account), nil).Header.Get("Cache-Control"); got != "public, max-age=60" {
		t.Errorf("Cache-Control = %q, want public, max-age=60 by default", got)
	}
	for path, want := range map[string]int{
		"/.well-known/jwks/..json":              400,
		"/.well-known/jwks/" + account + ".jwk": 404,
		"/.well-known/jwks/" + account:          404,
	} {
		if r := do(t, http.MethodGet, base+path, nil); r.Status != want || len(r.Env.Errors) != 1 {
			t.Errorf("GET %s = %d %s, want a %d envelope", path, r.Status, r.Raw, want)
		}
	}
}

// Where the stand-in is told which videos exist, a token for another is
// the 404 its details are: the server asks its Media, a VideoChecker,
// when Config.Videos is nil.
func TestATokenForNoSuchVideoIsA404(t *testing.T) {
	base, _ := start(t, server.Config{Media: &standin.Service{Videos: func(_, id string) bool { return id == video }}})
	if r := post(t, base, `{}`); r.Status != 200 {
		t.Fatalf("a token of a video that exists: %d %s", r.Status, r.Raw)
	}
	other := "/client/v4/accounts/" + account + "/stream/ffffffffffffffffffffffffffffffff"
	details := do(t, http.MethodGet, base+other, nil, bearer(apiToken)...)
	tok := do(t, http.MethodPost, base+other+"/token", nil, bearer(apiToken)...)
	if tok.Status != 404 || details.Status != 404 || len(tok.Env.Errors) != 1 || tok.Env.Errors[0].Code != details.Env.Errors[0].Code || tok.Env.Errors[0].Code != int(apicode.NoSuchMedia) {
		t.Errorf("a token of no such video: %d %s; its details: %d %s; want the same 404 (1011)", tok.Status, tok.Raw, details.Status, details.Raw)
	}
}

// A key ID names one key, in one account: the same ID in two accounts is
// refused at start, and at create.
func TestAKeyIDBelongsToOneAccount(t *testing.T) {
	keys(t)
	dir := filepath.Join(t.TempDir(), "created")
	result := func(k *token.Key) []byte {
		pem, _ := k.PrivatePEM()
		return []byte(`{"id":"` + k.ID + `","pem":"` + b64std(pem) + `"}`)
	}
	for _, a := range []string{tenantA, tenantB} {
		if err := os.MkdirAll(filepath.Join(dir, a), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	shared := &token.Key{ID: "cf-key-1", Private: userKey.Private, Public: userKey.Public}
	other := testkey.Load(t, "rsa2048-c.pem", "cf-key-1")
	_ = os.WriteFile(filepath.Join(dir, tenantA, "one.json"), result(shared), 0o600)
	_ = os.WriteFile(filepath.Join(dir, tenantB, "two.json"), result(other), 0o600)
	if _, err := store.OpenDir(filepath.Dir(dir), store.DirOptions{}); err == nil || !strings.Contains(err.Error(), "cf-key-1") {
		t.Errorf("OpenDir(one key ID in two accounts) = %v, want an error naming it", err)
	}
	// A stored key with the ID of another account's signing key.
	st := store.NewMemory(0)
	if err := st.AddKey(context.Background(), store.Key{AccountID: tenantB, Key: shared}, 10); err != nil {
		t.Fatal(err)
	}
	_, err := server.New(server.Config{Credentials: tenantCredentials(), Store: st,
		AccountSigners: signersOf(map[string]*token.Key{tenantA: {ID: "cf-key-1", Private: serverKey.Private, Public: serverKey.Public}})})
	if err == nil || !strings.Contains(err.Error(), `key ID "cf-key-1"`) {
		t.Errorf("New(A's signing key and a key of B, one ID) = %v, want a refusal", err)
	}
	// The same key as its own account's signer and created key is one key.
	if _, err := server.New(server.Config{Credentials: tenantCredentials(), Store: st,
		AccountSigners: signersOf(map[string]*token.Key{tenantB: shared})}); err != nil {
		t.Errorf("New(B's created key as B's signer) = %v", err)
	}
}

// A server given no Media serves tokens and keys alone: each media
// operation is a 404 envelope, and tokens are signed for any video, as
// Config.Videos (which wins over Media's) says.
func TestACoreWithoutMedia(t *testing.T) {
	base, _ := start(t, server.Config{})
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, gen.GetVideoPath(account, video)},
		{http.MethodPost, gen.CreateDirectUploadPath(account)},
		{http.MethodGet, gen.ListVideosPath(account)},
		{http.MethodPut, gen.UpdateLiveInputPath(account, video)},
	} {
		got := do(t, r.method, base+server.BasePath+r.path, strings.NewReader(`{"maxDurationSeconds":60}`), append(bearer(apiToken), "Content-Type", "application/json")...)
		if got.Status != 404 || len(got.Env.Errors) != 1 || got.Env.Errors[0].Code != int(apicode.NoRoute) {
			t.Errorf("%s %s without Media = %d %s, want a 404 (7003)", r.method, r.path, got.Status, got.Raw)
		}
	}
	if r := post(t, base, `{}`); r.Status != 200 {
		t.Errorf("a token without Media = %d %s", r.Status, r.Raw)
	}
	// Config.Videos wins over the stand-in's own answer.
	base, _ = start(t, server.Config{Media: &standin.Service{}, Videos: server.VideoSet(func(_, id string) bool { return false })})
	if r := post(t, base, `{}`); r.Status != 404 {
		t.Errorf("a token Config.Videos says is missing = %d %s, want a 404", r.Status, r.Raw)
	}
}

// Config.Header is on every answer: a token, a refusal, a route of no
// operation, the health check; a header that could split an answer is
// refused at New.
func TestConfigHeaderIsOnEveryAnswer(t *testing.T) {
	base, _ := start(t, server.Config{Header: http.Header{"streamtoken-mode": {"stand-in"}}})
	for _, r := range []response{
		post(t, base, `{}`),
		post(t, base, `{"exp":"soon"}`),
		do(t, http.MethodGet, base+"/client/v4/nowhere", nil),
		do(t, http.MethodGet, base+"/healthz", nil),
	} {
		if got := r.Header.Get("Streamtoken-Mode"); got != "stand-in" {
			t.Errorf("an answer %d has Streamtoken-Mode %q, want stand-in", r.Status, got)
		}
	}
	for _, h := range []http.Header{{"Bad Name": {"x"}}, {"X-Split": {"a\r\nSet-Cookie: b"}}, {"": {"x"}}} {
		if _, err := server.New(server.Config{Credentials: credentials(), Header: h}); err == nil {
			t.Errorf("New(Header %q) = nil error", h)
		}
	}
}
