package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Budgets spend budgets of requests, shared by the servers on one store:
// each a bucket of up to burst requests, refilled by burst every per, so
// that at most twice burst are spent in any span of per. A gateway spends
// one per request it makes of its upstream on its own, per credential, so
// that its replicas together stay within the upstream's rate limit.
// Implementations are safe for concurrent use.
type Budgets interface {
	// Spend takes one request from the budget of name at now, and
	// reports whether one was left, and how many are left after it.
	Spend(ctx context.Context, name string, burst int, per time.Duration, now time.Time) (ok bool, left int, err error)
}

// CheckBudget checks a budget's arguments, as every store does.
func CheckBudget(name string, burst int, per time.Duration) error {
	switch {
	case name == "" || len(name) > MaxLeaseName:
		return fmt.Errorf("a budget's name: want 1 to %d bytes", MaxLeaseName)
	case burst < 1 || burst > 1_000_000:
		return fmt.Errorf("a budget's burst %d: want 1 to 1000000", burst)
	case per <= 0 || per > 24*time.Hour:
		return fmt.Errorf("a budget's span %v: want more than 0 and at most 24h", per)
	}
	return nil
}

// refill is a bucket's requests at now: what it held at then, refilled by
// burst every per, at most burst.
func refill(held float64, then, now time.Time, burst int, per time.Duration) float64 {
	if elapsed := now.Sub(then); elapsed > 0 {
		held += float64(burst) * elapsed.Seconds() / per.Seconds()
	}
	return min(held, float64(burst))
}

// localBudgets are budgets within one process.
type localBudgets struct {
	mu sync.Mutex
	m  map[string]bucket
}

type bucket struct {
	held float64
	at   time.Time
}

// LocalBudgets are budgets within the process: for servers that share no
// store, or a store without budgets of its own.
func LocalBudgets() Budgets { return &localBudgets{} }

func (b *localBudgets) Spend(_ context.Context, name string, burst int, per time.Duration, now time.Time) (bool, int, error) {
	if err := CheckBudget(name, burst, per); err != nil {
		return false, 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]bucket{}
	}
	cur, ok := b.m[name]
	held := float64(burst)
	if ok {
		held = refill(cur.held, cur.at, now, burst, per)
	}
	if held < 1 {
		return false, 0, nil
	}
	if !ok && len(b.m) >= maxLeases {
		return false, 0, fmt.Errorf("%w: %d budgets kept", ErrFull, len(b.m))
	}
	b.m[name] = bucket{held: held - 1, at: now}
	return true, int(held - 1), nil
}
