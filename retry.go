package streamtoken

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// The default retry policy: up to 3 retries (4 tries in all), waiting about
// 0.5 s, 1 s and 2 s (each with up to half of it taken off at random), and a
// server's Retry-After of up to 30 s.
const (
	DefaultMaxRetries  = 3
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = 30 * time.Second
)

type retryPolicy struct {
	maxRetries       int
	base, max        time.Duration
	maxRateLimitWait time.Duration // a 429 that asks for longer is not retried
}

func defaultRetryPolicy() retryPolicy {
	return retryPolicy{maxRetries: DefaultMaxRetries, base: DefaultBackoffBase, max: DefaultBackoffMax, maxRateLimitWait: DefaultMaxRateLimitWait}
}

// retryable reports whether a response status is worth another try: a
// timeout, a rate limit, or a server fault other than "not implemented".
func retryable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return status >= 500 && status <= 599
}

// wait returns how long to wait before retry number n (0 for the first),
// and whether to retry at all: the server's Retry-After when it gave one,
// else exponential backoff with jitter; capped at max either way. A 429
// that says when the limit lifts is waited out up to maxRateLimitWait,
// and not retried when it asks for longer.
func (p retryPolicy) wait(n int, resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		if rl := parseRateLimit(resp.Header, resp.StatusCode, now); rl != nil && !rl.Reset.IsZero() {
			d := max(rl.Reset.Sub(now), 0)
			return d, d <= p.maxRateLimitWait
		}
	}
	if resp != nil {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), now, p.max); ok {
			return d, true
		}
	}
	d := p.base << min(n, 30)
	if d <= 0 || d > p.max {
		d = p.max
	}
	// Take up to half off at random, so that clients that failed together
	// do not all come back together.
	return d - rand.N(d/2+1), true
}

// retryAfter parses a Retry-After header, delay seconds or an HTTP date,
// into a wait of at most limit. The seconds are clamped before they are
// turned into a Duration, so that a huge value cannot overflow into a
// negative wait.
func retryAfter(v string, now time.Time, limit time.Duration) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if secs < 0 {
			return 0, false
		}
		if secs >= int64(limit/time.Second) { // also a value past int64
			return limit, true
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), limit), true
	}
	return 0, false
}

// retryingDoer sends a request and sends it again, body and all, while the
// policy allows. The request body must be replayable (GetBody set), as the
// generated client's requests are.
type retryingDoer struct {
	client *http.Client
	policy retryPolicy
	now    func() time.Time
	// sleep waits between tries; tests replace it to observe the waits
	// without spending them.
	sleep func(ctx context.Context, d time.Duration) error
	// budget, when set, paces every try (WithRequestBudget).
	budget *budget
}

// attemptsKey keys the counter of a call's tries in its context;
// noReplayKey marks a call that must not be sent twice.
type (
	attemptsKey struct{}
	noReplayKey struct{}
)

// withoutReplay marks a call that is not idempotent (a create, a delete):
// it is retried only when it cannot have been processed, on a refused
// connection or a 429, never after a timeout, a reset or a 5xx, which may
// come after the server acted.
func withoutReplay(ctx context.Context) context.Context {
	return context.WithValue(ctx, noReplayKey{}, true)
}

// unprocessed reports whether a try surely did nothing on the server: the
// connection was refused (the request never left), or a 429.
func unprocessed(resp *http.Response, err error) bool {
	if err != nil {
		var op *net.OpError
		return errors.As(err, &op) && op.Op == "dial" && errors.Is(err, syscall.ECONNREFUSED)
	}
	return resp.StatusCode == http.StatusTooManyRequests
}

// countAttempts returns a context in which the retrying doer counts the
// tries of one call into the returned int.
func countAttempts(ctx context.Context) (context.Context, *int) {
	n := new(int)
	return context.WithValue(ctx, attemptsKey{}, n), n
}

// attemptsNote says how many tries a failed call made, when more than one.
func attemptsNote(n int) string {
	if n <= 1 {
		return ""
	}
	return " (after " + strconv.Itoa(n) + " attempts)"
}

func (d *retryingDoer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	attempts, _ := ctx.Value(attemptsKey{}).(*int)
	noReplay, _ := ctx.Value(noReplayKey{}).(bool)
	for n := 0; ; n++ {
		if d.budget != nil {
			if err := d.budget.wait(ctx); err != nil {
				return nil, err
			}
		}
		if attempts != nil {
			*attempts = n + 1
		}
		resp, err := d.client.Do(req)
		if n >= d.policy.maxRetries || ctx.Err() != nil || (err == nil && !retryable(resp.StatusCode)) ||
			(noReplay && !unprocessed(resp, err)) {
			return resp, err
		}
		// A transport error (refused, reset, timed out) is retried while
		// the caller's context lives: the call mints a new token each time,
		// so sending it twice does no harm.
		wait, again := d.policy.wait(n, resp, d.now())
		if deadline, ok := ctx.Deadline(); !again || (ok && time.Until(deadline) < wait) {
			return resp, err // the answer that asked for the wait, not a timeout in it
		}
		if resp != nil {
			// Let the connection be reused: read a little of what is left.
			_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
			resp.Body.Close()
		}
		if err := d.sleep(ctx, wait); err != nil {
			return nil, err
		}
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, errors.New("streamtoken: cannot retry a request whose body cannot be replayed")
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req = req.Clone(ctx)
			req.Body = body
		}
	}
}

// sleep waits for d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
