package streamtoken

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryWait(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	p := retryPolicy{maxRetries: 3, base: 100 * time.Millisecond, max: 10 * time.Second}
	header := func(v string) *http.Response {
		return &http.Response{Header: http.Header{"Retry-After": []string{v}}}
	}
	tests := []struct {
		name     string
		n        int
		resp     *http.Response
		min, max time.Duration
	}{
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
				if got := p.wait(tt.n, tt.resp, now); got < tt.min || got > tt.max {
					t.Fatalf("wait(%d) = %v, want within [%v, %v]", tt.n, got, tt.min, tt.max)
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
