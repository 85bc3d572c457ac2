package streamtoken

import (
	"context"
	"errors"
	"fmt"

	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Cloudflare's API limits (its documentation): requests per user or API
// token, counted across every call, and per client IP. Past them every
// call of that user is refused with a 429 for [CloudflareLockout].
const (
	CloudflareRequests = 1200
	CloudflareWindow   = 5 * time.Minute
	CloudflareLockout  = 5 * time.Minute
	CloudflarePerIP    = 200 // requests a second
)

// DefaultMaxRateLimitWait is how long a call waits out a 429 whose answer
// says when the limit lifts, unless [WithMaxRateLimitWait] says otherwise:
// a short burst limit is waited out and the call retried; Cloudflare's
// five-minute lockout is not, so that retries do not spend the budget of
// a limit that has not lifted.
const DefaultMaxRateLimitWait = 5 * time.Second

// maxRateLimitReset bounds how far ahead an answer may put its reset: a
// hostile or broken server's "in a century" reads as a day.
const maxRateLimitReset = 24 * time.Hour

// RateLimit is what an answer states of the caller's rate limit, in
// either of the header forms Cloudflare uses: the IETF draft's
// (RateLimit: "default";r=50;t=30 and RateLimit-Policy:
// "burst";q=100;w=60, or the older RateLimit-Limit, -Remaining and -Reset)
// or X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset, with
// Retry-After on a 429.
type RateLimit struct {
	// Limit is how many requests the window allows; 0 when not stated.
	Limit int
	// Remaining is how many are left in the window; -1 when not stated.
	Remaining int
	// Window is the policy's window; 0 when not stated.
	Window time.Duration
	// Reset is when the window resets or, on a 429, when the limit lifts
	// and a request may be sent again (at most a day ahead); zero when not
	// stated.
	Reset time.Time
}

// String is the limit as "remaining/limit per window, reset at time",
// leaving out what the answer did not state.
func (r RateLimit) String() string {
	var parts []string
	switch {
	case r.Remaining >= 0 && r.Limit > 0:
		parts = append(parts, fmt.Sprintf("%d of %d left", r.Remaining, r.Limit))
	case r.Remaining >= 0:
		parts = append(parts, fmt.Sprintf("%d left", r.Remaining))
	case r.Limit > 0:
		parts = append(parts, fmt.Sprintf("limit %d", r.Limit))
	}
	if r.Window > 0 {
		parts = append(parts, "per "+r.Window.String())
	}
	if !r.Reset.IsZero() {
		parts = append(parts, "reset at "+r.Reset.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "no rate limit stated"
	}
	return strings.Join(parts, ", ")
}

// maxHeaderValue bounds the rate-limit header values read: longer ones are
// no answer of Cloudflare's, and are ignored.
const maxHeaderValue = 256

// parseRateLimit reads the rate-limit headers of an answer received at
// now, or returns nil when it states none.
func parseRateLimit(h http.Header, status int, now time.Time) *RateLimit {
	if !statesRateLimit(h, status) {
		return nil // most answers: no work, no allocation
	}
	r := RateLimit{Remaining: -1}
	stated := false
	get := func(name string) string {
		v := h.Get(name)
		if len(v) > maxHeaderValue {
			return ""
		}
		return strings.TrimSpace(v)
	}
	setReset := func(d time.Duration) {
		r.Reset = now.Add(min(d, maxRateLimitReset))
		stated = true
	}
	// The draft's structured form: the first item's parameters.
	if params := firstItemParams(get("Ratelimit")); params != nil {
		if n, ok := count(params["r"]); ok {
			r.Remaining, stated = n, true
		}
		if n, ok := count(params["q"]); ok && n > 0 {
			r.Limit, stated = n, true
		}
		if d, ok := seconds(params["t"]); ok {
			setReset(d)
		}
	}
	if params := firstItemParams(get("Ratelimit-Policy")); params != nil {
		if n, ok := count(params["q"]); ok && n > 0 && r.Limit == 0 {
			r.Limit, stated = n, true
		}
		if d, ok := seconds(params["w"]); ok && d > 0 {
			r.Window, stated = d, true
		}
	}
	// The older draft's fields, then the X- form, where the above said
	// nothing.
	for _, names := range [...][3]string{
		{"Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset"},
		{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"},
	} {
		if n, ok := count(get(names[0])); ok && n > 0 && r.Limit == 0 {
			r.Limit, stated = n, true
		}
		if n, ok := count(get(names[1])); ok && r.Remaining < 0 {
			r.Remaining, stated = n, true
		}
		if r.Reset.IsZero() {
			if d, ok := resetIn(get(names[2]), now); ok {
				setReset(d)
			}
		}
	}
	// On a 429, Retry-After is when the limit lifts, whatever the window.
	if status == http.StatusTooManyRequests {
		if d, ok := retryAfter(get("Retry-After"), now, maxRateLimitReset); ok {
			setReset(d)
		}
	}
	if !stated {
		return nil
	}
	return &r
}

// statesRateLimit reports whether an answer has a rate-limit header (or,
// on a 429, a Retry-After), without reading any.
func statesRateLimit(h http.Header, status int) bool {
	for name := range h {
		if strings.HasPrefix(name, "Ratelimit") || strings.HasPrefix(name, "X-Ratelimit-") ||
			(status == http.StatusTooManyRequests && name == "Retry-After") {
			return true
		}
	}
	return false
}

// firstItemParams returns the parameters of a structured header's first
// list item ("default";r=50;t=30, or the older limit=100, remaining=50):
// key=value pairs, keys lowercased, values unquoted. Nil for an empty
// value.
func firstItemParams(v string) map[string]string {
	if v == "" {
		return nil
	}
	params := map[string]string{}
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		if _, seen := params[key]; seen {
			continue // a later item's
		}
		params[key] = strings.Trim(strings.TrimSpace(value), `"`)
	}
	// The older draft's names.
	for long, short := range map[string]string{"limit": "q", "remaining": "r", "reset": "t"} {
		if v, ok := params[long]; ok {
			if _, set := params[short]; !set {
				params[short] = v
			}
		}
	}
	return params
}

// count parses a non-negative whole number of at most a billion.
func count(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1e9 {
		return 0, false
	}
	return n, true
}

// seconds parses a whole number of seconds, at most maxRateLimitReset (a
// larger one, however large, reads as that).
func seconds(s string) (time.Duration, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange), s == "" || s[0] == '+':
		return 0, false
	case err != nil || n >= uint64(maxRateLimitReset/time.Second):
		return maxRateLimitReset, true
	}
	return time.Duration(n) * time.Second, true
}

// unixThreshold is where a reset in seconds reads as a Unix time: over
// three years of seconds from now is no window's.
const unixThreshold = 100_000_000

// resetIn reads a reset header: an HTTP date (X-RateLimit-Reset on a
// 429), seconds from now, or, for a number too large to be that, Unix
// seconds.
func resetIn(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= unixThreshold && n < 1<<40 {
		return max(time.Unix(n, 0).Sub(now), 0), true
	}
	if d, ok := seconds(v); ok {
		return d, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// budget paces a client's tries so that no window of per holds more than
// n, with a margin for the requests' travel, as a server counts them on
// arrival.
type budget struct {
	limiter *rate.Limiter
	n       int
	per     time.Duration
}

// newBudget is a token bucket whose burst and refill over per add up to n:
// a burst of a tenth of n (at least one), refilled at the rest's rate
// spread over per and a twentieth more.
func newBudget(n int, per time.Duration) *budget {
	burst := max(1, n/10)
	refill := max(n-burst, 1)
	span := per + per/20
	return &budget{limiter: rate.NewLimiter(rate.Limit(float64(refill)/span.Seconds()), burst), n: n, per: per}
}

// wait takes one request's room from the budget, waiting while ctx
// allows. When ctx would end first it fails at once, with an error that
// matches ErrRateLimited.
func (b *budget) wait(ctx context.Context) error {
	err := b.limiter.Wait(ctx)
	if err == nil || ctx.Err() != nil {
		return err
	}
	return &budgetError{n: b.n, per: b.per}
}

// budgetError is a call the client's own budget turned away.
type budgetError struct {
	n   int
	per time.Duration
}

func (e *budgetError) Error() string {
	return fmt.Sprintf("the client's budget of %d requests per %v has no room before the context's deadline", e.n, e.per)
}

// Is matches ErrRateLimited.
func (e *budgetError) Is(target error) bool { return target == ErrRateLimited }

// WithRequestBudget keeps the client's calls under n requests in any
// window of per, retries included, shared by every call and goroutine of
// the client: a call waits its turn while its context allows, and fails
// at once with an error matching [ErrRateLimited] when its context's
// deadline would pass first. WithRequestBudget(CloudflareRequests,
// CloudflareWindow) keeps a busy service out of Cloudflare's lockout (the
// limit counts every call of the token, from every process: give each
// process its share). Calls signed locally ([WithSigner]) spend nothing.
func WithRequestBudget(n int, per time.Duration) Option {
	return func(c *config) error {
		if n < 1 || n > 1_000_000 {
			return fmt.Errorf("WithRequestBudget: %d requests: want 1 to 1,000,000", n)
		}
		if per < time.Millisecond || per > maxRateLimitReset {
			return fmt.Errorf("WithRequestBudget: a window of %v: want 1ms to 24h", per)
		}
		c.budget = newBudget(n, per)
		return nil
	}
}

// WithMaxRateLimitWait sets the longest wait a call spends on a 429 that
// says when the limit lifts (Retry-After, or a reset header) before it
// tries again; a 429 that asks for longer is returned at once, as an
// [*APIError] matching [ErrRateLimited] whose RateLimit.Reset says when
// the limit lifts. Zero returns every such 429 at once. The default is
// [DefaultMaxRateLimitWait]. A 429 that says nothing of when is retried
// with backoff, as other failures are.
func WithMaxRateLimitWait(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > maxRateLimitReset {
			return fmt.Errorf("WithMaxRateLimitWait: %v: want 0 to 24h", d)
		}
		c.retry.maxRateLimitWait = d
		return nil
	}
}
