// Package storetest is the conformance suite of package store: every
// implementation of [store.Store] passes [TestStore], the project's own
// (memory, directory, PostgreSQL) and any other; a store of keys alone
// ([store.KeyStore], what token issuance needs) passes [TestKeyStore], and
// one of media alone ([store.MediaStore], what the stand-in needs)
// [TestMediaStore].
//
//	func TestMyStore(t *testing.T) {
//		storetest.TestStore(t, func(t *testing.T) (store.Store, storetest.OpenFunc) {
//			dsn := newEmptyDatabase(t)
//			return mustOpen(t, dsn), func() (store.Store, error) { return open(dsn) }
//		}, storetest.Options{SharedCaps: true})
//	}
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// OpenFunc opens another instance on the backing store of the instance it
// came with: a restart, or a second replica.
type OpenFunc func() (store.Store, error)

// NewFunc returns a store on an empty backing store of its own, and, for
// a persistent store, an OpenFunc (nil for a store in memory). The suite
// closes what it opens.
type NewFunc func(t *testing.T) (store.Store, OpenFunc)

// Options say what a store promises beyond the interfaces.
type Options struct {
	// SharedCaps: caps hold across instances on one backing store (a
	// database), not only within one instance.
	SharedCaps bool
	// Propagation bounds how long one instance's change takes to show on
	// another. Zero: 1 s.
	Propagation time.Duration
	// AccountMediaBytes is the quota of each account's media bytes the
	// stores under test were opened with, for the quota's case; zero
	// skips it. At least 256 KiB: the other cases keep that much.
	AccountMediaBytes int64
}

// TestStore runs the suite: the key store's cases and the media store's.
// The keys it uses are generated once (RSA-2048 from crypto/rand), so that
// the suite runs in seconds.
func TestStore(t *testing.T, newStore NewFunc, opts Options) {
	run(t, &suite{newStore: newStore, opts: opts, withKeys: true, withMedia: true})
}

// NewKeyStoreFunc is NewFunc for a store of keys alone.
type NewKeyStoreFunc func(t *testing.T) (store.KeyStore, func() (store.KeyStore, error))

// TestKeyStore runs the key store's cases: what token issuance needs.
func TestKeyStore(t *testing.T, newStore NewKeyStoreFunc, opts Options) {
	run(t, &suite{newStore: alone(newStore, func(st store.KeyStore) store.Store { return keysAlone{st} }), opts: opts, withKeys: true})
}

// NewMediaStoreFunc is NewFunc for a store of media alone.
type NewMediaStoreFunc func(t *testing.T) (store.MediaStore, func() (store.MediaStore, error))

// TestMediaStore runs the media store's cases: what the stand-in needs.
func TestMediaStore(t *testing.T, newStore NewMediaStoreFunc, opts Options) {
	run(t, &suite{newStore: alone(newStore, func(st store.MediaStore) store.Store { return mediaAlone{st} }), opts: opts, withMedia: true})
}

// alone makes the suite's NewFunc of a store of one kind, seen through
// wrap as a Store.
func alone[S any](newStore func(t *testing.T) (S, func() (S, error)), wrap func(S) store.Store) NewFunc {
	return func(t *testing.T) (store.Store, OpenFunc) {
		st, open := newStore(t)
		if open == nil {
			return wrap(st), nil
		}
		return wrap(st), func() (store.Store, error) { st, err := open(); return wrap(st), err }
	}
}

// keysAlone and mediaAlone are a store of one kind as a Store for the
// suite, which asks a store only what its cases of that kind ask: the
// other kind's calls are the suite's bug.
type (
	keysAlone  struct{ store.KeyStore }
	mediaAlone struct{ store.MediaStore }
)

func (keysAlone) Media(context.Context, store.Kind, string, string) ([]byte, bool, error) {
	panic("storetest: a key store asked for media")
}

func (keysAlone) EditMedia(context.Context, store.Kind, string, string, int, func([]byte, bool) ([]byte, error)) ([]byte, error) {
	panic("storetest: a key store asked for media")
}

func (keysAlone) ListMedia(context.Context, store.Kind, string, store.MediaQuery) (store.MediaPage, error) {
	panic("storetest: a key store asked for media")
}

func (keysAlone) DeleteMedia(context.Context, store.Kind, string, string) error {
	panic("storetest: a key store asked for media")
}

func (keysAlone) Webhook(context.Context, string) (store.Webhook, bool, error) {
	panic("storetest: a key store asked for a webhook")
}

func (keysAlone) SetWebhook(context.Context, string, store.Webhook) error {
	panic("storetest: a key store asked for a webhook")
}

func (keysAlone) DeleteWebhook(context.Context, string) (bool, error) {
	panic("storetest: a key store asked for a webhook")
}

func (mediaAlone) AddKey(context.Context, store.Key, int) error {
	panic("storetest: a media store asked for keys")
}

func (mediaAlone) Keys(context.Context, string) ([]store.Key, error) {
	panic("storetest: a media store asked for keys")
}

func (mediaAlone) DeleteKey(context.Context, string, string) error {
	panic("storetest: a media store asked for keys")
}

func (mediaAlone) AllKeys(context.Context) ([]store.Key, error) {
	panic("storetest: a media store asked for keys")
}

func (mediaAlone) AccountKey(context.Context, string) (*token.Key, error) {
	panic("storetest: a media store asked for keys")
}

func (mediaAlone) EnsureAccountKey(context.Context, string, int, func() (*token.Key, error)) (*token.Key, error) {
	panic("storetest: a media store asked for keys")
}

func (mediaAlone) ReplaceAccountKey(context.Context, string, string, *token.Key) error {
	panic("storetest: a media store asked for keys")
}

// run runs the cases of the kinds s has.
func run(t *testing.T, s *suite) {
	if s.opts.Propagation == 0 {
		s.opts.Propagation = time.Second
	}
	if s.withKeys {
		t.Run("Keys", s.keys)
		t.Run("KeyIDsAcrossAccounts", s.keyIDs)
		t.Run("KeyLimitUnderConcurrency", s.keyLimit)
		t.Run("KeyBounds", s.keyBounds)
		t.Run("AccountKeys", s.accountKeys)
		t.Run("AccountLimit", s.accountLimit)
		t.Run("AccountKeyBounds", s.accountKeyBounds)
		t.Run("TwoInstancesKeyLimit", s.twoInstancesKeyLimit)
		t.Run("Leases", s.leases)
		t.Run("Budgets", s.budgets)
	}
	if s.withMedia {
		t.Run("Media", s.media)
		t.Run("MediaLimitUnderConcurrency", s.mediaLimit)
		t.Run("MediaEditsDoNotLoseEachOther", s.mediaEdits)
		t.Run("MediaBounds", s.mediaBounds)
		t.Run("MediaDelete", s.mediaDelete)
		t.Run("MediaQuota", s.mediaQuota)
		t.Run("List", s.list)
		t.Run("ListBounds", s.listBounds)
		t.Run("ListFilters", s.listFilters)
		t.Run("ListLarge", s.listLarge)
		t.Run("Webhooks", s.webhooks)
	}
	// Cases of both kinds, each part run where the store has its kind.
	t.Run("InvalidIDs", s.invalidIDs)
	t.Run("Restart", s.restart)
	t.Run("TwoInstances", s.twoInstances)
}

type suite struct {
	newStore            NewFunc
	opts                Options
	withKeys, withMedia bool // the kinds of the store under test
}

// The accounts the suite uses.
const (
	accountA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	accountB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var (
	keysOnce sync.Once
	keyPool  []*token.Key
	keysErr  error
	nextKey  atomic.Int64
)

// newKey returns a private key with a fresh ID: one of a few generated
// keys, renamed, so that the suite needs no RSA work per key.
func newKey(t *testing.T) *token.Key {
	t.Helper()
	keysOnce.Do(func() {
		for range 4 {
			k, err := token.GenerateKey()
			if err != nil {
				keysErr = err
				return
			}
			keyPool = append(keyPool, k)
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	n := nextKey.Add(1)
	k := keyPool[n%int64(len(keyPool))]
	return &token.Key{ID: fmt.Sprintf("key-%04d", n), Private: k.Private, Public: k.Public}
}

func (s *suite) open(t *testing.T) (store.Store, OpenFunc) {
	t.Helper()
	st, open := s.newStore(t)
	t.Cleanup(func() { st.Close() })
	return st, open
}

// another opens another instance on st's backing store, or skips.
func another(t *testing.T, open OpenFunc) store.Store {
	t.Helper()
	if open == nil {
		t.Skip("a store in memory has no backing store to share")
	}
	st, err := open()
	if err != nil {
		t.Fatalf("opening another instance: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var day = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func ids(keys []store.Key) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s/%s ", k.AccountID, k.Key.ID)
	}
	return strings.TrimSpace(b.String())
}

func (s *suite) keys(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	if got, err := st.Keys(ctx, accountA); err != nil || len(got) != 0 {
		t.Fatalf("Keys(empty store) = %v, %v; want none", ids(got), err)
	}
	k1, k2, k3 := newKey(t), newKey(t), newKey(t)
	// Added out of order; k2 and k3 created in the same second: by ID.
	for _, k := range []store.Key{
		{AccountID: accountA, Key: k3, Created: day.Add(time.Hour)}, {AccountID: accountA, Key: k1, Created: day},
		{AccountID: accountA, Key: k2, Created: day.Add(time.Hour), Retired: day.Add(25 * time.Hour)}, {AccountID: accountB, Key: newKey(t), Created: day},
	} {
		if err := st.AddKey(ctx, k, store.MaxKeysPerAccount); err != nil {
			t.Fatalf("AddKey(%s/%s) = %v", k.AccountID, k.Key.ID, err)
		}
	}
	got, err := st.Keys(ctx, accountA)
	want := fmt.Sprintf("%[1]s/%[2]s %[1]s/%[3]s %[1]s/%[4]s", accountA, k1.ID, k2.ID, k3.ID)
	if err != nil || ids(got) != want {
		t.Fatalf("Keys(A) = %q, %v; want %q (oldest first, then by ID)", ids(got), err, want)
	}
	for _, k := range got {
		if k.Key.Private != nil {
			t.Errorf("Keys(A) hands out the private half of %s: a store keeps public halves alone", k.Key.ID)
		}
		if k.Key.Public == nil || k.Key.Public.N.Cmp(k1.Public.N) != 0 && k.Key.Public.N.Cmp(k2.Public.N) != 0 && k.Key.Public.N.Cmp(k3.Public.N) != 0 {
			t.Errorf("Keys(A): %s has no public half of the keys added", k.Key.ID)
		}
		if k.Key.ID == k1.ID && !k.Created.Equal(day) {
			t.Errorf("Keys(A): %s created %v, want %v", k.Key.ID, k.Created, day)
		}
		if retired := k.Key.ID == k2.ID; retired && !k.Retired.Equal(day.Add(25*time.Hour)) || !retired && !k.Retired.IsZero() {
			t.Errorf("Keys(A): %s retired %v; want the time it was added with (%v for %s alone)", k.Key.ID, k.Retired, day.Add(25*time.Hour), k2.ID)
		}
	}
	all, err := st.AllKeys(ctx)
	if err != nil || len(all) != 4 || all[0].AccountID != accountA || all[3].AccountID != accountB {
		t.Errorf("AllKeys() = %q, %v; want A's three, then B's", ids(all), err)
	}
	if err := st.DeleteKey(ctx, accountA, k2.ID); err != nil {
		t.Fatalf("DeleteKey(A, %s) = %v", k2.ID, err)
	}
	if err := st.DeleteKey(ctx, accountA, k2.ID); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("DeleteKey(A, %s) twice = %v, want ErrNoSuchKey", k2.ID, err)
	}
	if err := st.DeleteKey(ctx, accountB, k1.ID); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("DeleteKey(B, a key of A) = %v, want ErrNoSuchKey", err)
	}
	if got, _ := st.Keys(ctx, accountA); len(got) != 2 || got[0].Key.ID != k1.ID || got[1].Key.ID != k3.ID {
		t.Errorf("Keys(A) after a delete = %q, want %s and %s", ids(got), k1.ID, k3.ID)
	}
	// A deleted key's ID may be used again.
	if err := st.AddKey(ctx, store.Key{AccountID: accountB, Key: k2, Created: day}, store.MaxKeysPerAccount); err != nil {
		t.Errorf("AddKey(B, the deleted key's ID) = %v", err)
	}
}

func (s *suite) keyIDs(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	k := newKey(t)
	if err := st.AddKey(ctx, store.Key{AccountID: accountA, Key: k, Created: day}, store.MaxKeysPerAccount); err != nil {
		t.Fatal(err)
	}
	for _, account := range []string{accountA, accountB} {
		if err := st.AddKey(ctx, store.Key{AccountID: account, Key: k, Created: day}, store.MaxKeysPerAccount); !errors.Is(err, store.ErrKeyExists) {
			t.Errorf("AddKey(%s, an ID taken in A) = %v, want ErrKeyExists", account, err)
		}
	}
	if got, _ := st.Keys(ctx, accountB); len(got) != 0 {
		t.Errorf("Keys(B) = %q after a refused add", ids(got))
	}
}

func (s *suite) keyLimit(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	const max, held, tries = 5, 3, 20
	for range held {
		if err := st.AddKey(ctx, store.Key{AccountID: accountA, Key: newKey(t), Created: day}, max); err != nil {
			t.Fatal(err)
		}
	}
	ok, full := concurrently(tries, func(i int) error {
		return st.AddKey(ctx, store.Key{AccountID: accountA, Key: newKey(t), Created: day}, max)
	}, store.ErrKeyLimit)
	if ok != max-held || full != tries-(max-held) {
		t.Errorf("%d concurrent adds at %d of %d keys: %d kept, %d ErrKeyLimit; want %d and %d", tries, held, max, ok, full, max-held, tries-(max-held))
	}
	if got, _ := st.Keys(ctx, accountA); len(got) != max {
		t.Errorf("Keys(A) = %d keys, want %d", len(got), max)
	}
	// Another account has room of its own.
	if err := st.AddKey(ctx, store.Key{AccountID: accountB, Key: newKey(t), Created: day}, max); err != nil {
		t.Errorf("AddKey(B) while A is full = %v", err)
	}
}

// concurrently runs f n times at once and counts the nil errors and
// those matching want; any other error fails the caller's test by panic
// through the counts (returned as -1).
func concurrently(n int, f func(i int) error, want error) (ok, matched int) {
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, want):
			matched++
		default:
			return -1, -1
		}
	}
	return ok, matched
}

// badIDs are IDs no store may keep: each breaks the API's rule.
var badIDs = []string{"", "a/b", ".", "..", strings.Repeat("a", 33), "a b", "a\nb", "é"}

func (s *suite) keyBounds(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	for _, id := range badIDs {
		if err := st.AddKey(ctx, store.Key{AccountID: id, Key: newKey(t), Created: day}, store.MaxKeysPerAccount); err == nil {
			t.Errorf("AddKey(account %q) = nil, want an error", id)
		}
		k := newKey(t)
		k.ID = id
		if err := st.AddKey(ctx, store.Key{AccountID: accountA, Key: k, Created: day}, store.MaxKeysPerAccount); err == nil {
			t.Errorf("AddKey(key ID %q) = nil, want an error", id)
		}
		if got, err := st.Keys(ctx, id); len(got) != 0 {
			t.Errorf("Keys(%q) = %q, %v; want none", id, ids(got), err)
		}
		if err := st.DeleteKey(ctx, accountA, id); err == nil {
			t.Errorf("DeleteKey(A, %q) = nil, want an error", id)
		}
	}
	if err := st.AddKey(ctx, store.Key{AccountID: accountA, Created: day}, store.MaxKeysPerAccount); err == nil {
		t.Error("AddKey(no key) = nil, want an error")
	}
	if got, _ := st.AllKeys(ctx); len(got) != 0 {
		t.Errorf("AllKeys() = %q after refused adds", ids(got))
	}
}

func (s *suite) accountKeys(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	if k, err := st.AccountKey(ctx, accountA); k != nil || err != nil {
		t.Fatalf("AccountKey(A) of an empty store = %v, %v; want nil, nil", k, err)
	}
	refused := errors.New("the upstream refused to create a key")
	if k, err := st.EnsureAccountKey(ctx, accountA, store.DefaultMaxAccounts, func() (*token.Key, error) { return nil, refused }); k != nil || !errors.Is(err, refused) {
		t.Fatalf("EnsureAccountKey(A) with generate failing = %v, %v; want generate's error as it is", k, err)
	}
	var calls atomic.Int32
	generate := func() (*token.Key, error) {
		calls.Add(1)
		return newKey(t), nil
	}
	const callers = 10
	got := make([]*token.Key, callers)
	ok, _ := concurrently(callers, func(i int) error {
		k, err := st.EnsureAccountKey(ctx, accountA, store.DefaultMaxAccounts, generate)
		got[i] = k
		return err
	}, nil)
	if ok != callers {
		t.Fatalf("%d concurrent EnsureAccountKey(A): %d succeeded", callers, ok)
	}
	for _, k := range got {
		if k == nil || k.ID != got[0].ID || k.Private == nil {
			t.Fatalf("EnsureAccountKey(A) gave different keys, or a public one: %v and %v", got[0], k)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d concurrent EnsureAccountKey(A) called generate %d times; want once, under the account's lock", callers, n)
	}
	if k, err := st.AccountKey(ctx, accountA); err != nil || k == nil || k.ID != got[0].ID || k.Private == nil || k.Private.N.Cmp(got[0].Private.N) != 0 {
		t.Errorf("AccountKey(A) = %v, %v; want the key kept, private", k, err)
	}
	before := calls.Load()
	if k, err := st.EnsureAccountKey(ctx, accountA, store.DefaultMaxAccounts, generate); err != nil || k.ID != got[0].ID || calls.Load() != before {
		t.Errorf("EnsureAccountKey(A) again = %v, %v, generating %d; want the same key, none generated", k, err, calls.Load()-before)
	}
	// Replaced: where the key is the one named, and only there.
	next := newKey(t)
	if err := st.ReplaceAccountKey(ctx, accountA, "not-its-key", next); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("ReplaceAccountKey(A, another key's ID) = %v, want ErrNoSuchKey", err)
	}
	if err := st.ReplaceAccountKey(ctx, accountB, got[0].ID, next); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("ReplaceAccountKey(B, which has no key) = %v, want ErrNoSuchKey", err)
	}
	if err := st.ReplaceAccountKey(ctx, accountA, got[0].ID, &token.Key{ID: "public-only", Public: next.Public}); err == nil {
		t.Error("ReplaceAccountKey(A, a public key) = nil, want a refusal")
	}
	if err := st.ReplaceAccountKey(ctx, "not an id", got[0].ID, next); !errors.Is(err, store.ErrInvalidID) {
		t.Errorf("ReplaceAccountKey(an invalid ID) = %v, want ErrInvalidID", err)
	}
	if err := st.ReplaceAccountKey(ctx, accountA, got[0].ID, next); err != nil {
		t.Fatalf("ReplaceAccountKey(A) = %v", err)
	}
	if k, err := st.AccountKey(ctx, accountA); err != nil || k == nil || k.ID != next.ID || k.Private == nil || k.Private.N.Cmp(next.Private.N) != 0 {
		t.Errorf("AccountKey(A) after a replace = %v, %v; want the new key, private", k, err)
	}
	if k, err := st.EnsureAccountKey(ctx, accountA, store.DefaultMaxAccounts, generate); err != nil || k.ID != next.ID {
		t.Errorf("EnsureAccountKey(A) after a replace = %v, %v; want the new key", k, err)
	}
	if err := st.ReplaceAccountKey(ctx, accountA, got[0].ID, newKey(t)); !errors.Is(err, store.ErrNoSuchKey) {
		t.Errorf("ReplaceAccountKey(A, the key replaced before) = %v, want ErrNoSuchKey", err)
	}
	if k, err := st.EnsureAccountKey(ctx, accountB, store.DefaultMaxAccounts, generate); err != nil || k.ID == got[0].ID {
		t.Errorf("EnsureAccountKey(B) = %v, %v; want a key of B's own", k, err)
	}
}

func (s *suite) accountLimit(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	generate := func() (*token.Key, error) { return newKey(t), nil }
	for _, a := range []string{accountA, accountB} {
		if _, err := st.EnsureAccountKey(ctx, a, 2, generate); err != nil {
			t.Fatal(err)
		}
	}
	called := false
	_, err := st.EnsureAccountKey(ctx, "cccccccccccccccccccccccccccccccc", 2, func() (*token.Key, error) { called = true; return newKey(t), nil })
	if !errors.Is(err, store.ErrAccountLimit) || called {
		t.Errorf("EnsureAccountKey(a third account, max 2) = %v, generating %v; want ErrAccountLimit, nothing generated", err, called)
	}
	if k, err := st.EnsureAccountKey(ctx, accountA, 2, generate); err != nil || k == nil {
		t.Errorf("EnsureAccountKey(A) at the limit = %v, %v; want A's key", k, err)
	}
	// Concurrent new accounts at one place left: one is kept.
	ok, full := concurrently(10, func(i int) error {
		_, err := st.EnsureAccountKey(ctx, fmt.Sprintf("d%031d", i), 3, generate)
		return err
	}, store.ErrAccountLimit)
	if ok != 1 || full != 9 {
		t.Errorf("10 concurrent new accounts at 2 of 3: %d kept, %d ErrAccountLimit; want 1 and 9", ok, full)
	}
}

func (s *suite) accountKeyBounds(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	for _, id := range badIDs {
		if _, err := st.EnsureAccountKey(ctx, id, store.DefaultMaxAccounts, func() (*token.Key, error) { return newKey(t), nil }); err == nil {
			t.Errorf("EnsureAccountKey(%q) = nil error", id)
		}
	}
	public := newKey(t)
	public.Private = nil
	if _, err := st.EnsureAccountKey(ctx, accountA, store.DefaultMaxAccounts, func() (*token.Key, error) { return public, nil }); err == nil {
		t.Error("EnsureAccountKey(a public key made) = nil error: a signing key must be private")
	}
	failed := errors.New("no entropy")
	if _, err := st.EnsureAccountKey(ctx, accountA, store.DefaultMaxAccounts, func() (*token.Key, error) { return nil, failed }); !errors.Is(err, failed) {
		t.Errorf("EnsureAccountKey(generate failing) = %v, want its error", err)
	}
	if k, err := st.AccountKey(ctx, accountA); k != nil || err != nil {
		t.Errorf("AccountKey(A) after failed generations = %v, %v; want none", k, err)
	}
}

// counter is the details the media tests keep.
type counter struct {
	N    int    `json:"n"`
	Note string `json:"note,omitempty"`
}

func encode(c counter) []byte {
	b, _ := json.Marshal(c)
	return b
}

func decode(t *testing.T, b []byte) counter {
	t.Helper()
	var c counter
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("stored details %q: %v", b, err)
	}
	return c
}

// bump is an edit that adds one to the counter.
func bump(details []byte, found bool) ([]byte, error) {
	var c counter
	if found {
		if err := json.Unmarshal(details, &c); err != nil {
			return nil, err
		}
	}
	c.N++
	return encode(c), nil
}

func (s *suite) media(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	const id = "ea95132c15732412d22c1476fa83f27a"
	if _, found, err := st.Media(ctx, store.Video, accountA, id); found || err != nil {
		t.Fatalf("Media(a video never changed) = found %v, %v", found, err)
	}
	got, err := st.EditMedia(ctx, store.Video, accountA, id, store.MaxMediaPerAccount, func(d []byte, found bool) ([]byte, error) {
		if found || d != nil {
			t.Errorf("the first edit got %q, found %v; want nil, false", d, found)
		}
		return encode(counter{N: 1}), nil
	})
	if err != nil || decode(t, got).N != 1 {
		t.Fatalf("EditMedia(first) = %q, %v", got, err)
	}
	got[0] = 'x' // the caller's copy
	if d, found, err := st.Media(ctx, store.Video, accountA, id); !found || err != nil || decode(t, d).N != 1 {
		t.Fatalf("Media() = %q, %v, %v; want n 1", d, found, err)
	}
	if _, err := st.EditMedia(ctx, store.Video, accountA, id, store.MaxMediaPerAccount, bump); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := st.Media(ctx, store.Video, accountA, id); decode(t, d).N != 2 {
		t.Errorf("Media() after a second edit = %q, want n 2", d)
	}
	// An edit that fails keeps nothing.
	failed := errors.New("refused")
	if _, err := st.EditMedia(ctx, store.Video, accountA, id, store.MaxMediaPerAccount, func([]byte, bool) ([]byte, error) { return nil, failed }); !errors.Is(err, failed) {
		t.Errorf("EditMedia(failing) = %v, want its error", err)
	}
	if d, _, _ := st.Media(ctx, store.Video, accountA, id); decode(t, d).N != 2 {
		t.Errorf("Media() after a failed edit = %q, want n 2", d)
	}
	// Kinds and accounts apart.
	for _, other := range []struct {
		kind    store.Kind
		account string
	}{{store.LiveInput, accountA}, {store.Video, accountB}} {
		if _, found, err := st.Media(ctx, other.kind, other.account, id); found || err != nil {
			t.Errorf("Media(%s, %s) = found %v, %v; want none", other.kind, other.account, found, err)
		}
	}
}

func (s *suite) mediaLimit(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	const max, tries = 3, 20
	ok, full := concurrently(tries, func(i int) error {
		_, err := st.EditMedia(ctx, store.LiveInput, accountA, fmt.Sprintf("input-%02d", i), max, bump)
		return err
	}, store.ErrMediaLimit)
	if ok != max || full != tries-max {
		t.Errorf("%d concurrent new live inputs, max %d: %d kept, %d ErrMediaLimit; want %d and %d", tries, max, ok, full, max, tries-max)
	}
	// One kept is still edited at the limit; a video has room of its own.
	kept := 0
	for i := range tries {
		if _, found, _ := st.Media(ctx, store.LiveInput, accountA, fmt.Sprintf("input-%02d", i)); found {
			kept++
			if _, err := st.EditMedia(ctx, store.LiveInput, accountA, fmt.Sprintf("input-%02d", i), max, bump); err != nil {
				t.Errorf("EditMedia(a kept input, at the limit) = %v", err)
			}
		}
	}
	if kept != max {
		t.Errorf("%d live inputs kept, want %d", kept, max)
	}
	if _, err := st.EditMedia(ctx, store.Video, accountA, "video-1", max, bump); err != nil {
		t.Errorf("EditMedia(a video, inputs full) = %v", err)
	}
}

func (s *suite) mediaEdits(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	const edits = 20
	if ok, _ := concurrently(edits, func(int) error {
		_, err := st.EditMedia(ctx, store.Video, accountA, "video-1", store.MaxMediaPerAccount, bump)
		return err
	}, nil); ok != edits {
		t.Fatalf("%d concurrent edits: %d succeeded", edits, ok)
	}
	if d, _, _ := st.Media(ctx, store.Video, accountA, "video-1"); decode(t, d).N != edits {
		t.Errorf("after %d concurrent edits of one video, n = %d: edits were lost", edits, decode(t, d).N)
	}
}

func (s *suite) mediaBounds(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	max := store.MaxMediaPerAccount
	edit := func(d []byte) func([]byte, bool) ([]byte, error) {
		return func([]byte, bool) ([]byte, error) { return d, nil }
	}
	big := encode(counter{Note: strings.Repeat("x", store.MaxDetailsBytes)})
	if _, err := st.EditMedia(ctx, store.Video, accountA, "v", max, edit(big)); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("EditMedia(%d bytes) = %v, want ErrTooLarge", len(big), err)
	}
	for _, bad := range []string{"", "[]", "null", `"x"`, "{", `{"a":1}x`} {
		if _, err := st.EditMedia(ctx, store.Video, accountA, "v", max, edit([]byte(bad))); err == nil {
			t.Errorf("EditMedia(details %q) = nil error, want a refusal", bad)
		}
	}
	if _, err := st.EditMedia(ctx, "clip", accountA, "v", max, bump); err == nil {
		t.Error(`EditMedia(kind "clip") = nil error`)
	}
	for _, id := range badIDs {
		if _, err := st.EditMedia(ctx, store.Video, id, "v", max, bump); err == nil {
			t.Errorf("EditMedia(account %q) = nil error", id)
		}
		if _, err := st.EditMedia(ctx, store.Video, accountA, id, max, bump); err == nil {
			t.Errorf("EditMedia(video %q) = nil error", id)
		}
		if _, found, _ := st.Media(ctx, store.Video, accountA, id); found {
			t.Errorf("Media(video %q) found", id)
		}
	}
	if _, found, _ := st.Media(ctx, store.Video, accountA, "v"); found {
		t.Error("a refused edit was kept")
	}
}

func (s *suite) restart(t *testing.T) {
	ctx := context.Background()
	st, open := s.open(t)
	k, ak := newKey(t), newKey(t)
	if s.withKeys {
		if err := st.AddKey(ctx, store.Key{AccountID: accountA, Key: k, Created: day}, store.MaxKeysPerAccount); err != nil {
			t.Fatal(err)
		}
		if _, err := st.EnsureAccountKey(ctx, accountA, store.DefaultMaxAccounts, func() (*token.Key, error) { return ak, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if s.withMedia {
		if _, err := st.EditMedia(ctx, store.Video, accountA, "video-1", store.MaxMediaPerAccount, bump); err != nil {
			t.Fatal(err)
		}
	}
	if open == nil {
		t.Skip("a store in memory has no backing store to restart on")
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("Close() twice = %v", err)
	}
	again := another(t, open)
	if s.withKeys {
		if got, err := again.Keys(ctx, accountA); err != nil || len(got) != 1 || got[0].Key.ID != k.ID || !got[0].Created.Equal(day) || got[0].Key.Public.N.Cmp(k.Public.N) != 0 {
			t.Errorf("Keys(A) after a restart = %q, %v; want %s as added", ids(got), err, k.ID)
		}
		if got, err := again.AccountKey(ctx, accountA); err != nil || got == nil || got.ID != ak.ID || got.Private == nil || got.Private.D.Cmp(ak.Private.D) != 0 {
			t.Errorf("AccountKey(A) after a restart = %v, %v; want %s, private", got, err, ak.ID)
		}
	}
	if s.withMedia {
		if d, found, err := again.Media(ctx, store.Video, accountA, "video-1"); !found || err != nil || decode(t, d).N != 1 {
			t.Errorf("Media() after a restart = %q, %v, %v", d, found, err)
		}
	}
}

// eventually waits up to the propagation bound for cond.
func (s *suite) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(s.opts.Propagation)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("%s: not within %v", what, s.opts.Propagation)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *suite) twoInstances(t *testing.T) {
	ctx := context.Background()
	a, open := s.open(t)
	b := another(t, open)
	if s.withKeys {
		// Each reads first, so that what it may keep of the state is there
		// to go stale.
		for _, st := range []store.Store{a, b} {
			if _, err := st.Keys(ctx, accountA); err != nil {
				t.Fatal(err)
			}
			if _, err := st.AccountKey(ctx, accountA); err != nil {
				t.Fatal(err)
			}
		}
		k := newKey(t)
		if err := a.AddKey(ctx, store.Key{AccountID: accountA, Key: k, Created: day}, store.MaxKeysPerAccount); err != nil {
			t.Fatal(err)
		}
		s.eventually(t, "a key added on one instance listed on the other", func() bool {
			got, _ := b.Keys(ctx, accountA)
			return len(got) == 1 && got[0].Key.ID == k.ID
		})
		if err := b.AddKey(ctx, store.Key{AccountID: accountB, Key: k, Created: day}, store.MaxKeysPerAccount); !errors.Is(err, store.ErrKeyExists) {
			t.Errorf("AddKey(B, an ID taken on the other instance) = %v, want ErrKeyExists", err)
		}
		if err := a.DeleteKey(ctx, accountA, k.ID); err != nil {
			t.Fatal(err)
		}
		s.eventually(t, "a key deleted on one instance gone from the other", func() bool {
			got, _ := b.Keys(ctx, accountA)
			return len(got) == 0
		})
		made, err := a.EnsureAccountKey(ctx, accountA, store.DefaultMaxAccounts, func() (*token.Key, error) { return newKey(t), nil })
		if err != nil {
			t.Fatal(err)
		}
		s.eventually(t, "an account key made on one instance read on the other", func() bool {
			got, _ := b.AccountKey(ctx, accountA)
			return got != nil && got.ID == made.ID
		})
		got, err := b.EnsureAccountKey(ctx, accountA, store.DefaultMaxAccounts, func() (*token.Key, error) {
			t.Error("the other instance generated a key for an account that has one")
			return newKey(t), nil
		})
		if err != nil || got.ID != made.ID {
			t.Errorf("EnsureAccountKey(A) on the other instance = %v, %v; want %s", got, err, made.ID)
		}
		next := newKey(t)
		if err := b.ReplaceAccountKey(ctx, accountA, made.ID, next); err != nil {
			t.Fatal(err)
		}
		s.eventually(t, "an account key replaced on one instance read on the other", func() bool {
			got, _ := a.AccountKey(ctx, accountA)
			return got != nil && got.ID == next.ID && got.Private != nil
		})
		if err := a.ReplaceAccountKey(ctx, accountA, made.ID, newKey(t)); !errors.Is(err, store.ErrNoSuchKey) {
			t.Errorf("ReplaceAccountKey(A, the key replaced on the other instance) = %v, want ErrNoSuchKey", err)
		}
	}
	if s.withMedia {
		if _, err := a.EditMedia(ctx, store.Video, accountA, "video-1", store.MaxMediaPerAccount, bump); err != nil {
			t.Fatal(err)
		}
		s.eventually(t, "a video changed on one instance read on the other", func() bool {
			d, found, _ := b.Media(ctx, store.Video, accountA, "video-1")
			var c counter
			return found && json.Unmarshal(d, &c) == nil && c.N == 1
		})
		s.eventually(t, "a video kept on one instance listed on the other", func() bool {
			p, _ := b.ListMedia(ctx, store.Video, accountA, store.MediaQuery{})
			return listed(p) == "video-1"
		})
		if _, err := b.EditMedia(ctx, store.Video, accountA, "video-1", store.MaxMediaPerAccount, bump); err != nil {
			t.Fatal(err)
		}
		if d, _, _ := a.Media(ctx, store.Video, accountA, "video-1"); decode(t, d).N != 2 {
			t.Errorf("an edit on the other instance built on %q, want n 2", d)
		}
	}
}

func (s *suite) twoInstancesKeyLimit(t *testing.T) {
	ctx := context.Background()
	a, open := s.open(t)
	b := another(t, open)
	if !s.opts.SharedCaps {
		t.Skip("caps hold within one instance of this store")
	}
	const max, held, tries = 12, 10, 20
	for range held {
		if err := a.AddKey(ctx, store.Key{AccountID: accountA, Key: newKey(t), Created: day}, max); err != nil {
			t.Fatal(err)
		}
	}
	ok, full := concurrently(tries, func(i int) error {
		st := a
		if i%2 == 1 {
			st = b
		}
		return st.AddKey(ctx, store.Key{AccountID: accountA, Key: newKey(t), Created: day}, max)
	}, store.ErrKeyLimit)
	if ok != max-held || full != tries-(max-held) {
		t.Errorf("%d concurrent adds on two instances at %d of %d: %d kept, %d ErrKeyLimit; want %d and %d", tries, held, max, ok, full, max-held, tries-(max-held))
	}
}
