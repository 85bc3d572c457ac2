package streamtoken

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	in := func(d time.Duration) time.Time { return now.Add(d) }
	tests := []struct {
		name    string
		status  int
		headers []string
		want    *RateLimit
	}{
		{name: "nothing", status: 200, want: nil},
		{name: "draft", status: 200, headers: []string{"Ratelimit", `"default";r=50;t=30`, "Ratelimit-Policy", `"burst";q=100;w=60`},
			want: &RateLimit{Limit: 100, Remaining: 50, Window: time.Minute, Reset: in(30 * time.Second)}},
		{name: "draft, first item wins", status: 200, headers: []string{"Ratelimit", `"burst";r=3;t=1, "daily";r=900;t=80000`},
			want: &RateLimit{Remaining: 3, Reset: in(time.Second)}},
		{name: "older draft dictionary", status: 200, headers: []string{"Ratelimit", `limit=100, remaining=0, reset=7`},
			want: &RateLimit{Limit: 100, Remaining: 0, Reset: in(7 * time.Second)}},
		{name: "older draft fields", status: 200, headers: []string{"Ratelimit-Limit", "1200", "Ratelimit-Remaining", "1199", "Ratelimit-Reset", "299"},
			want: &RateLimit{Limit: 1200, Remaining: 1199, Reset: in(299 * time.Second)}},
		{name: "x- form", status: 200, headers: []string{"X-Ratelimit-Limit", "1200", "X-Ratelimit-Remaining", "17"},
			want: &RateLimit{Limit: 1200, Remaining: 17}},
		{name: "x- form on a 429", status: 429, headers: []string{"X-Ratelimit-Limit", "1200", "X-Ratelimit-Remaining", "0", "Retry-After", "300", "X-Ratelimit-Reset", in(5 * time.Minute).Format(http.TimeFormat)},
			want: &RateLimit{Limit: 1200, Remaining: 0, Reset: in(5 * time.Minute)}},
		{name: "retry-after wins on a 429", status: 429, headers: []string{"Ratelimit", `"default";r=0;t=30`, "Retry-After", "90"},
			want: &RateLimit{Remaining: 0, Reset: in(90 * time.Second)}},
		{name: "retry-after alone on a 429", status: 429, headers: []string{"Retry-After", "2"},
			want: &RateLimit{Remaining: -1, Reset: in(2 * time.Second)}},
		{name: "retry-after is no rate limit on a 503", status: 503, headers: []string{"Retry-After", "2"}, want: nil},
		{name: "x-reset as Unix seconds", status: 200, headers: []string{"X-Ratelimit-Reset", "1796025660"},
			want: &RateLimit{Remaining: -1, Reset: time.Unix(1796025660, 0)}},
		{name: "a reset a century ahead reads as a day", status: 429, headers: []string{"Retry-After", "3155760000"},
			want: &RateLimit{Remaining: -1, Reset: in(24 * time.Hour)}},
		{name: "a window a century long reads as a day", status: 200, headers: []string{"Ratelimit-Policy", `q=5;w=3155760000`},
			want: &RateLimit{Limit: 5, Remaining: -1, Window: 24 * time.Hour}},
		{name: "garbage", status: 429, headers: []string{"Ratelimit", `"x";r=-1;t=abc`, "X-Ratelimit-Limit", "1e9", "X-Ratelimit-Remaining", "99999999999", "Retry-After", "soon"}, want: nil},
		{name: "an overlong value is ignored", status: 200, headers: []string{"Ratelimit", `"default";r=5;t=1;` + strings.Repeat("x", 300)}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for i := 0; i+1 < len(tt.headers); i += 2 {
				h.Set(tt.headers[i], tt.headers[i+1])
			}
			got := parseRateLimit(h, tt.status, now)
			switch {
			case tt.want == nil && got != nil:
				t.Errorf("parseRateLimit() = %+v, want nil", *got)
			case tt.want != nil && (got == nil || got.Limit != tt.want.Limit || got.Remaining != tt.want.Remaining || got.Window != tt.want.Window || !got.Reset.Equal(tt.want.Reset)):
				t.Errorf("parseRateLimit() = %+v, want %+v", got, *tt.want)
			}
		})
	}
}

func TestRateLimitString(t *testing.T) {
	reset := time.Date(2026, 11, 30, 8, 5, 0, 0, time.UTC)
	for r, want := range map[RateLimit]string{
		{Remaining: -1}: "no rate limit stated",
		{Limit: 1200, Remaining: 3, Window: 5 * time.Minute, Reset: reset}: "3 of 1200 left, per 5m0s, reset at 2026-11-30T08:05:00Z",
		{Remaining: 0}:                "0 left",
		{Limit: 10, Remaining: -1}:    "limit 10",
		{Remaining: -1, Reset: reset}: "reset at 2026-11-30T08:05:00Z",
	} {
		if got := r.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", r, got, want)
		}
	}
}

// FuzzParseRateLimit: any headers are a rate limit within its bounds, or
// none; never a panic.
func FuzzParseRateLimit(f *testing.F) {
	f.Add(429, `"default";r=50;t=30`, `"burst";q=100;w=60`, "1200", "0", "Sat, 30 Nov 2026 08:05:00 GMT", "300")
	f.Add(200, `limit=100, remaining=0, reset=7`, "", "", "", "1796025660", "")
	f.Add(429, `;;==,"`, `q=;w=-1`, "-1", "x", "99999999999999999999", "-5")
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, draft, policy, limit, remaining, reset, retryAfter string) {
		h := http.Header{}
		for name, v := range map[string]string{"Ratelimit": draft, "Ratelimit-Policy": policy, "X-Ratelimit-Limit": limit,
			"X-Ratelimit-Remaining": remaining, "X-Ratelimit-Reset": reset, "Retry-After": retryAfter} {
			h.Set(name, v)
		}
		r := parseRateLimit(h, status, now)
		if r == nil {
			return
		}
		switch {
		case r.Limit < 0 || r.Limit > 1e9, r.Remaining < -1 || r.Remaining > 1e9:
			t.Fatalf("counts out of bounds: %+v", *r)
		case r.Window < 0 || r.Window > maxRateLimitReset:
			t.Fatalf("window out of bounds: %+v", *r)
		case !r.Reset.IsZero() && r.Reset.After(now.Add(maxRateLimitReset)):
			t.Fatalf("reset past a day: %+v", *r)
		}
	})
}

// A budget keeps any window of per to n tries: its burst and its refill
// over per add up to n at most.
func TestBudgetBounds(t *testing.T) {
	for _, tt := range []struct {
		n   int
		per time.Duration
	}{{1, time.Second}, {2, time.Second}, {10, time.Second}, {1200, 5 * time.Minute}, {1_000_000, time.Hour}} {
		b := newBudget(tt.n, tt.per)
		// Whole tokens: the burst, and those refilled within the window.
		perWindow := float64(b.limiter.Burst()) + math.Floor(float64(b.limiter.Limit())*tt.per.Seconds())
		if perWindow > float64(tt.n) || b.limiter.Burst() < 1 {
			t.Errorf("newBudget(%d, %v): burst %d + refill %.2f over the window = %.2f; want at most %d", tt.n, tt.per, b.limiter.Burst(), float64(b.limiter.Limit())*tt.per.Seconds(), perWindow, tt.n)
		}
	}
	// No room before the deadline: at once, matching ErrRateLimited.
	b := newBudget(1, time.Hour)
	if err := b.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.wait(ctx); !errors.Is(err, ErrRateLimited) || ctx.Err() != nil {
		t.Errorf("wait() with no room before the deadline = %v (context: %v); want ErrRateLimited before the deadline", err, ctx.Err())
	}
}
