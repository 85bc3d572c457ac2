package server_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
)

// cacheEvents records what a cache tells its observer.
type cacheEvents struct {
	hits, misses, evicted, entries, bytes atomic.Int64
}

func (e *cacheEvents) CacheLookup(hit bool) {
	if hit {
		e.hits.Add(1)
	} else {
		e.misses.Add(1)
	}
}

func (e *cacheEvents) CacheSize(entries, bytes int) {
	e.entries.Add(int64(entries))
	e.bytes.Add(int64(bytes))
}

func (e *cacheEvents) CacheEvicted(n int) { e.evicted.Add(int64(n)) }

func newCache(t *testing.T, cfg server.TokenCacheConfig) *server.TokenCache {
	t.Helper()
	c, err := server.NewTokenCache(cfg)
	if err != nil {
		t.Fatalf("NewTokenCache(%+v) error = %v", cfg, err)
	}
	return c
}

// clockedSigner is a signer of k on clock, with kid.
func clockedSigner(t *testing.T, k *token.Key, kid string, clock *fakeClock) *token.Signer {
	t.Helper()
	s, err := token.NewSigner(&token.Key{ID: kid, Private: k.Private, Public: k.Public}, token.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func draft(t *testing.T, s *token.Signer, r token.Request) *token.Draft {
	t.Helper()
	d, err := s.Draft(r)
	if err != nil {
		t.Fatalf("Draft(%+v) error = %v", r, err)
	}
	return d
}

// counted signs d, counting the signatures.
func counted(d *token.Draft, n *atomic.Int64) func() (string, error) {
	return func() (string, error) {
		n.Add(1)
		return d.Sign()
	}
}

func TestCachedTokenIsTheSignedToken(t *testing.T) {
	keys(t)
	clock := newFakeClock()
	signer := clockedSigner(t, serverKey, serverKID, clock)
	events := &cacheEvents{}
	c := newCache(t, server.TokenCacheConfig{Now: clock.Now, Observer: events})
	req := token.Request{VideoID: video, Downloadable: true,
		AccessRules: []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24"}}, {Type: token.RuleAny, Action: token.ActionBlock}}}

	fresh, _, err := signer.Sign(req)
	if err != nil {
		t.Fatal(err)
	}
	var signed atomic.Int64
	first, hit, err := c.Sign(t.Context(), account, draft(t, signer, req), counted(draft(t, signer, req), &signed))
	if err != nil || hit {
		t.Fatalf("first Sign() = hit %v, error %v; want a miss that signs", hit, err)
	}
	clock.Add(500 * time.Millisecond) // the same second: the same claims
	second, hit, err := c.Sign(t.Context(), account, draft(t, signer, req), counted(draft(t, signer, req), &signed))
	if err != nil || !hit {
		t.Fatalf("second Sign() = hit %v, error %v; want a hit", hit, err)
	}
	if first != fresh || second != fresh {
		t.Error("the cache's tokens differ from the token signed afresh: they must be the same bytes")
	}
	if signed.Load() != 1 {
		t.Errorf("signatures = %d, want 1", signed.Load())
	}
	if events.hits.Load() != 1 || events.misses.Load() != 1 || events.entries.Load() != 1 || events.bytes.Load() != int64(c.Bytes()) {
		t.Errorf("observer: hits %d, misses %d, entries %d, bytes %d (cache's %d); want 1, 1, 1, the cache's",
			events.hits.Load(), events.misses.Load(), events.entries.Load(), events.bytes.Load(), c.Bytes())
	}

	// The next second's default claims are others: signed again.
	clock.Add(time.Second)
	if _, hit, _ := c.Sign(t.Context(), account, draft(t, signer, req), counted(draft(t, signer, req), &signed)); hit {
		t.Error("a request a second later hit: its exp and nbf differ")
	}
}

func TestCacheNeverCrossesKeysOrAccounts(t *testing.T) {
	keys(t)
	clock := newFakeClock()
	// Two keys under one kid: their drafts are the same bytes, their
	// tokens are not.
	a := clockedSigner(t, serverKey, "shared-kid", clock)
	b := clockedSigner(t, userKey, "shared-kid", clock)
	c := newCache(t, server.TokenCacheConfig{Now: clock.Now})
	req := token.Request{VideoID: video}
	if draft(t, a, req).SigningInput() != draft(t, b, req).SigningInput() {
		t.Fatal("the test needs two drafts with the same input")
	}
	sign := func(s *token.Signer, acct string) (string, bool) {
		t.Helper()
		d := draft(t, s, req)
		tok, hit, err := c.Sign(t.Context(), acct, d, d.Sign)
		if err != nil {
			t.Fatal(err)
		}
		return tok, hit
	}
	tokA, _ := sign(a, account)
	tokB, hit := sign(b, account)
	if hit || tokA == tokB {
		t.Fatal("another key's request got the first key's token")
	}
	vb, err := token.NewVerifier([]*token.Key{b.PublicKey()}, token.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vb.Verify(tokB); err != nil {
		t.Errorf("the second key's token does not verify with it: %v", err)
	}
	if _, hit := sign(a, otherAcct); hit {
		t.Error("another account's request hit the first account's token")
	}
	if _, hit := sign(a, account); !hit {
		t.Error("the same key, account and claims missed")
	}
}

func TestCacheNeverOutlivesTheToken(t *testing.T) {
	keys(t)
	clock := newFakeClock()
	signer := clockedSigner(t, serverKey, serverKID, clock)
	events := &cacheEvents{}
	c := newCache(t, server.TokenCacheConfig{Now: clock.Now, Observer: events})
	req := token.Request{VideoID: video, ExpiresAt: clock.Now().Add(10 * time.Second)}
	var signed atomic.Int64
	if _, _, err := c.Sign(t.Context(), account, draft(t, signer, req), counted(draft(t, signer, req), &signed)); err != nil {
		t.Fatal(err)
	}
	d := draft(t, signer, req) // drafted before exp, looked up at exp
	clock.Add(10 * time.Second)
	if _, hit, _ := c.Sign(t.Context(), account, d, counted(d, &signed)); hit {
		t.Fatal("the cache served a token at its exp")
	}
	if events.evicted.Load() != 1 {
		t.Errorf("evictions = %d, want 1: the expired entry", events.evicted.Load())
	}
	if c.Len() != 0 {
		t.Errorf("Len() = %d, want 0: an expired token is not kept", c.Len())
	}
}

func TestCacheBounds(t *testing.T) {
	keys(t)
	clock := newFakeClock()
	signer := clockedSigner(t, serverKey, serverKID, clock)
	fill := func(c *server.TokenCache, n int) {
		for i := range n {
			d := draft(t, signer, token.Request{VideoID: video[:30] + string(rune('a'+i/26)) + string(rune('a'+i%26))})
			if _, _, err := c.Sign(t.Context(), account, d, d.Sign); err != nil {
				t.Fatal(err)
			}
		}
	}
	events := &cacheEvents{}
	c := newCache(t, server.TokenCacheConfig{MaxEntries: 3, Now: clock.Now, Observer: events})
	fill(c, 5)
	if c.Len() != 3 || events.evicted.Load() != 2 || events.entries.Load() != 3 {
		t.Errorf("MaxEntries 3 after 5 tokens: Len() = %d, evictions %d, observed entries %d; want 3, 2, 3", c.Len(), events.evicted.Load(), events.entries.Load())
	}
	// The least recently used goes first: the first token is gone, the
	// last is there.
	last := draft(t, signer, token.Request{VideoID: video[:30] + "ae"})
	if _, hit, _ := c.Sign(t.Context(), account, last, last.Sign); !hit {
		t.Error("the newest token was evicted")
	}
	first := draft(t, signer, token.Request{VideoID: video[:30] + "aa"})
	if _, hit, _ := c.Sign(t.Context(), account, first, first.Sign); hit {
		t.Error("the oldest token was kept past MaxEntries")
	}

	if events.bytes.Load() != int64(c.Bytes()) {
		t.Errorf("observed bytes %d after evictions, want the cache's %d", events.bytes.Load(), c.Bytes())
	}

	one := newCache(t, server.TokenCacheConfig{Now: clock.Now})
	fill(one, 1)
	per := one.Bytes()
	// A bound of exactly n tokens holds n.
	exact := newCache(t, server.TokenCacheConfig{MaxBytes: 2 * per, Now: clock.Now})
	fill(exact, 3)
	if exact.Len() != 2 || exact.Bytes() != 2*per {
		t.Errorf("MaxBytes of exactly 2 tokens: Len() = %d, Bytes() = %d; want 2, %d", exact.Len(), exact.Bytes(), 2*per)
	}
	single := newCache(t, server.TokenCacheConfig{MaxBytes: per, Now: clock.Now})
	fill(single, 1)
	if single.Len() != 1 {
		t.Errorf("a token of exactly MaxBytes was not kept")
	}
	// The account ID counts too.
	longer := newCache(t, server.TokenCacheConfig{Now: clock.Now})
	d := draft(t, signer, token.Request{VideoID: video[:30] + "aa"})
	if _, _, err := longer.Sign(t.Context(), account+"x", d, d.Sign); err != nil {
		t.Fatal(err)
	}
	if longer.Bytes() != per+1 {
		t.Errorf("Bytes() with an account ID one longer = %d, want %d", longer.Bytes(), per+1)
	}
	small := newCache(t, server.TokenCacheConfig{MaxBytes: 2*per + per/2, Now: clock.Now})
	fill(small, 6)
	if small.Len() != 2 || small.Bytes() > 2*per+per/2 {
		t.Errorf("MaxBytes of 2.5 tokens: Len() = %d, Bytes() = %d; want 2, at most %d", small.Len(), small.Bytes(), 2*per+per/2)
	}
	tiny := newCache(t, server.TokenCacheConfig{MaxBytes: per - 1, Now: clock.Now})
	fill(tiny, 2)
	if tiny.Len() != 0 {
		t.Errorf("a token over MaxBytes was kept: Len() = %d", tiny.Len())
	}

	for _, cfg := range []server.TokenCacheConfig{{MaxEntries: -1}, {MaxBytes: -1}} {
		if _, err := server.NewTokenCache(cfg); err == nil {
			t.Errorf("NewTokenCache(%+v) error = nil", cfg)
		}
	}
}

func TestCacheIdenticalMissesSignOnce(t *testing.T) {
	keys(t)
	clock := newFakeClock()
	signer := clockedSigner(t, serverKey, serverKID, clock)
	c := newCache(t, server.TokenCacheConfig{Now: clock.Now})
	req := token.Request{VideoID: video}
	var signed atomic.Int64
	gate := make(chan struct{})
	leader := draft(t, signer, req)
	var wg sync.WaitGroup
	tokens := make([]string, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tokens[0], _, _ = c.Sign(context.Background(), account, leader, func() (string, error) {
			signed.Add(1)
			<-gate
			return leader.Sign()
		})
	}()
	waitFor(t, "the leader to sign", func() bool { return signed.Load() == 1 })
	for i := 1; i < len(tokens); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := draft(t, signer, req)
			var hit bool
			tokens[i], hit, _ = c.Sign(context.Background(), account, d, counted(d, &signed))
			if !hit {
				t.Errorf("follower %d signed while an identical request was signing", i)
			}
		}()
	}
	waitFor(t, "the followers to wait", func() bool { return server.CacheWaiters(c) == len(tokens)-1 })
	// A follower whose client leaves stops waiting.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := c.Sign(ctx, account, draft(t, signer, req), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Sign(cancelled) error = %v, want context.Canceled", err)
	}
	close(gate)
	wg.Wait()
	if signed.Load() != 1 {
		t.Errorf("signatures = %d, want 1", signed.Load())
	}
	for i, tok := range tokens {
		if tok != tokens[0] || tok == "" {
			t.Errorf("token %d differs from the leader's", i)
		}
	}
}

func TestCacheSharesTheSignersFailure(t *testing.T) {
	keys(t)
	clock := newFakeClock()
	signer := clockedSigner(t, serverKey, serverKID, clock)
	c := newCache(t, server.TokenCacheConfig{Now: clock.Now})
	d := draft(t, signer, token.Request{VideoID: video})
	shed := &server.OverloadError{RetryAfter: time.Second}
	gate, started := make(chan struct{}), make(chan struct{})
	go func() {
		_, _, _ = c.Sign(context.Background(), account, d, func() (string, error) {
			close(started)
			<-gate
			return "", shed
		})
	}()
	<-started
	var signed atomic.Int64
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Sign(context.Background(), account, d, counted(d, &signed))
		errc <- err
	}()
	waitFor(t, "the follower to wait", func() bool { return server.CacheWaiters(c) == 1 })
	close(gate)
	if err := <-errc; !errors.Is(err, shed) || signed.Load() != 0 {
		t.Errorf("follower of a shed signer: error %v, signatures %d; want the same overload and no signature of its own", err, signed.Load())
	}
}

func TestCacheAfterALeaderWhoseClientLeft(t *testing.T) {
	keys(t)
	clock := newFakeClock()
	signer := clockedSigner(t, serverKey, serverKID, clock)
	c := newCache(t, server.TokenCacheConfig{Now: clock.Now})
	d := draft(t, signer, token.Request{VideoID: video})
	failed := context.Canceled
	gate := make(chan struct{})
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Sign(context.Background(), account, d, func() (string, error) {
			close(started)
			<-gate
			return "", failed
		})
		errc <- err
	}()
	<-started
	// A follower waits for the leader; when it fails, the follower signs.
	res := make(chan bool, 1)
	go func() {
		_, hit, err := c.Sign(context.Background(), account, d, d.Sign)
		res <- err == nil && !hit
	}()
	waitFor(t, "the follower to wait", func() bool { return server.CacheWaiters(c) == 1 })
	close(gate)
	if err := <-errc; !errors.Is(err, failed) {
		t.Errorf("leader's error = %v, want its own", err)
	}
	if !<-res {
		t.Error("the follower did not sign for itself after the leader failed")
	}
	if c.Len() != 1 {
		t.Errorf("Len() = %d, want 1: the follower's token", c.Len())
	}

	// What sign returns is kept only when it is the draft's token: its
	// input, a dot and a signature.
	other := draft(t, signer, token.Request{VideoID: otherAcct})
	for _, bogus := range []string{"not.the.token", other.SigningInput(), other.SigningInput() + "x"} {
		if _, _, err := c.Sign(t.Context(), account, other, func() (string, error) { return bogus, nil }); err != nil {
			t.Fatal(err)
		}
		if c.Len() != 1 {
			t.Errorf("Len() = %d, want 1: a value that is not the draft's token was kept", c.Len())
		}
	}
}
