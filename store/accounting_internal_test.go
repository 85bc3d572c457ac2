package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/internal/testkey"
)

// A memory store charges each key and medium exactly what it costs, at
// the bounds exactly, and gives every byte back when it goes.
func TestMemoryChargesExactly(t *testing.T) {
	ctx := context.Background()
	k := testkey.Load(t, "rsa2048.pem", "kid-1")
	public := Key{AccountID: "acct", Key: k, Created: time.Unix(1, 0)}.Public()
	cost := keyBytes("acct", public.Key)
	if want := int64(len(k.Public.N.Bytes())+len("acct")+len("kid-1")) + entryOverhead; cost != want {
		t.Fatalf("keyBytes(public) = %d, want %d", cost, want)
	}
	if private := keyBytes("acct", k); private != int64(4*len(k.Public.N.Bytes())+len("acct")+len("kid-1"))+entryOverhead {
		t.Errorf("keyBytes(private) = %d: a private key costs four times its modulus", private)
	}
	// Room for that one key exactly: it is kept, one more is not.
	m := NewMemory(4 * cost)
	if m.maxKeys != cost {
		t.Fatalf("NewMemory(%d) keeps %d bytes of keys, want a quarter, %d", 4*cost, m.maxKeys, cost)
	}
	if err := m.AddKey(ctx, public, MaxKeysPerAccount); err != nil {
		t.Fatalf("a key that fits exactly: %v", err)
	}
	if used, _ := m.Used(); used != cost {
		t.Errorf("Used() = %d after one key of %d bytes", used, cost)
	}
	other := Key{AccountID: "acct", Key: testkey.Load(t, "rsa2048-b.pem", "kid-2")}.Public()
	if err := m.AddKey(ctx, other, MaxKeysPerAccount); !errors.Is(err, ErrFull) {
		t.Errorf("a key past the keys' bytes: %v, want ErrFull", err)
	}

	// Media: each costs its details, its fields, its IDs and the overhead,
	// and gives it all back when deleted.
	m = NewMemory(1 << 20)
	if m.accountMax != m.maxMedia/4 {
		t.Errorf("an account's media bytes = %d, want a quarter of the media's %d", m.accountMax, m.maxMedia)
	}
	details := []byte(`{"uid":"v1","creator":"c-1","meta":{"name":"Intro.mp4"},"status":{"state":"ready"},"liveInput":"li"}`)
	f := FieldsOf(details)
	mediumCost := int64(len(details)+len(f.Creator)+len(f.Name)+len(f.Folded)+len(f.State)+len(f.LiveInput)+len("acct")+len("v1")) + entryOverhead
	if _, err := m.EditMedia(ctx, Video, "acct", "v1", MaxMediaPerAccount, func([]byte, bool) ([]byte, error) { return details, nil }); err != nil {
		t.Fatal(err)
	}
	if used, _ := m.Used(); used != mediumCost || m.byAccount["acct"] != mediumCost {
		t.Errorf("Used() = %d, the account's %d, after one medium of %d bytes", used, m.byAccount["acct"], mediumCost)
	}
	if err := m.DeleteMedia(ctx, Video, "acct", "v1"); err != nil {
		t.Fatal(err)
	}
	if used, _ := m.Used(); used != 0 || len(m.byAccount) != 0 {
		t.Errorf("Used() = %d, accounts %v, after the only medium went", used, m.byAccount)
	}
	// An account's quota, exactly: the medium that fills it is kept.
	m = NewMemory(1<<20, WithAccountMediaBytes(mediumCost))
	if _, err := m.EditMedia(ctx, Video, "acct", "v1", MaxMediaPerAccount, func([]byte, bool) ([]byte, error) { return details, nil }); err != nil {
		t.Errorf("a medium that fills the account's quota exactly: %v", err)
	}
	if _, err := m.EditMedia(ctx, Video, "acct", "v2", MaxMediaPerAccount, func([]byte, bool) ([]byte, error) { return []byte(`{}`), nil }); !errors.Is(err, ErrAccountQuota) {
		t.Errorf("one more past the account's quota: %v, want ErrAccountQuota", err)
	}
}

// A listing's page is MaxPage when the query gives no limit, or one of
// more; else the limit.
func TestPageLimit(t *testing.T) {
	for limit, want := range map[int]int{0: MaxPage, -1: MaxPage, 1: 1, MaxPage: MaxPage, MaxPage + 1: MaxPage} {
		if got := (MediaQuery{Limit: limit}).PageLimit(); got != want {
			t.Errorf("PageLimit() of limit %d = %d, want %d", limit, got, want)
		}
	}
}

// A snapshot of a directory is trusted for DirRecheck from its check,
// without a look; past it, while the directory's modification time is
// the one read; never when it was taken within the clock's grain of a
// change (racy).
func TestDirSnapshots(t *testing.T) {
	dir := t.TempDir()
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	mod := info.ModTime()
	// Taken 50 ms or more after the last change: trusted; within 50 ms: racy.
	for after, racy := range map[time.Duration]bool{0: true, 10 * time.Millisecond: true, 50 * time.Millisecond: false, time.Second: false} {
		if s := taken[int](dir, mod.Add(after)); s.racy != racy || !s.mod.Equal(mod) {
			t.Errorf("taken %v after the change: racy %v, want %v", after, s.racy, racy)
		}
	}
	now := mod.Add(time.Hour)
	gone := filepath.Join(dir, "gone") // no look is taken within DirRecheck
	recent := taken[int](gone, now.Add(-time.Second))
	recent.racy = false
	if !recent.fresh(gone, now.Add(-time.Second+DirRecheck-time.Nanosecond)) {
		t.Error("a snapshot within DirRecheck of its check is not trusted")
	}
	if recent.fresh(gone, now.Add(-time.Second+DirRecheck)) {
		t.Error("a snapshot DirRecheck after its check is trusted without a look")
	}
	// Past DirRecheck: a look, which trusts an unchanged directory (and
	// marks the check), not a changed one, nor a racy snapshot.
	s := taken[int](dir, now)
	if !s.fresh(dir, now.Add(time.Minute)) {
		t.Error("an unchanged directory's snapshot is not trusted past DirRecheck")
	}
	if got := time.Unix(0, s.checked.Load()); !got.Equal(now.Add(time.Minute)) {
		t.Errorf("the look is not remembered: checked %v", got)
	}
	s.mod = mod.Add(-time.Second)
	if s.fresh(dir, now.Add(2*time.Minute)) {
		t.Error("a changed directory's snapshot is trusted")
	}
	racy := taken[int](dir, mod)
	if racy.fresh(dir, mod.Add(time.Millisecond)) || racy.fresh(dir, mod.Add(time.Minute)) {
		t.Error("a racy snapshot is trusted")
	}
	var none *snapshot[int]
	if none.fresh(dir, now) {
		t.Error("no snapshot is fresh")
	}
}

// A directory store's account quota holds at its bound exactly, and a
// store told of none takes what fits on the disk.
func TestDirAccountQuotaExactly(t *testing.T) {
	ctx := context.Background()
	details := []byte(`{"uid":"v1","meta":{"name":"a.mp4"}}`)
	d, err := OpenDir(t.TempDir(), DirOptions{AccountMediaBytes: int64(len(details))})
	if err != nil {
		t.Fatal(err)
	}
	keep := func(d *Dir, id string, b []byte) error {
		_, err := d.EditMedia(ctx, Video, "acct", id, MaxMediaPerAccount, func([]byte, bool) ([]byte, error) { return b, nil })
		return err
	}
	if err := keep(d, "v1", details); err != nil {
		t.Errorf("a medium that fills the account's quota exactly: %v", err)
	}
	if err := keep(d, "v2", []byte(`{}`)); !errors.Is(err, ErrAccountQuota) {
		t.Errorf("one more past the quota: %v, want ErrAccountQuota", err)
	}
	unbounded, err := OpenDir(t.TempDir(), DirOptions{AccountMediaBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"v1", "v2", "v3"} {
		if err := keep(unbounded, id, details); err != nil {
			t.Errorf("a store with no account quota refused %s: %v", id, err)
		}
	}
}
