package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
)

const keysPath = "/client/v4/accounts/" + account + "/stream/keys"

// keyCall sends a keys-API request as the unrestricted test credential.
func keyCall(t *testing.T, method, url, body string, headers ...string) response {
	t.Helper()
	h := bearer(apiToken)
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
		h = append(h, "Content-Type", "application/json")
	}
	return do(t, method, url, r, append(h, headers...)...)
}

// created is the result of a create-key call.
type created struct {
	ID, PEM, JWK string
	Created      time.Time
}

func createKey(t *testing.T, base string) (created, *token.Key) {
	t.Helper()
	r := keyCall(t, http.MethodPost, base+keysPath, "null")
	if r.Status != 200 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	var env struct {
		Success bool    `json:"success"`
		Result  created `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &env); err != nil || !env.Success {
		t.Fatalf("create: %s: %v", r.Raw, err)
	}
	result, _ := json.Marshal(map[string]any{"id": env.Result.ID, "pem": env.Result.PEM, "jwk": env.Result.JWK, "created": env.Result.Created})
	k, err := token.ParsePrivateKey(result)
	if err != nil || k.ID != env.Result.ID {
		t.Fatalf("the created key does not parse with its ID: %v, %v", k, err)
	}
	return env.Result, k
}

func listKeys(t *testing.T, base string) []string {
	t.Helper()
	r := keyCall(t, http.MethodGet, base+keysPath, "")
	var env struct {
		Result []struct {
			ID      string    `json:"id"`
			KeyID   string    `json:"key_id"`
			Created time.Time `json:"created"`
		} `json:"result"`
	}
	if r.Status != 200 || json.Unmarshal([]byte(r.Raw), &env) != nil {
		t.Fatalf("list: %d %s", r.Status, r.Raw)
	}
	var ids []string
	for _, k := range env.Result {
		if k.ID != k.KeyID || k.Created.IsZero() {
			t.Errorf("list entry %+v: want key_id = id and a created time", k)
		}
		ids = append(ids, k.ID)
	}
	return ids
}

func jwksIDs(t *testing.T, base string) []string {
	t.Helper()
	r := do(t, http.MethodGet, base+jwksPath(account), nil)
	keys, err := token.ParseJWKS([]byte(r.Raw))
	if err != nil {
		t.Fatalf("JWK set: %v", err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
}

func TestSigningKeysLifeCycle(t *testing.T) {
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	base, _ := start(t, server.Config{Now: func() time.Time { return at }})
	if ids := listKeys(t, base); len(ids) != 0 {
		t.Fatalf("a new server lists keys %v", ids)
	}
	first, k1 := createKey(t, base)
	if !first.Created.Equal(at) || len(first.ID) != 32 {
		t.Errorf("created %+v, want the server's time and a 32-character ID", first)
	}
	second, _ := createKey(t, base)
	if got := listKeys(t, base); strings.Join(got, ",") != first.ID+","+second.ID && strings.Join(got, ",") != second.ID+","+first.ID {
		t.Errorf("list = %v, want both keys", got)
	}
	// The JWK set: the server's own key first, then the created ones.
	if got := jwksIDs(t, base); len(got) != 3 || got[0] != serverKID {
		t.Errorf("JWK set = %v, want the server's key then two created", got)
	}
	// A token signed locally with a created key verifies against the set.
	signer, _ := token.NewSigner(k1, token.WithClock(func() time.Time { return at }))
	tok, _, err := signer.Sign(token.Request{VideoID: video})
	if err != nil {
		t.Fatal(err)
	}
	verify := func() error {
		keys, _ := token.ParseJWKS([]byte(do(t, http.MethodGet, base+jwksPath(account), nil).Raw))
		v, _ := token.NewVerifier(keys, token.WithClock(func() time.Time { return at }))
		_, err := v.Verify(tok)
		return err
	}
	if err := verify(); err != nil {
		t.Errorf("a token of a created key: %v", err)
	}
	// Delete answers a string; the key leaves the list and the set at once.
	r := keyCall(t, http.MethodDelete, base+keysPath+"/"+first.ID, "")
	if r.Status != 200 || !strings.Contains(r.Raw, `"result":"ok"`) {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	if got := listKeys(t, base); len(got) != 1 || got[0] != second.ID {
		t.Errorf("list after delete = %v", got)
	}
	if err := verify(); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("a token of a deleted key: %v, want ErrUnknownKey", err)
	}
	r = keyCall(t, http.MethodDelete, base+keysPath+"/"+first.ID, "")
	if r.Status != 404 || len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != 1010 {
		t.Errorf("delete of an unknown key: %d %s, want a 404 envelope (1010)", r.Status, r.Raw)
	}
}

func TestSigningKeysBodiesAndScopes(t *testing.T) {
	base, _ := start(t, server.Config{})
	for name, tt := range map[string]struct {
		body, contentType string
		status, code      int
		pointer           string
	}{
		"no body":         {status: 200},
		"null":            {body: "null", contentType: "application/json", status: 200},
		"empty object":    {body: "{}", contentType: "application/json", status: 200},
		"a field":         {body: `{"name":"x"}`, contentType: "application/json", status: 400, code: 1002, pointer: "/name"},
		"an array":        {body: `[]`, contentType: "application/json", status: 400, code: 1002},
		"not JSON":        {body: `{`, contentType: "application/json", status: 400, code: 1001},
		"not JSON at all": {body: `x`, contentType: "text/plain", status: 415, code: 1006},
	} {
		t.Run(name, func(t *testing.T) {
			h := bearer(apiToken)
			if tt.contentType != "" {
				h = append(h, "Content-Type", tt.contentType)
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r := do(t, http.MethodPost, base+keysPath, body, h...)
			if r.Status != tt.status || (tt.code != 0 && (len(r.Env.Errors) == 0 || r.Env.Errors[0].Code != tt.code)) {
				t.Fatalf("%d %s, want %d (code %d)", r.Status, r.Raw, tt.status, tt.code)
			}
			if tt.pointer != "" && strings.Join(r.pointers(), ",") != tt.pointer {
				t.Errorf("pointers %v, want %s", r.pointers(), tt.pointer)
			}
		})
	}
	// Credentials and scopes as for tokens.
	for name, tt := range map[string]struct {
		method, path string
		headers      []string
		status       int
	}{
		"no credential":            {http.MethodGet, keysPath, nil, 401},
		"another account's token":  {http.MethodPost, keysPath, bearer(scoped), 403},
		"its own account":          {http.MethodGet, "/client/v4/accounts/" + otherAcct + "/stream/keys", bearer(scoped), 200},
		"a dot account":            {http.MethodGet, "/client/v4/accounts/%2E%2E/stream/keys", bearer(apiToken), 400},
		"a key ID too long":        {http.MethodDelete, keysPath + "/" + strings.Repeat("k", 33), bearer(apiToken), 400},
		"a method the route lacks": {http.MethodPut, keysPath, bearer(apiToken), 405},
	} {
		t.Run(name, func(t *testing.T) {
			if r := do(t, tt.method, base+tt.path, nil, tt.headers...); r.Status != tt.status {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, r.Status, r.Raw, tt.status)
			}
		})
	}
}

// copies returns n stored keys of one RSA key under distinct IDs: a full
// account without generating a thousand keys. The IDs are key-0000 and on
// for account, and start with the account's first four characters for
// another (a key ID names one key, in one account).
func copies(t testing.TB, accountID string, n int) []server.StoredKey {
	keys(t)
	prefix := "key-"
	if accountID != account {
		prefix = accountID[:4] + "-key-"
	}
	out := make([]server.StoredKey, n)
	for i := range out {
		out[i] = server.StoredKey{AccountID: accountID, Key: &token.Key{ID: fmt.Sprintf("%s%04d", prefix, i), Private: userKey.Private, Public: userKey.Public}, Created: time.Unix(int64(i), 0)}
	}
	return out
}

func TestAnAccountHoldsAtMostAThousandKeys(t *testing.T) {
	store := server.NewMemoryKeyStore()
	for _, k := range copies(t, account, server.MaxKeysPerAccount-1) {
		if err := store.Add(context.Background(), k, server.MaxKeysPerAccount); err != nil {
			t.Fatal(err)
		}
	}
	base, _ := start(t, server.Config{KeyStore: store})
	createKey(t, base) // the 1,000th
	r := keyCall(t, http.MethodPost, base+keysPath, "")
	if r.Status != 400 || len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != 1009 {
		t.Fatalf("the 1,001st key: %d %s, want a 400 envelope (1009)", r.Status, r.Raw)
	}
	if n := len(listKeys(t, base)); n != server.MaxKeysPerAccount {
		t.Errorf("%d keys listed, want %d", n, server.MaxKeysPerAccount)
	}
	// Another account is not full.
	if err := store.Add(context.Background(), copies(t, otherAcct, 1)[0], server.MaxKeysPerAccount); err != nil {
		t.Errorf("another account's key: %v", err)
	}
}

func TestMemoryKeyStore(t *testing.T) { testKeyStore(t, server.NewMemoryKeyStore()) }

func TestDirKeyStore(t *testing.T) {
	dir := t.TempDir()
	store, err := server.NewDirKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	testKeyStore(t, store)
}

// testKeyStore checks what every KeyStore does.
func testKeyStore(t *testing.T, store server.KeyStore) {
	ctx := context.Background()
	ks := copies(t, account, 3)
	other := copies(t, otherAcct, 1)[0]
	for _, k := range []server.StoredKey{ks[2], ks[0], other, ks[1]} {
		if err := store.Add(ctx, k, 3); err != nil {
			t.Fatalf("Add(%s) = %v", k.Key.ID, err)
		}
	}
	if err := store.Add(ctx, ks[0], 10); !errors.Is(err, server.ErrKeyExists) {
		t.Errorf("Add(the same ID) = %v, want ErrKeyExists", err)
	}
	if err := store.Add(ctx, server.StoredKey{AccountID: "9999999999999999999999999999999a", Key: ks[1].Key}, 10); !errors.Is(err, server.ErrKeyExists) {
		t.Errorf("Add(an ID of another account's) = %v, want ErrKeyExists", err)
	}
	if err := store.Add(ctx, server.StoredKey{AccountID: account, Key: &token.Key{ID: "key-9999", Private: ks[0].Key.Private, Public: ks[0].Key.Public}}, 3); !errors.Is(err, server.ErrKeyLimit) {
		t.Errorf("Add(a fourth of 3) = %v, want ErrKeyLimit", err)
	}
	list, err := store.List(ctx, account)
	if err != nil || len(list) != 3 || list[0].Key.ID != "key-0000" || list[2].Key.ID != "key-0002" || !list[1].Created.Equal(time.Unix(1, 0)) {
		t.Fatalf("List() = %v, %v; want three keys, oldest first, with their times", list, err)
	}
	all, err := store.All(ctx)
	if err != nil || len(all) != 4 || all[0].AccountID != account || all[3].AccountID != otherAcct {
		t.Errorf("All() = %v, %v; want four keys by account", all, err)
	}
	if err := store.Delete(ctx, account, "key-0001"); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, account, "key-0001"); !errors.Is(err, server.ErrNoSuchKey) {
		t.Errorf("Delete(twice) = %v, want ErrNoSuchKey", err)
	}
	if err := store.Delete(ctx, otherAcct, "key-0002"); !errors.Is(err, server.ErrNoSuchKey) {
		t.Errorf("Delete(another account's ID) = %v, want ErrNoSuchKey", err)
	}
	if list, _ := store.List(ctx, account); len(list) != 2 {
		t.Errorf("List() after a delete = %d keys, want 2", len(list))
	}
	if list, _ := store.List(ctx, "no-such-account"); len(list) != 0 {
		t.Errorf("List(an unknown account) = %v", list)
	}
	// Safe for concurrent use: 16 adds at once to a store with room for 8.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var added int
	for i := range 16 {
		wg.Go(func() {
			k := server.StoredKey{AccountID: "concurrent", Key: &token.Key{ID: fmt.Sprintf("c-%02d", i), Private: ks[0].Key.Private, Public: ks[0].Key.Public}, Created: time.Unix(int64(i), 0)}
			if store.Add(ctx, k, 8) == nil {
				mu.Lock()
				added++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if list, _ := store.List(ctx, "concurrent"); added != 8 || len(list) != 8 {
		t.Errorf("%d of 16 concurrent adds succeeded, %d listed; want 8 and 8", added, len(list))
	}
}

func TestDirKeyStoreSurvivesARestartAndIsShared(t *testing.T) {
	dir := t.TempDir()
	a, err := server.NewDirKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := server.NewDirKeyStore(dir) // a replica on the same directory
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := copies(t, account, 1)[0]
	k.Key.ID = token.KeyID(k.Key.Public)
	if err := a.Add(ctx, k, 10); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, account, k.Key.ID+".json")
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the key's file: %v, %v; want mode 0600", info, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, account)); len(entries) != 1 {
		t.Errorf("the account's directory holds %d entries, want the key alone (no temporary file)", len(entries))
	}
	// The file is the API's result: it parses with its kid.
	data, _ := os.ReadFile(path)
	if got, err := token.ParsePrivateKey(data); err != nil || got.ID != k.Key.ID {
		t.Errorf("the key's file parses as %v, %v", got, err)
	}
	if list, _ := b.List(ctx, account); len(list) != 1 || list[0].Key.ID != k.Key.ID || !list[0].Created.Equal(k.Created) {
		t.Errorf("the replica lists %v, want the key with its time", list)
	}
	restarted, err := server.NewDirKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if all, _ := restarted.All(ctx); len(all) != 1 || all[0].Key.ID != k.Key.ID {
		t.Errorf("after a restart: %v", all)
	}
	if err := b.Delete(ctx, account, k.Key.ID); err != nil {
		t.Fatal(err)
	}
	if all, _ := a.All(ctx); len(all) != 0 {
		t.Errorf("a key deleted by a replica is still listed: %v", all)
	}
}

func TestDirKeyStoreTakesOperatorKeysAndRefusesJunk(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, account), 0o700); err != nil {
		t.Fatal(err)
	}
	// A key as Cloudflare hands it out, under any name.
	keys(t)
	cfKey := &token.Key{ID: "5213cfa121f70b8c1380686ffc371ba3", Private: userKey.Private, Public: userKey.Public}
	pemBytes, _ := cfKey.PrivatePEM()
	jwkBytes, _ := cfKey.PrivateJWK()
	cf, _ := json.Marshal(map[string]string{
		"id": cfKey.ID, "created": "2014-01-02T02:20:00Z",
		"pem": b64std(pemBytes), "jwk": b64std(jwkBytes),
	})
	if err := os.WriteFile(filepath.Join(dir, account, "from-cloudflare.json"), cf, 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := server.NewDirKeyStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := store.List(context.Background(), account)
	if len(list) != 1 || list[0].Key.ID != cfKey.ID || list[0].Created.Year() != 2014 {
		t.Errorf("operator key listed as %v, want its kid and created time", list)
	}
	for name, junk := range map[string]func(string) error{
		"a file that is no key": func(d string) error {
			return os.WriteFile(filepath.Join(d, account, "junk.json"), []byte(`{"x":1}`), 0o600)
		},
		"a directory that is no account ID": func(d string) error { return os.MkdirAll(filepath.Join(d, "a b"), 0o700) },
		"a file beside the accounts":        func(d string) error { return os.WriteFile(filepath.Join(d, "stray"), nil, 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.MkdirAll(filepath.Join(d, account), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := junk(d); err != nil {
				t.Fatal(err)
			}
			if _, err := server.NewDirKeyStore(d); err == nil {
				t.Error("NewDirKeyStore() = nil error, want the junk named")
			}
		})
	}
}

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// A key saved as the API hands it out serves with its kid, as the
// default key (--signing-key) and as an account's (--keys-dir).
func TestSavedKeysKeepTheirKid(t *testing.T) {
	keys(t)
	k := &token.Key{ID: "5213cfa121f70b8c1380686ffc371ba3", Private: userKey.Private, Public: userKey.Public}
	pemBytes, _ := k.PrivatePEM()
	jwkBytes, _ := k.PrivateJWK()
	saved, _ := json.Marshal(map[string]string{"id": k.ID, "pem": b64std(pemBytes), "jwk": b64std(jwkBytes), "created": "2026-11-29T08:00:00Z"})
	dir := t.TempDir()
	file := filepath.Join(dir, account+".json")
	if err := os.WriteFile(file, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := server.LoadKey(file, ""); err != nil || got.ID != k.ID {
		t.Errorf("LoadKey(saved key) = %v, %v; want kid %s", got, err, k.ID)
	}
	perAccount, err := server.LoadKeysDir(dir)
	if err != nil || perAccount[account] == nil || perAccount[account].ID != k.ID {
		t.Errorf("LoadKeysDir() = %v, %v; want account %s's key with kid %s", perAccount, err, account, k.ID)
	}
}
