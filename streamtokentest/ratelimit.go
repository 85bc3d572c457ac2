package streamtokentest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
)

// maxRateLimit bounds WithRateLimit's n: the server keeps a time for each
// request of the window.
const maxRateLimit = 100_000

// WithRateLimit limits each credential to n API requests in any window of
// the given length (at least a second), as Cloudflare limits each user or
// API token (1,200 per 5 minutes: [streamtoken.CloudflareRequests] per
// [streamtoken.CloudflareWindow]). Every operation counts; the JWK sets
// do not. Each answer states the limit in both of Cloudflare's header
// forms (RateLimit and RateLimit-Policy, X-RateLimit-Limit and
// X-RateLimit-Remaining). A request past the limit locks the credential
// out for a whole window, as Cloudflare does: every request until then is
// a 429 envelope ([apicode.RateLimited], as [RateLimited] answers) with
// Retry-After (seconds, rounded up) and X-RateLimit-Reset (an HTTP date).
// The window runs on the server's clock ([WithClock]).
func WithRateLimit(n int, window time.Duration) Option {
	return func(c *config) error {
		if n < 1 || n > maxRateLimit {
			return fmt.Errorf("WithRateLimit: %d requests: want 1 to %d", n, maxRateLimit)
		}
		if window < time.Second || window > 24*time.Hour {
			return fmt.Errorf("WithRateLimit: a window of %v: want 1s to 24h", window)
		}
		c.limit = &rateLimit{n: n, window: window, callers: map[int]*callerWindow{}}
		return nil
	}
}

// RateLimitRefusals returns how many requests the rate limit refused
// ([WithRateLimit]).
func (s *Server) RateLimitRefusals() int {
	if s.limit == nil {
		return 0
	}
	s.limit.mu.Lock()
	defer s.limit.mu.Unlock()
	return s.limit.refused
}

// rateLimit is a sliding window log per credential: the arrival times of
// the requests of the last window, oldest first.
type rateLimit struct {
	n       int
	window  time.Duration
	now     func() time.Time
	mu      sync.Mutex
	callers map[int]*callerWindow // by the credential's index
	refused int
}

type callerWindow struct {
	arrivals    []time.Time // at most n
	lockedUntil time.Time
}

// admit counts a request of a caller at now. It returns how many remain
// in the window and when the oldest counted request leaves it, or, for a
// request refused, when the lockout ends.
func (l *rateLimit) admit(caller int, now time.Time) (remaining int, reset time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cw := l.callers[caller]
	if cw == nil {
		cw = &callerWindow{}
		l.callers[caller] = cw
	}
	if now.Before(cw.lockedUntil) {
		l.refused++
		return 0, cw.lockedUntil, false
	}
	drop := 0
	for drop < len(cw.arrivals) && !cw.arrivals[drop].After(now.Add(-l.window)) {
		drop++
	}
	cw.arrivals = cw.arrivals[drop:] // the array is copied when append outgrows it: O(1) a request, amortized
	if len(cw.arrivals) >= l.n {
		cw.lockedUntil = now.Add(l.window)
		cw.arrivals = nil
		l.refused++
		return 0, cw.lockedUntil, false
	}
	cw.arrivals = append(cw.arrivals, now)
	return l.n - len(cw.arrivals), cw.arrivals[0].Add(l.window), true
}

// seconds is d in whole seconds, rounded up, as the headers carry it.
func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(math.Ceil(max(d, 0).Seconds())), 10)
}

// middleware counts every operation of an authenticated caller, states
// the limit on the answer, and refuses what is past it.
func (l *rateLimit) middleware(next gen.StrictHandlerFunc, _ string) gen.StrictHandlerFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		caller := -1
		if c := server.CallerFrom(ctx); c != nil {
			caller = c.Index
		}
		now := l.now()
		remaining, reset, ok := l.admit(caller, now)
		h := w.Header()
		h.Set("Ratelimit", `"default";r=`+strconv.Itoa(remaining)+";t="+seconds(reset.Sub(now)))
		h.Set("Ratelimit-Policy", `"default";q=`+strconv.Itoa(l.n)+";w="+seconds(l.window))
		h.Set("X-Ratelimit-Limit", strconv.Itoa(l.n))
		h.Set("X-Ratelimit-Remaining", strconv.Itoa(remaining))
		if ok {
			return next(ctx, w, r, req)
		}
		h.Set("Retry-After", seconds(reset.Sub(now)))
		h.Set("X-Ratelimit-Reset", reset.UTC().Format(http.TimeFormat))
		server.WriteProblems(w, server.Problem{Status: http.StatusTooManyRequests, Code: apicode.RateLimited,
			Message: "Rate limited: please wait and consider throttling your request speed"})
		return nil, nil
	}
}
