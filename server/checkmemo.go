package server

import "sync"

// Bounds of a passed set: how many inputs it remembers, and how large one
// may be to be remembered.
const (
	maxRemembered      = 512
	maxRememberedBytes = 1 << 10
)

// passed remembers inputs (request bodies, path parameters) that passed an
// operation's checks, so that the same input sent again (the norm: most
// token requests are {} for one account, or one service's same access
// rules) is not checked again. Whether an input passes is a function of its
// bytes and the operation alone. It is bounded, and when full it forgets
// everything: a client sending ever new inputs costs the checks they would
// cost anyway. It is safe for concurrent use.
type passed struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

// has reports whether input passed the checks before.
func (v *passed) has(input []byte) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.seen[string(input)]
	return ok
}

// add remembers that input passed the checks, if it is small enough.
func (v *passed) add(input []byte) {
	if len(input) > maxRememberedBytes {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil || len(v.seen) >= maxRemembered {
		v.seen = make(map[string]struct{}, 16)
	}
	v.seen[string(input)] = struct{}{}
}
