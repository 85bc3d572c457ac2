package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Leases hand a name to one holder at a time, until a time: so that of
// the servers on one store, one does a periodic job (a gateway's sync of
// an account's keys at its upstream) while the others skip it.
// Implementations are safe for concurrent use.
type Leases interface {
	// Lease gives name to holder until until, and reports true, when no
	// one holds it at now (or holder does: a renewal); else false, and
	// nothing changes. Holders' clocks are compared: keep them close.
	Lease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
}

// Bounds of a lease's name and holder.
const (
	MaxLeaseName = 256
	maxLeases    = 100_000 // an in-process set's entries, at most
)

// CheckLease checks a lease's arguments, as every store does.
func CheckLease(name, holder string, now, until time.Time) error {
	switch {
	case name == "" || len(name) > MaxLeaseName:
		return fmt.Errorf("a lease's name: want 1 to %d bytes", MaxLeaseName)
	case holder == "" || len(holder) > MaxLeaseName:
		return fmt.Errorf("a lease's holder: want 1 to %d bytes", MaxLeaseName)
	case !until.After(now):
		return fmt.Errorf("a lease until %v, not after %v", until, now)
	}
	return nil
}

// localLeases are leases within one process: a Memory's and a Dir's (a
// directory is not shared by servers that lease).
type localLeases struct {
	mu sync.Mutex
	m  map[string]lease
}

type lease struct {
	holder string
	until  time.Time
}

func (l *localLeases) Lease(_ context.Context, name, holder string, now, until time.Time) (bool, error) {
	if err := CheckLease(name, holder, now, until); err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]lease{}
	}
	if cur, ok := l.m[name]; ok && cur.holder != holder && cur.until.After(now) {
		return false, nil
	}
	if len(l.m) >= maxLeases {
		for n, cur := range l.m {
			if !cur.until.After(now) {
				delete(l.m, n)
			}
		}
		if _, ok := l.m[name]; !ok && len(l.m) >= maxLeases {
			return false, fmt.Errorf("%w: %d leases held", ErrFull, len(l.m))
		}
	}
	l.m[name] = lease{holder, until}
	return true, nil
}

// LocalLeases are leases within the process: for servers that share no
// store, or a store without leases of its own.
func LocalLeases() Leases { return &localLeases{} }
