package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/store/storetest"
	"github.com/streamtoken/streamtoken/token"
)

// quota is what the stores under the conformance suite keep of each
// account's media.
const quota = 1 << 20

func TestMemory(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T) (store.Store, storetest.OpenFunc) {
		return store.NewMemory(0, store.WithAccountMediaBytes(quota)), nil
	}, storetest.Options{AccountMediaBytes: quota})
}

func TestDir(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T) (store.Store, storetest.OpenFunc) {
		dir := t.TempDir()
		open := func() (store.Store, error) { return store.OpenDir(dir, store.DirOptions{AccountMediaBytes: quota}) }
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		return st, open
	}, storetest.Options{AccountMediaBytes: quota})
}

// A Memory store counts what it keeps to the byte, frees what is deleted
// or shrinks, and takes a change that fills it exactly.
func TestMemoryCountsItsBytes(t *testing.T) {
	ctx := context.Background()
	if _, max := store.NewMemory(0).Used(); max != store.DefaultMaxMemoryBytes {
		t.Errorf("NewMemory(0) holds at most %d, want %d", max, store.DefaultMaxMemoryBytes)
	}
	const acct = "023e105f4ecef8ad9ca31a8372d0c353"
	const overhead = 128 // per entry, beside its bytes and IDs
	m := store.NewMemory(1 << 20)
	used := func() int64 { u, _ := m.Used(); return u }
	k := testkey.Load(t, "rsa2048-b.pem", "k1")
	if err := m.AddKey(ctx, store.Key{AccountID: acct, Key: k, Created: time.Unix(1, 0)}, 10); err != nil {
		t.Fatal(err)
	}
	if got, want := used(), int64(256+32+2+overhead); got != want {
		t.Errorf("a public 2048-bit key costs %d, want %d", got, want)
	}
	if err := m.DeleteKey(ctx, acct, "k1"); err != nil || used() != 0 {
		t.Errorf("after its delete: %d bytes, %v; want 0", used(), err)
	}
	if _, err := m.EnsureAccountKey(ctx, acct, 10, func() (*token.Key, error) { return testkey.Load(t, "rsa2048-c.pem", "a1"), nil }); err != nil {
		t.Fatal(err)
	}
	if got, want := used(), int64(4*256+32+2+overhead); got != want {
		t.Errorf("a private 2048-bit key costs %d, want %d", got, want)
	}
	base := used()
	// Fill the media's budget (three quarters of the bound: a quarter
	// is the keys') to the byte: the medium's details, its IDs, the fields
	// a listing filters by (here the state alone, ready) and the overhead;
	// the account may take the whole budget here.
	full := store.NewMemory(1000, store.WithAccountMediaBytes(-1))
	details := []byte(`{"x":"` + strings.Repeat("y", 750-overhead-32-1-8-len("ready")) + `"}`)
	edit := func(d []byte) func([]byte, bool) ([]byte, error) {
		return func([]byte, bool) ([]byte, error) { return d, nil }
	}
	if _, err := full.EditMedia(ctx, store.Video, acct, "v", 10, edit(details)); err != nil {
		t.Fatalf("a medium that fills the store exactly: %v", err)
	}
	if u, _ := full.Used(); u != 750 {
		t.Errorf("Used() = %d, want 750", u)
	}
	// The keys' budget is the keys' own: a signing key still fits.
	if _, err := full.EnsureAccountKey(ctx, acct, 10, func() (*token.Key, error) { return nil, errors.New("not asked") }); err == nil {
		t.Error("EnsureAccountKey() with a failing generator = nil error")
	}
	if _, err := full.EditMedia(ctx, store.Video, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "w", 10, edit([]byte(`{}`))); !errors.Is(err, store.ErrFull) {
		t.Errorf("one more medium, of another account = %v, want ErrFull", err)
	}
	if _, err := full.EditMedia(ctx, store.Video, acct, "v", 10, edit([]byte(`{}`))); err != nil {
		t.Fatalf("shrinking the medium: %v", err)
	}
	if u, _ := full.Used(); u != int64(2+32+1+len("ready")+overhead) {
		t.Errorf("Used() after shrinking = %d, want %d", u, 2+32+1+len("ready")+overhead)
	}
	// Deleting the oldest key of several.
	for i, id := range []string{"old", "new"} {
		if err := m.AddKey(ctx, store.Key{AccountID: acct, Key: testkey.Load(t, "rsa2048-d.pem", id), Created: time.Unix(int64(i), 0)}, 10); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.DeleteKey(ctx, acct, "old"); err != nil {
		t.Errorf("DeleteKey(the oldest) = %v", err)
	}
	if got := used(); got != base+256+32+3+overhead {
		t.Errorf("Used() = %d, want %d", got, base+256+32+3+overhead)
	}
}

// token.ReadPrivateKey keeps the file's own ID, or none; LoadKey gives the one asked
// for, else the file's, else one derived from the public key.
func TestReadAndLoadKey(t *testing.T) {
	dir := t.TempDir()
	pemPath := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(pemPath, testkey.Read(t, "rsa2048.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	jwk, err := testkey.Load(t, "rsa2048.pem", "the-kid").PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	jwkPath := filepath.Join(dir, "key.jwk")
	if err := os.WriteFile(jwkPath, jwk, 0o600); err != nil {
		t.Fatal(err)
	}
	derived := token.KeyID(testkey.Load(t, "rsa2048.pem", "").Public)
	for _, tt := range []struct {
		path, id         string
		wantRead, wantID string
	}{
		{pemPath, "", "", derived},
		{pemPath, "given", "", "given"},
		{jwkPath, "", "the-kid", "the-kid"},
		{jwkPath, "given", "the-kid", "given"},
	} {
		read, err := token.ReadPrivateKey(tt.path)
		if err != nil || read.ID != tt.wantRead {
			t.Errorf("ReadKey(%s) = %v, %v; want ID %q", filepath.Base(tt.path), read, err, tt.wantRead)
		}
		loaded, err := store.LoadKey(tt.path, tt.id)
		if err != nil || loaded.ID != tt.wantID {
			t.Errorf("LoadKey(%s, %q) = %v, %v; want ID %q", filepath.Base(tt.path), tt.id, loaded, err, tt.wantID)
		}
	}
	if _, err := token.ReadPrivateKey(filepath.Join(dir, "none.pem")); err == nil {
		t.Error("ReadPrivateKey(a missing file) = nil error")
	}
}

// With the default settings, one account cannot take a Memory store's room
// for media: past its quota it is refused, and another account keeps its
// own media, and its signing key, as before.
func TestMemoryKeepsRoomForOtherAccounts(t *testing.T) {
	ctx := context.Background()
	m := store.NewMemory(0)
	big := []byte(`{"x":"` + strings.Repeat("y", 60<<10) + `"}`)
	put := func(account, id string) error {
		_, err := m.EditMedia(ctx, store.Video, account, id, store.MaxMediaPerAccount, func([]byte, bool) ([]byte, error) { return big, nil })
		return err
	}
	const a, b = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	var err error
	for i := 0; err == nil; i++ {
		if i > 10_000 {
			t.Fatal("account A filled 10,000 media of 60 KiB without a refusal")
		}
		err = put(a, fmt.Sprintf("v%05d", i))
	}
	if !errors.Is(err, store.ErrAccountQuota) {
		t.Fatalf("account A's refusal = %v, want ErrAccountQuota", err)
	}
	if err := put(b, "v"); err != nil {
		t.Errorf("account B after A was refused = %v", err)
	}
	if _, err := m.EnsureAccountKey(ctx, b, 10, func() (*token.Key, error) { return testkey.Load(t, "rsa2048-e.pem", "b1"), nil }); err != nil {
		t.Errorf("account B's signing key after A was refused = %v", err)
	}
}

// The key store's and the media store's suites each hold a store of
// their kind alone (here the directory store, seen as one and then the
// other): the core needs the first, the stand-in the second.
func TestDirAsAKeyStoreAndAMediaStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite twice more; not with -short")
	}
	storetest.TestKeyStore(t, func(t *testing.T) (store.KeyStore, func() (store.KeyStore, error)) {
		dir := t.TempDir()
		open := func() (store.KeyStore, error) { return store.OpenDir(dir, store.DirOptions{AccountMediaBytes: quota}) }
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		return st, open
	}, storetest.Options{})
	storetest.TestMediaStore(t, func(t *testing.T) (store.MediaStore, func() (store.MediaStore, error)) {
		dir := t.TempDir()
		open := func() (store.MediaStore, error) {
			return store.OpenDir(dir, store.DirOptions{AccountMediaBytes: quota})
		}
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		return st, open
	}, storetest.Options{AccountMediaBytes: quota})
}

// Each refusal for room has its label, whatever wraps it; nothing else
// has one.
func TestRefusalReason(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{store.ErrFull, "store_full"},
		{fmt.Errorf("keeping a key: %w", store.ErrAccountQuota), "account_quota"},
		{fmt.Errorf("video x: %w", store.ErrMediaLimit), "media_limit"},
		{store.ErrKeyLimit, ""},
		{errors.New("connection refused"), ""},
	} {
		if got := store.RefusalReason(tt.err); got != tt.want {
			t.Errorf("RefusalReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
