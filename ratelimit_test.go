package streamtoken_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

// fakeClient is a client of srv with the default retries (srv.NewClient's
// retry nothing), and opts.
func fakeClient(t *testing.T, srv *streamtokentest.Server, opts ...streamtoken.Option) *streamtoken.Client {
	t.Helper()
	c, err := streamtoken.NewClient(append([]streamtoken.Option{streamtoken.WithBaseURL(srv.URL),
		streamtoken.WithAPIToken(srv.APIToken), streamtoken.WithHTTPClient(srv.Client())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Locked out for five minutes, a call returns at once, sent once, with
// when the lockout ends: a retry would only spend a budget that has not
// come back.
func TestLockoutReturnsAtOnce(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testkey.Load(t, "rsa2048.pem", "k")),
		streamtokentest.WithRateLimit(2, streamtoken.CloudflareLockout))
	defer srv.Close()
	c := fakeClient(t, srv)
	ctx := context.Background()
	for range 2 {
		tok, err := c.CreateToken(ctx, testAccount, testVideo, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if tok.RateLimit == nil || tok.RateLimit.Limit != 2 {
			t.Fatalf("Token.RateLimit = %v, want the fake's limit of 2", tok.RateLimit)
		}
	}
	if rl, ok := c.RateLimit(); !ok || rl.Remaining != 0 || rl.Window != streamtoken.CloudflareLockout {
		t.Errorf("Client.RateLimit() = %v, %v; want 0 of 2 left per 5m", rl, ok)
	}
	before := srv.Requests()
	start := time.Now()
	_, err := c.CreateToken(ctx, testAccount, testVideo, streamtoken.TokenRequest{})
	took := time.Since(start)
	var apiErr *streamtoken.APIError
	if !errors.Is(err, streamtoken.ErrRateLimited) || !errors.As(err, &apiErr) || apiErr.RateLimit == nil {
		t.Fatalf("CreateToken() past the limit = %v, want an *APIError matching ErrRateLimited", err)
	}
	if sent := srv.Requests() - before; sent != 1 || apiErr.Attempts != 1 {
		t.Errorf("requests sent past the limit: %d (attempts %d), want 1", sent, apiErr.Attempts)
	}
	if lifts := time.Until(apiErr.RateLimit.Reset); lifts < 4*time.Minute || lifts > 5*time.Minute+time.Second {
		t.Errorf("the limit lifts in %v, want about 5 minutes", lifts)
	}
	t.Logf("past the limit: %v after %v, 1 request", err, took)
}

// A client's budget at the fake's limit keeps 16 goroutines clear of any
// 429; the same load without it is refused.
func TestBudgetKeepsUnderTheLimit(t *testing.T) {
	const (
		limit      = 40
		window     = time.Second
		goroutines = 16
		calls      = 6 // each: 96 in all, over two windows' worth
	)
	run := func(t *testing.T, opts ...streamtoken.Option) (refused int, errs []error) {
		srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testkey.Load(t, "rsa2048.pem", "k")),
			streamtokentest.WithRateLimit(limit, window))
		defer srv.Close()
		c := fakeClient(t, srv, append([]streamtoken.Option{streamtoken.WithMaxRetries(0)}, opts...)...)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range calls {
					if _, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{}); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		return srv.RateLimitRefusals(), errs
	}
	start := time.Now()
	refused, errs := run(t, streamtoken.WithRequestBudget(limit, window))
	if refused != 0 || len(errs) != 0 {
		t.Fatalf("with a budget of %d per %v: %d refused, errors %v; want none", limit, window, refused, errs)
	}
	t.Logf("with the budget: %d calls from %d goroutines in %v, none refused", goroutines*calls, goroutines, time.Since(start))
	refused, errs = run(t)
	if refused == 0 || len(errs) == 0 || !errors.Is(errs[0], streamtoken.ErrRateLimited) {
		t.Fatalf("without a budget: %d refused, %d errors; want the fake to refuse some", refused, len(errs))
	}
	t.Logf("without it: %d of %d refused", refused, goroutines*calls)
}
