package store_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

const (
	account = "023e105f4ecef8ad9ca31a8372d0c353"
	other   = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func openDir(t *testing.T, dir string, log *slog.Logger) *store.Dir {
	t.Helper()
	d, err := store.OpenDir(dir, store.DirOptions{Logger: log})
	if err != nil {
		t.Fatalf("OpenDir() = %v", err)
	}
	return d
}

func key(t *testing.T, file, id string) *token.Key { return testkey.Load(t, file, id) }

// A created key's file holds its public half alone, mode 0600, and no
// temporary file is left beside it.
func TestDirKeepsPublicHalves(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir, nil)
	k := key(t, "rsa2048.pem", "5213cfa121f70b8c1380686ffc371ba3")
	if err := d.AddKey(context.Background(), store.Key{AccountID: account, Key: k, Created: time.Unix(1e9, 0)}, 10); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "created", account, k.ID+".json")
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the key's file: %v, %v; want mode 0600", info, err)
	}
	data, _ := os.ReadFile(path)
	if _, err := token.ParsePrivateKey(data); !errors.Is(err, token.ErrNotPrivate) {
		t.Errorf("the key's file parses as a private key (%v): it must hold the public half alone", err)
	}
	if bytes.Contains(data, []byte(`"pem"`)) || bytes.Contains(data, []byte(`"d"`)) {
		t.Errorf("the key's file holds private members: %s", data)
	}
	if got, err := token.ParseKey(data); err != nil || got.ID != k.ID || got.Public.N.Cmp(k.Public.N) != 0 {
		t.Errorf("the key's file parses as %v, %v; want %s's public half", got, err, k.ID)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("the account's directory holds %d entries, want the key alone", len(entries))
	}
}

// A key directory written before (private halves, a key in Cloudflare's
// form under any name) is read as it was, handed out public.
func TestDirReadsExistingKeys(t *testing.T) {
	dir := t.TempDir()
	cf := key(t, "rsa2048-b.pem", "5213cfa121f70b8c1380686ffc371ba3")
	pemBytes, _ := cf.PrivatePEM()
	jwkBytes, _ := cf.PrivateJWK()
	saved, _ := json.Marshal(map[string]string{"id": cf.ID, "created": "2014-01-02T02:20:00Z",
		"pem": base64.StdEncoding.EncodeToString(pemBytes), "jwk": base64.StdEncoding.EncodeToString(jwkBytes)})
	if err := os.MkdirAll(filepath.Join(dir, "created", account), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "created", account, "from-cloudflare.json"), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	d := openDir(t, dir, nil)
	list, err := d.Keys(context.Background(), account)
	if err != nil || len(list) != 1 || list[0].Key.ID != cf.ID || list[0].Created.Year() != 2014 || list[0].Key.Private != nil {
		t.Fatalf("Keys() = %v, %v; want %s, created 2014, public", list, err, cf.ID)
	}
	// Deleted by its ID, whatever its file's name.
	if err := d.DeleteKey(context.Background(), account, cf.ID); err != nil {
		t.Errorf("DeleteKey(%s) = %v", cf.ID, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "created", account, "from-cloudflare.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the key's file after its delete: %v", err)
	}
}

func TestOpenDirRefusesJunk(t *testing.T) {
	for name, junk := range map[string]func(string) error{
		"a directory that is no account ID": func(d string) error { return os.MkdirAll(filepath.Join(d, "created", "a b"), 0o700) },
		"a file beside the accounts":        func(d string) error { return os.WriteFile(filepath.Join(d, "created", "stray"), nil, 0o600) },
		"an account key that is no key":     func(d string) error { return os.WriteFile(filepath.Join(d, account+".pem"), []byte("x"), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.MkdirAll(filepath.Join(d, "created", account), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := junk(d); err != nil {
				t.Fatal(err)
			}
			if _, err := store.OpenDir(d, store.DirOptions{}); err == nil {
				t.Error("OpenDir() = nil error, want the junk named")
			}
		})
	}
}

// A key file that can no longer be read is logged, reported, served as
// last read, and can be deleted.
func TestDirKeyFileBrokenAtRunTime(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	d := openDir(t, dir, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	k1, k2 := key(t, "rsa2048-b.pem", "key-one"), key(t, "rsa2048-c.pem", "key-two")
	for _, k := range []*token.Key{k1, k2} {
		if err := d.AddKey(ctx, store.Key{AccountID: account, Key: k, Created: time.Unix(1e9, 0)}, 10); err != nil {
			t.Fatal(err)
		}
	}
	if list, _ := d.Keys(ctx, account); len(list) != 2 {
		t.Fatalf("Keys() = %d keys, want 2", len(list))
	}
	path := filepath.Join(dir, "created", account, k1.ID+".json")
	if err := os.Truncate(path, 10); err != nil {
		t.Fatal(err)
	}
	// A change of the directory has it read again.
	if err := d.AddKey(ctx, store.Key{AccountID: account, Key: key(t, "rsa2048-d.pem", "key-three"), Created: time.Unix(1e9, 0)}, 10); err != nil {
		t.Fatal(err)
	}
	if list, _ := d.Keys(ctx, account); len(list) != 3 {
		t.Errorf("Keys() with a key file truncated = %d keys, want 3 (the broken one as last read)", len(list))
	}
	if !strings.Contains(logs.String(), "can no longer be read") || !strings.Contains(logs.String(), path) {
		t.Errorf("log = %q, want a line naming %s", logs.String(), path)
	}
	// A restart opens, says so, and serves the others.
	logs.Reset()
	restarted := openDir(t, dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if list, _ := restarted.Keys(ctx, account); len(list) != 2 || !strings.Contains(logs.String(), path) || len(restarted.Unreadable()) != 1 {
		t.Errorf("a restart with a broken key file: %d keys, log %q; want the 2 others and the file named", len(list), logs.String())
	}
	if u := d.Unreadable(); len(u) != 1 || !strings.Contains(u[0], path) {
		t.Errorf("Unreadable() = %q, want %s", u, path)
	}
	if err := d.DeleteKey(ctx, account, k1.ID); err != nil {
		t.Fatalf("DeleteKey(the broken key) = %v", err)
	}
	if list, _ := d.Keys(ctx, account); len(list) != 2 {
		t.Errorf("Keys() after the delete = %d keys, want 2", len(list))
	}
	if u := d.Unreadable(); len(u) != 0 {
		t.Errorf("Unreadable() after the delete = %q", u)
	}
	if err := d.DeleteKey(ctx, account, k1.ID); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("DeleteKey(twice) = %v, want ErrNoSuchKey", err)
	}
}

// Every file counts towards a cap, whatever its name: IDs beginning with
// "." too.
func TestDirCountsEveryFile(t *testing.T) {
	d := openDir(t, t.TempDir(), nil)
	ctx := context.Background()
	put := func(id string) error {
		_, err := d.EditMedia(ctx, store.Video, account, id, 2, func([]byte, bool) ([]byte, error) { return []byte(`{}`), nil })
		return err
	}
	for _, id := range []string{".a", ".tmp-b"} {
		if err := put(id); err != nil {
			t.Fatalf("EditMedia(%q) = %v", id, err)
		}
	}
	if err := put("c"); !errors.Is(err, store.ErrMediaLimit) {
		t.Errorf("a third video after two whose IDs begin with a dot = %v, want ErrMediaLimit", err)
	}
	if _, found, _ := d.Media(ctx, store.Video, account, ".a"); !found {
		t.Error(`Media(".a") not found`)
	}
	for i, id := range []string{".k1", ".k2"} {
		err := d.AddKey(ctx, store.Key{AccountID: account, Key: key(t, "rsa2048-b.pem", id), Created: time.Unix(int64(i), 0)}, 2)
		if err != nil && i == 0 {
			t.Fatal(err)
		}
	}
	if err := d.AddKey(ctx, store.Key{AccountID: account, Key: key(t, "rsa2048-c.pem", "k3"), Created: time.Unix(3, 0)}, 1); !errors.Is(err, store.ErrKeyLimit) {
		t.Errorf("a key past a cap of 1 after one whose ID begins with a dot = %v, want ErrKeyLimit", err)
	}
}

// Symbolic links are followed everywhere: keys added through a linked
// account directory are listed, in every list.
func TestDirFollowsSymlinks(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "created"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(dir, "created", account)); err != nil {
		t.Fatal(err)
	}
	d := openDir(t, dir, nil)
	ctx := context.Background()
	k := key(t, "rsa2048-b.pem", "linked")
	if err := d.AddKey(ctx, store.Key{AccountID: account, Key: k, Created: time.Unix(1, 0)}, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "linked.json")); err != nil {
		t.Errorf("the key was not written through the link: %v", err)
	}
	if list, _ := d.Keys(ctx, account); len(list) != 1 {
		t.Errorf("Keys() = %v, want the key added through the link", list)
	}
	if all, _ := d.AllKeys(ctx); len(all) != 1 {
		t.Errorf("AllKeys() = %v, want the key added through the link", all)
	}
	if _, err := store.OpenDir(dir, store.DirOptions{}); err != nil {
		t.Errorf("OpenDir() with a linked account = %v", err)
	}
}

// An account's key file written by another process is the account's
// key; an account without one costs no file open.
func TestDirAccountKeys(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir, nil)
	ctx := context.Background()
	if k, err := d.AccountKey(ctx, other); k != nil || err != nil {
		t.Fatalf("AccountKey(none) = %v, %v", k, err)
	}
	pemBytes, _ := key(t, "rsa2048-b.pem", "").PrivatePEM()
	if err := os.WriteFile(filepath.Join(dir, other+".pem"), pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		k, err := d.AccountKey(ctx, other)
		if k != nil && k.ID == token.KeyID(k.Public) && k.Private != nil {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("AccountKey(a key file written meanwhile) = %v, %v", k, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A broken key file is an error naming the account, not a new key.
	if err := os.WriteFile(filepath.Join(dir, account+".json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(store.DirRecheck + 50*time.Millisecond)
	_, err := d.EnsureAccountKey(ctx, account, 10, func() (*token.Key, error) {
		t.Error("a key generated over a broken key file")
		return nil, errors.New("no")
	})
	if err == nil || !strings.Contains(err.Error(), account) {
		t.Errorf("EnsureAccountKey(a broken key file) = %v, want an error naming the account", err)
	}
}

// A key deleted by an ID that is another key's file name deletes
// nothing: the file holds that other key.
func TestDirDeletesByKeyID(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir, nil)
	ctx := context.Background()
	k := key(t, "rsa2048-b.pem", "the-kid")
	if err := d.AddKey(ctx, store.Key{AccountID: account, Key: k, Created: time.Unix(1, 0)}, 10); err != nil {
		t.Fatal(err)
	}
	accountDir := filepath.Join(dir, "created", account)
	if err := os.Rename(filepath.Join(accountDir, "the-kid.json"), filepath.Join(accountDir, "renamed.json")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(store.DirRecheck + 50*time.Millisecond)
	if list, _ := d.Keys(ctx, account); len(list) != 1 || list[0].Key.ID != "the-kid" {
		t.Fatalf("Keys() = %v, want the-kid from renamed.json", list)
	}
	if err := d.DeleteKey(ctx, account, "renamed"); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("DeleteKey(the file's name) = %v, want ErrNoSuchKey", err)
	}
	if _, err := os.Stat(filepath.Join(accountDir, "renamed.json")); err != nil {
		t.Errorf("the other key's file: %v", err)
	}
	if err := d.DeleteKey(ctx, account, "the-kid"); err != nil {
		t.Errorf("DeleteKey(the-kid) = %v", err)
	}
}

// Media live in their kind's directory, and the count kept after a write
// holds for the next new medium.
func TestDirMediaLayoutAndCount(t *testing.T) {
	dir := t.TempDir()
	d := openDir(t, dir, nil)
	ctx := context.Background()
	put := func(kind store.Kind, id string) error {
		_, err := d.EditMedia(ctx, kind, account, id, 2, func([]byte, bool) ([]byte, error) { return []byte(`{"uid":"` + id + `"}`), nil })
		return err
	}
	for _, tt := range []struct {
		kind store.Kind
		sub  string
	}{{store.Video, "videos"}, {store.LiveInput, "live_inputs"}} {
		for _, id := range []string{"one", "two"} {
			if err := put(tt.kind, id); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tt.sub, account, id+".json")
			if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("%s %s: %v, %v; want a file of mode 0600 at %s", tt.kind, id, info, err, path)
			}
		}
		if err := put(tt.kind, "three"); !errors.Is(err, store.ErrMediaLimit) {
			t.Errorf("a third %s of 2 = %v, want ErrMediaLimit", tt.kind, err)
		}
	}
}

// Of an account's key files in several forms (one put beside it while
// the store runs), the store's own (.json) is the account's key.
func TestDirPrefersTheAccountKeyItWrote(t *testing.T) {
	ctx := context.Background()
	first := t.TempDir()
	written := key(t, "rsa2048.pem", "0123456789abcdef0123456789abcdef")
	if _, err := openDir(t, first, nil).EnsureAccountKey(ctx, account, 10, func() (*token.Key, error) { return written, nil }); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(first, account+".json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, account+".json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	d := openDir(t, dir, nil) // which refuses two at the start
	other, _ := key(t, "rsa2048-b.pem", "").PrivatePEM()
	if err := os.WriteFile(filepath.Join(dir, account+".pem"), other, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(store.DirRecheck + 50*time.Millisecond) // past the snapshot's trust
	k, err := d.AccountKey(ctx, account)
	if err != nil || k == nil || k.ID != written.ID {
		t.Errorf("AccountKey(.json and .pem) = %v, %v; want the .json's key %s", k, err, written.ID)
	}
}

// A medium deleted is gone from the next listing, the account's count and
// its bytes at once, in the process that deleted it, however recently the
// directory was read.
func TestDirDeleteShowsAtOnce(t *testing.T) {
	ctx := context.Background()
	d := openDir(t, t.TempDir(), nil)
	keep := func(id string) error {
		_, err := d.EditMedia(ctx, store.Video, account, id, 2, func([]byte, bool) ([]byte, error) {
			return []byte(`{"uid":"` + id + `"}`), nil
		})
		return err
	}
	for _, id := range []string{"v1", "v2"} {
		if err := keep(id); err != nil {
			t.Fatal(err)
		}
	}
	// Read past the clock's grain of the writes: a snapshot that is
	// trusted for DirRecheck, and must not be once this process deletes.
	time.Sleep(60 * time.Millisecond)
	if page, err := d.ListMedia(ctx, store.Video, account, store.MediaQuery{}); err != nil || len(page.Media) != 2 {
		t.Fatalf("ListMedia() = %v, %v", page.Media, err)
	}
	if err := keep("v3"); !errors.Is(err, store.ErrMediaLimit) {
		t.Fatalf("a third past a cap of 2: %v", err)
	}
	if err := d.DeleteMedia(ctx, store.Video, account, "v1"); err != nil {
		t.Fatal(err)
	}
	if page, err := d.ListMedia(ctx, store.Video, account, store.MediaQuery{}); err != nil || len(page.Media) != 1 || page.Media[0].ID != "v2" {
		t.Errorf("ListMedia() after a delete = %v, %v; want v2 alone", page.Media, err)
	}
	if err := keep("v3"); err != nil {
		t.Errorf("a medium in the deleted one's place: %v", err)
	}
}
