package streamtoken

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryWait(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	p := retryPolicy{maxRetries: 3, base: 100 * time.Millisecond, max: 10 * time.Second, maxRateLimitWait: 5 * time.Second}
	header := func(v string) *http.Response {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": []string{v}}}
	}
	limited := func(h ...string) *http.Response {
		resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{}}
		for i := 0; i+1 < len(h); i += 2 {
			resp.Header.Set(h[i], h[i+1])
		}
		return resp
	}
	tests := []struct {
		name     string
		n        int
		resp     *http.Response
		min, max time.Duration
		giveUp   bool // not retried at all
	}{
		{name: "429 retry-after within the longest wait", n: 0, resp: limited("Retry-After", "3"), min: 3 * time.Second, max: 3 * time.Second},
		{name: "429 retry-after at the longest wait", n: 0, resp: limited("Retry-After", "5"), min: 5 * time.Second, max: 5 * time.Second},
		{name: "429 retry-after past the longest wait", n: 0, resp: limited("Retry-After", "6"), giveUp: true},
		{name: "429 lockout", n: 0, resp: limited("Retry-After", "300", "X-RateLimit-Reset", now.Add(5*time.Minute).Format(http.TimeFormat)), giveUp: true},
		{name: "429 reset date alone", n: 0, resp: limited("X-RateLimit-Reset", now.Add(4*time.Second).Format(http.TimeFormat)), min: 4 * time.Second, max: 4 * time.Second},
		{name: "429 draft reset alone", n: 0, resp: limited("Ratelimit", `"default";r=0;t=2`), min: 2 * time.Second, max: 2 * time.Second},
		{name: "429 draft reset past the longest wait", n: 0, resp: limited("Ratelimit", `"default";r=0;t=60`), giveUp: true},
		{name: "429 saying nothing of when", n: 1, resp: limited("X-RateLimit-Remaining", "0"), min: 100 * time.Millisecond, max: 200 * time.Millisecond},
		{name: "first backoff", n: 0, min: 50 * time.Millisecond, max: 100 * time.Millisecond},
		{name: "third backoff", n: 2, min: 200 * time.Millisecond, max: 400 * time.Millisecond},
		{name: "backoff capped", n: 20, min: 5 * time.Second, max: 10 * time.Second},
		{name: "huge retry number", n: 1000, min: 5 * time.Second, max: 10 * time.Second},
		{name: "retry-after seconds", n: 0, resp: header("3"), min: 3 * time.Second, max: 3 * time.Second},
		{name: "retry-after zero", n: 2, resp: header("0"), min: 0, max: 0},
		{name: "retry-after capped", n: 0, resp: header("3600"), min: 10 * time.Second, max: 10 * time.Second},
		{name: "retry-after date", n: 0, resp: header(now.Add(7 * time.Second).Format(http.TimeFormat)), min: 7 * time.Second, max: 7 * time.Second},
		{name: "retry-after date passed", n: 0, resp: header(now.Add(-time.Minute).Format(http.TimeFormat)), min: 0, max: 0},
		{name: "retry-after garbage", n: 0, resp: header("soon"), min: 50 * time.Millisecond, max: 100 * time.Millisecond},
		{name: "retry-after negative", n: 0, resp: header("-5"), min: 50 * time.Millisecond, max: 100 * time.Millisecond},
		{name: "retry-after past int64 nanoseconds", n: 0, resp: header("9300000000"), min: 10 * time.Second, max: 10 * time.Second},
		{name: "retry-after past int64", n: 0, resp: header("99999999999999999999"), min: 10 * time.Second, max: 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 50 { // the jitter is random: try it often
				got, again := p.wait(tt.n, tt.resp, now)
				switch {
				case tt.giveUp && again:
					t.Fatalf("wait(%d) = %v, retry; want no retry", tt.n, got)
				case !tt.giveUp && (!again || got < tt.min || got > tt.max):
					t.Fatalf("wait(%d) = %v, %v; want a retry within [%v, %v]", tt.n, got, again, tt.min, tt.max)
				}
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	for status, want := range map[int]bool{
		200: false, 400: false, 401: false, 403: false, 404: false, 408: true, 409: false, 413: false,
		429: true, 500: true, 501: false, 502: true, 503: true, 504: true, 505: false, 599: true,
	} {
		if got := retryable(status); got != want {
			t.Errorf("retryable(%d) = %v, want %v", status, got, want)
		}
	}
}
