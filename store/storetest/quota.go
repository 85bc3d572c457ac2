package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// mediaDelete forgets a medium: it is gone from reads and listings, its
// place under the cap is free again, and deleting it again says so.
func (s *suite) mediaDelete(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	for _, id := range []string{"v1", "v2"} {
		keep(t, st, store.Video, accountA, id, dated{Created: day})
	}
	keep(t, st, store.LiveInput, accountA, "v1", dated{Created: day})
	if err := st.DeleteMedia(ctx, store.Video, accountA, "v1"); err != nil {
		t.Fatalf("DeleteMedia() = %v", err)
	}
	if _, found, err := st.Media(ctx, store.Video, accountA, "v1"); found || err != nil {
		t.Errorf("Media(deleted) = found %v, %v", found, err)
	}
	if p, _ := st.ListMedia(ctx, store.Video, accountA, store.MediaQuery{Count: true}); listed(p) != "v2" || p.Total != 1 {
		t.Errorf("ListMedia() after a delete = [%s] total %d, want [v2] 1", listed(p), p.Total)
	}
	if _, found, _ := st.Media(ctx, store.LiveInput, accountA, "v1"); !found {
		t.Error("deleting a video deleted the live input of its ID")
	}
	if err := st.DeleteMedia(ctx, store.Video, accountA, "v1"); !errors.Is(err, store.ErrNoSuchMedium) {
		t.Errorf("DeleteMedia() again = %v, want ErrNoSuchMedium", err)
	}
	if err := st.DeleteMedia(ctx, store.Video, "../x", "v1"); err == nil {
		t.Error("DeleteMedia(a bad account ID) = nil error")
	}
	// Its place under the cap is free again.
	if _, err := st.EditMedia(ctx, store.Video, accountA, "v3", 2, func([]byte, bool) ([]byte, error) { return []byte(`{}`), nil }); err != nil {
		t.Errorf("EditMedia() at the cap after a delete = %v", err)
	}
}

// mediaQuota: an account's media (both kinds) take at most the quota's
// bytes; past it a change that grows is refused, while another account
// keeps its own, and a delete or a shrink frees room.
func (s *suite) mediaQuota(t *testing.T) {
	quota := s.opts.AccountMediaBytes
	if quota == 0 {
		t.Skip("the stores under test were opened with no quota")
	}
	ctx := context.Background()
	st, _ := s.open(t)
	big := []byte(`{"x":"` + strings.Repeat("y", 60<<10) + `"}`)
	put := func(kind store.Kind, account, id string, details []byte) error {
		_, err := st.EditMedia(ctx, kind, account, id, store.MaxMediaPerAccount, func([]byte, bool) ([]byte, error) { return details, nil })
		return err
	}
	n := 0
	for ; ; n++ {
		err := put(store.Video, accountA, fmt.Sprintf("v%03d", n), big)
		if errors.Is(err, store.ErrAccountQuota) {
			break
		}
		if err != nil || n > int(quota)/len(big)+1 {
			t.Fatalf("EditMedia() of medium %d = %v; want ErrAccountQuota by %d bytes", n, err, quota)
		}
	}
	if got := int64(n * len(big)); got > quota || got+int64(len(big)) <= quota-int64(len(big)) {
		t.Errorf("the account kept %d media of %d bytes under a quota of %d", n, len(big), quota)
	}
	if err := put(store.LiveInput, accountA, "li", big); !errors.Is(err, store.ErrAccountQuota) {
		t.Errorf("a live input of the account at its quota = %v, want ErrAccountQuota: both kinds count", err)
	}
	if err := put(store.Video, accountB, "vb", big); err != nil {
		t.Errorf("another account at A's quota = %v, want its own room", err)
	}
	if err := put(store.Video, accountA, "v000", []byte(`{}`)); err != nil {
		t.Errorf("shrinking a medium at the quota = %v", err)
	}
	if err := st.DeleteMedia(ctx, store.Video, accountA, "v001"); err != nil {
		t.Fatal(err)
	}
	if err := put(store.Video, accountA, "again", big); err != nil {
		t.Errorf("EditMedia() after a delete and a shrink = %v, want room", err)
	}
}

// invalidIDs: every call that takes an account, key or medium ID refuses
// one that breaks the API's rules with ErrInvalidID, before it looks; no
// store answers "none" for it.
func (s *suite) invalidIDs(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	keep := func([]byte, bool) ([]byte, error) { return []byte(`{}`), nil }
	generate := func() (*token.Key, error) { return newKey(t), nil }
	for _, id := range badIDs {
		k := newKey(t)
		k.ID = id
		calls := map[string]error{}
		if s.withKeys {
			calls["AddKey(account)"] = st.AddKey(ctx, store.Key{AccountID: id, Key: newKey(t), Created: day}, store.MaxKeysPerAccount)
			calls["AddKey(key)"] = st.AddKey(ctx, store.Key{AccountID: accountA, Key: k, Created: day}, store.MaxKeysPerAccount)
			calls["Keys"] = second(st.Keys(ctx, id))
			calls["DeleteKey(account)"] = st.DeleteKey(ctx, id, "k")
			calls["DeleteKey(key)"] = st.DeleteKey(ctx, accountA, id)
			calls["AccountKey"] = second(st.AccountKey(ctx, id))
			calls["EnsureAccountKey"] = second(st.EnsureAccountKey(ctx, id, 10, generate))
		}
		if s.withMedia {
			calls["Media(account)"] = third(st.Media(ctx, store.Video, id, "v"))
			calls["Media(medium)"] = third(st.Media(ctx, store.Video, accountA, id))
			calls["EditMedia(account)"] = second(st.EditMedia(ctx, store.Video, id, "v", 10, keep))
			calls["EditMedia(medium)"] = second(st.EditMedia(ctx, store.LiveInput, accountA, id, 10, keep))
			calls["ListMedia"] = second(st.ListMedia(ctx, store.Video, id, store.MediaQuery{}))
			calls["DeleteMedia(account)"] = st.DeleteMedia(ctx, store.Video, id, "v")
			calls["DeleteMedia(medium)"] = st.DeleteMedia(ctx, store.Video, accountA, id)
		}
		for name, err := range calls {
			if !errors.Is(err, store.ErrInvalidID) {
				t.Errorf("%s with %q = %v, want ErrInvalidID", name, id, err)
			}
		}
	}
}

func second[T any](_ T, err error) error { return err }

func third[T, U any](_ T, _ U, err error) error { return err }
