package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/store"
)

// leases checks a store's leases, where it has them: one holder at a
// time, renewals, expiry, bounds; and, where caps hold across instances,
// one holder across two instances racing.
func (s *suite) leases(t *testing.T) {
	ctx := context.Background()
	st, open := s.open(t)
	l, ok := st.(store.Leases)
	if !ok {
		t.Skip("the store has no leases")
	}
	now := time.Unix(1_800_000_000, 0)
	take := func(l store.Leases, holder string, at time.Time) bool {
		t.Helper()
		ok, err := l.Lease(ctx, "sync/a", holder, at, at.Add(time.Minute))
		if err != nil {
			t.Fatalf("Lease(%s at %v) = %v", holder, at, err)
		}
		return ok
	}
	if !take(l, "r1", now) {
		t.Fatal("a free lease was refused")
	}
	if take(l, "r2", now.Add(30*time.Second)) {
		t.Error("a lease held by r1 was given to r2")
	}
	if !take(l, "r1", now.Add(30*time.Second)) {
		t.Error("r1 could not renew its lease")
	}
	if take(l, "r2", now.Add(89*time.Second)) {
		t.Error("a renewed lease was given to r2 before its end")
	}
	if !take(l, "r2", now.Add(90*time.Second)) {
		t.Error("a lease past its end was not given to r2")
	}
	if ok, err := l.Lease(ctx, "sync/b", "r1", now, now.Add(time.Minute)); !ok || err != nil {
		t.Errorf("another name: %v, %v; want it given", ok, err)
	}
	for _, bad := range []struct{ name, holder string }{{"", "r1"}, {"x", ""}, {strings.Repeat("n", store.MaxLeaseName+1), "r1"}} {
		if _, err := l.Lease(ctx, bad.name, bad.holder, now, now.Add(time.Minute)); err == nil {
			t.Errorf("Lease(%q, %q) = nil error; want a refusal", bad.name, bad.holder)
		}
	}
	if _, err := l.Lease(ctx, "sync/c", "r1", now, now); err == nil {
		t.Error("a lease that ends as it begins was given")
	}
	if open == nil || !s.opts.SharedCaps {
		return
	}
	other, ok := another(t, open).(store.Leases)
	if !ok {
		t.Fatal("another instance has no leases")
	}
	won, _ := concurrently(10, func(i int) error {
		holder, on := "replica-a", l
		if i%2 == 1 {
			holder, on = "replica-b", other
		}
		got, err := on.Lease(ctx, "sync/race", holder+string(rune('0'+i)), now, now.Add(time.Minute))
		if err == nil && !got {
			return errNotGiven
		}
		return err
	}, errNotGiven)
	if won != 1 {
		t.Errorf("10 holders on two instances raced for a free lease: %d got it; want 1", won)
	}
}

// errNotGiven is a lease refused, to count.
var errNotGiven = errors.New("not given")

// budgets checks a store's budgets, where it has them: a bucket spent
// down, refilled at its rate, capped at its burst; and, where caps hold
// across instances, one budget for two instances spending at once.
func (s *suite) budgets(t *testing.T) {
	ctx := context.Background()
	st, open := s.open(t)
	b, ok := st.(store.Budgets)
	if !ok {
		t.Skip("the store has no budgets")
	}
	now := time.Unix(1_800_000_000, 0)
	spend := func(b store.Budgets, at time.Time) (bool, int) {
		t.Helper()
		ok, left, err := b.Spend(ctx, "budget/a", 4, time.Minute, at)
		if err != nil {
			t.Fatalf("Spend(at %v) = %v", at, err)
		}
		return ok, left
	}
	for want := 3; want >= 0; want-- {
		if ok, left := spend(b, now); !ok || left != want {
			t.Fatalf("Spend() of a fresh budget of 4 = %v, %d left; want true, %d", ok, left, want)
		}
	}
	if ok, _ := spend(b, now); ok {
		t.Fatal("a spent budget gave one more")
	}
	if ok, _ := spend(b, now.Add(15*time.Second)); !ok {
		t.Error("a quarter of the span later, the one request refilled was refused")
	}
	if ok, _ := spend(b, now.Add(15*time.Second)); ok {
		t.Error("a quarter of the span later, two requests were given")
	}
	if ok, left := spend(b, now.Add(time.Hour)); !ok || left != 3 {
		t.Errorf("an hour later: %v, %d left; want the burst, 4, less one", ok, left)
	}
	if ok, _, err := b.Spend(ctx, "budget/b", 1, time.Minute, now); !ok || err != nil {
		t.Errorf("another name: %v, %v; want its own budget", ok, err)
	}
	for _, bad := range []struct {
		name  string
		burst int
		per   time.Duration
	}{{"", 1, time.Minute}, {"x", 0, time.Minute}, {"x", 1, 0}} {
		if _, _, err := b.Spend(ctx, bad.name, bad.burst, bad.per, now); err == nil {
			t.Errorf("Spend(%q, %d, %v) = nil error; want a refusal", bad.name, bad.burst, bad.per)
		}
	}
	if open == nil || !s.opts.SharedCaps {
		return
	}
	other, ok := another(t, open).(store.Budgets)
	if !ok {
		t.Fatal("another instance has no budgets")
	}
	spent, _ := concurrently(20, func(i int) error {
		on := b
		if i%2 == 1 {
			on = other
		}
		ok, _, err := on.Spend(ctx, "budget/race", 10, time.Hour, now)
		if err == nil && !ok {
			return errNotGiven
		}
		return err
	}, errNotGiven)
	if spent != 10 {
		t.Errorf("20 requests on two instances spent a budget of 10: %d given; want 10", spent)
	}
}
