package server_test

import (
	"context"
	"testing"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// TestReloadAccountKey: an account's key replaced in the store signs the
// account's tokens once the server reloads it, and the account's key set
// lists it in place of the old one.
func TestReloadAccountKey(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory(0)
	gen := testkey.Generator(t)
	srv, err := server.New(server.Config{Credentials: credentials(), Store: st, GenerateKey: gen}) // a key of the account's own
	if err != nil {
		t.Fatal(err)
	}
	if id, err := srv.ReloadAccountKey(ctx, account); err != nil || id != "" {
		t.Fatalf("ReloadAccountKey() before the account has a key = %q, %v; want none, and none made", id, err)
	}
	first, err := srv.AccountSigner(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	next, err := gen()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceAccountKey(ctx, account, first.KeyID(), next); err != nil {
		t.Fatal(err)
	}
	if s, _ := srv.AccountSigner(ctx, account); s.KeyID() != first.KeyID() {
		t.Fatalf("before a reload, the account signs with %s; want the key loaded, %s", s.KeyID(), first.KeyID())
	}
	if id, err := srv.ReloadAccountKey(ctx, account); err != nil || id != next.ID {
		t.Fatalf("ReloadAccountKey() = %q, %v; want %s", id, err, next.ID)
	}
	if s, _ := srv.AccountSigner(ctx, account); s.KeyID() != next.ID {
		t.Errorf("after a reload, the account signs with %s; want %s", s.KeyID(), next.ID)
	}
	keys, err := srv.PublicKeys(ctx, account)
	if err != nil || len(keys) != 1 || keys[0].ID != next.ID {
		t.Errorf("PublicKeys() after a reload = %v, %v; want the new key alone", keyIDs(keys), err)
	}
	if _, err := srv.ReloadAccountKey(ctx, "not an id"); err == nil {
		t.Error("ReloadAccountKey(an invalid ID) = nil error")
	}
}

func keyIDs(keys []*token.Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}
