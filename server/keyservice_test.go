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
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
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
func copies(t testing.TB, accountID string, n int) []store.Key {
	keys(t)
	prefix := "key-"
	if accountID != account {
		prefix = accountID[:4] + "-key-"
	}
	out := make([]store.Key, n)
	for i := range out {
		out[i] = store.Key{AccountID: accountID, Key: &token.Key{ID: fmt.Sprintf("%s%04d", prefix, i), Private: userKey.Private, Public: userKey.Public}, Created: time.Unix(int64(i), 0)}
	}
	return out
}

func TestAnAccountHoldsAtMostAThousandKeys(t *testing.T) {
	st := store.NewMemory(0)
	for _, k := range copies(t, account, store.MaxKeysPerAccount-1) {
		if err := st.AddKey(context.Background(), k, store.MaxKeysPerAccount); err != nil {
			t.Fatal(err)
		}
	}
	base, _ := start(t, server.Config{Store: st})
	createKey(t, base) // the 1,000th
	r := keyCall(t, http.MethodPost, base+keysPath, "")
	if r.Status != 400 || len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != 1009 {
		t.Fatalf("the 1,001st key: %d %s, want a 400 envelope (1009)", r.Status, r.Raw)
	}
	if n := len(listKeys(t, base)); n != store.MaxKeysPerAccount {
		t.Errorf("%d keys listed, want %d", n, store.MaxKeysPerAccount)
	}
	// Another account is not full.
	if err := st.AddKey(context.Background(), copies(t, otherAcct, 1)[0], store.MaxKeysPerAccount); err != nil {
		t.Errorf("another account's key: %v", err)
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
	if got, err := store.LoadKey(file, ""); err != nil || got.ID != k.ID {
		t.Errorf("LoadKey(saved key) = %v, %v; want kid %s", got, err, k.ID)
	}
	perAccount, err := store.LoadKeysDir(dir)
	if err != nil || perAccount[account] == nil || perAccount[account].ID != k.ID {
		t.Errorf("LoadKeysDir() = %v, %v; want account %s's key with kid %s", perAccount, err, account, k.ID)
	}
}

// heldStore holds AddKey of one account until released: a store whose
// writes for that account are slow (a database's round trip, a lock).
type heldStore struct {
	*store.Memory
	account string
	held    chan struct{} // closed when the held AddKey has begun
	release chan struct{}
}

func (h heldStore) AddKey(ctx context.Context, k store.Key, max int) error {
	if k.AccountID == h.account {
		close(h.held)
		<-h.release
	}
	return h.Memory.AddKey(ctx, k, max)
}

// One account's key creation, slow in the store, does not hold another
// account's: their creates share no lock.
func TestAccountsCreateKeysWithoutWaitingForEachOther(t *testing.T) {
	const slow, fast = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	st := heldStore{Memory: store.NewMemory(0), account: slow, held: make(chan struct{}), release: make(chan struct{})}
	base, _ := start(t, server.Config{Store: st})
	released := false
	defer func() {
		if !released {
			close(st.release)
		}
	}()
	slowDone := make(chan response, 1)
	go func() {
		slowDone <- keyCall(t, http.MethodPost, base+"/client/v4/accounts/"+slow+"/stream/keys", "null")
	}()
	<-st.held
	fastDone := make(chan response, 1)
	go func() {
		fastDone <- keyCall(t, http.MethodPost, base+"/client/v4/accounts/"+fast+"/stream/keys", "null")
	}()
	select {
	case r := <-fastDone:
		if r.Status != 200 {
			t.Errorf("the other account's create = %d %s", r.Status, r.Raw)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the other account's create waited for the held one's store write")
	}
	close(st.release)
	released = true
	if r := <-slowDone; r.Status != 200 {
		t.Errorf("the held create = %d %s", r.Status, r.Raw)
	}
}
