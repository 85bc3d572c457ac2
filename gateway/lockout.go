package gateway

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Cloudflare locks a credential out of every call for 5 minutes once it
// has passed its rate limit. The gateway's own requests (an account's
// key, a sync's listing) on a credential locked out wait for the lockout
// to lift: a request sent meanwhile would be refused anyway, and only
// push the lockout on.
const (
	// DefaultLockout is how long a 429 that states no Retry-After locks
	// a credential out: Cloudflare's lockout.
	DefaultLockout = 5 * time.Minute
	// maxLockout bounds the lockout a Retry-After may state.
	maxLockout = 24 * time.Hour
	// maxLockouts bounds the credentials locked out at once.
	maxLockouts = 100_000
)

// lockouts are the credentials locked out at the upstream, by a keyed
// digest (never the credential), until when.
type lockouts struct {
	mu sync.Mutex
	m  map[[32]byte]time.Time
}

// lockedOut reports until when cred is locked out at now, if it is: as
// this replica knows, or as another on the store recorded it (a lease
// held by lockoutHolder, whose end it does not tell: then a short wait).
func (g *Gateway) lockedOut(ctx context.Context, cred credential) (time.Time, bool) {
	k := g.decisions.pair(cred, "").mac
	now := g.now()
	g.locks.mu.Lock()
	until, ok := g.locks.m[k]
	if ok && !until.After(now) {
		delete(g.locks.m, k)
		ok = false
	}
	g.locks.mu.Unlock()
	if ok {
		return until, true
	}
	// Free unless another replica holds the credential's lockout: a
	// lease of a millisecond taken, and let go by its end.
	if free, err := g.sync.leases.Lease(ctx, lockoutName(cred), g.sync.holder, now, now.Add(time.Millisecond)); err == nil && !free {
		return now.Add(retryAfter * time.Second), true
	}
	return time.Time{}, false
}

// lockoutHolder holds a credential's lockout lease for every replica.
const lockoutHolder = "lockout"

// lockoutName names cred's lockout in the store's leases.
func lockoutName(cred credential) string {
	return "streamtoken/lockout/" + sharedName(cred)
}

// lockOut records that the upstream locked cred out for d (0: the
// default), from now.
func (g *Gateway) lockOut(cred credential, d time.Duration) {
	if d <= 0 {
		d = DefaultLockout
	}
	d = min(d, maxLockout)
	k := g.decisions.pair(cred, "").mac
	now := g.now()
	g.locks.mu.Lock()
	defer g.locks.mu.Unlock()
	if g.locks.m == nil {
		g.locks.m = map[[32]byte]time.Time{}
	}
	if len(g.locks.m) >= maxLockouts {
		for key, until := range g.locks.m {
			if !until.After(now) {
				delete(g.locks.m, key)
			}
		}
	}
	if len(g.locks.m) < maxLockouts || !g.locks.m[k].IsZero() {
		g.locks.m[k] = now.Add(d)
	}
	// The other replicas on the store hold off too.
	if _, err := g.sync.leases.Lease(context.Background(), lockoutName(cred), lockoutHolder, now, now.Add(d)); err != nil {
		g.log.Warn("a lockout could not be recorded in the store: other replicas learn of it by their own 429", "error", err.Error())
	}
	g.metrics.lockouts.Inc()
	g.log.Warn("the upstream rate-limited a credential: the gateway's own requests on it wait until the lockout lifts", "for", d.String())
}

// retryAfterOf is the wait a 429's Retry-After states (seconds), or 0.
func retryAfterOf(h http.Header) time.Duration {
	secs, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || secs <= 0 {
		return 0
	}
	return time.Duration(min(secs, int(maxLockout/time.Second))) * time.Second
}
