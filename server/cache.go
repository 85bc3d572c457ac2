package server

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken/token"
)

// The token cache's default bounds: some thousands of tokens of a few
// hundred bytes to a few KiB each.
const (
	DefaultTokenCacheEntries = 10_000
	DefaultTokenCacheBytes   = 16 << 20
)

// entryOverhead is what an entry costs beyond its strings: the map slot,
// the list element and the entry itself, roughly.
const entryOverhead = 160

// TokenCacheConfig configures a [TokenCache].
type TokenCacheConfig struct {
	// MaxEntries bounds the tokens held. Zero: DefaultTokenCacheEntries.
	MaxEntries int
	// MaxBytes bounds the memory they take, roughly: each token, its
	// account ID and a fixed overhead. Zero: DefaultTokenCacheBytes.
	MaxBytes int
	// Now is the clock entries expire by. Nil: time.Now.
	Now func() time.Time
	// Observer, when set, is told what the cache does; the [Server]'s
	// /metrics is one.
	Observer CacheObserver
}

// CacheObserver hears what a [TokenCache] does. Its methods are called
// outside the cache's lock and must be quick and safe for concurrent use.
type CacheObserver interface {
	// CacheLookup is called once per token asked for: hit when it came
	// from the cache (or from an identical request signing at that moment).
	CacheLookup(hit bool)
	// CacheSize is called with the change in entries and bytes as tokens
	// are stored and dropped.
	CacheSize(entries, bytes int)
	// CacheEvicted is called with the number of entries dropped to make
	// room or because their token expired.
	CacheEvicted(n int)
}

// TokenCache holds tokens by exactly what was signed: RSASSA-PKCS1-v1_5 is
// deterministic, so the same header and claims under the same key sign to
// the same bytes, and a cached token is the token signing again would
// give. Under the default claims (exp and nbf from the clock, in whole
// seconds) identical requests in the same second are one signature: a
// video many viewers ask for at once costs one RSA operation a second.
//
// An entry is keyed by the signer (the key itself, not its kid: two keys
// may share a kid), the account it was signed for, and the token's signing
// input; so no entry serves another key or another account. An entry is
// never served at or after its token's exp, and is dropped when found
// expired. The cache is bounded in entries and bytes, least recently used
// first out. Identical requests that miss together wait for one signature.
//
// Cache only the tokens of keys the server holds: a request that brings
// its own key must prove it (by signing) every time, or anyone could name
// a key's public half and receive what its private half signed. It is safe
// for concurrent use.
type TokenCache struct {
	maxEntries, maxBytes int
	now                  func() time.Time
	obs                  CacheObserver

	mu      sync.Mutex
	entries map[cacheKey]*list.Element // of *cacheEntry
	lru     list.List                  // most recently used first
	bytes   int
	flights map[cacheKey]*flight
}

type cacheKey struct {
	signer  *token.Signer
	account string
	input   string // the token's signing input: its header and claims
}

type cacheEntry struct {
	key   cacheKey
	token string
	exp   time.Time
	size  int
}

// flight is a signature under way that identical requests wait for.
type flight struct {
	done    chan struct{}
	token   string
	err     error
	waiters int // under the cache's mu
}

// NewTokenCache returns a cache configured by cfg.
func NewTokenCache(cfg TokenCacheConfig) (*TokenCache, error) {
	switch {
	case cfg.MaxEntries < 0:
		return nil, fmt.Errorf("token cache: MaxEntries %d is negative", cfg.MaxEntries)
	case cfg.MaxEntries == 0:
		cfg.MaxEntries = DefaultTokenCacheEntries
	}
	switch {
	case cfg.MaxBytes < 0:
		return nil, fmt.Errorf("token cache: MaxBytes %d is negative", cfg.MaxBytes)
	case cfg.MaxBytes == 0:
		cfg.MaxBytes = DefaultTokenCacheBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &TokenCache{maxEntries: cfg.MaxEntries, maxBytes: cfg.MaxBytes, now: cfg.Now, obs: cfg.Observer,
		entries: map[cacheKey]*list.Element{}, flights: map[cacheKey]*flight{}}, nil
}

// Sign returns the token of d signed for account: the cached one, or the
// one sign returns (sign signs d; the cache calls it at most once for
// identical drafts at the same time, and keeps what it returns). hit
// reports whether sign was spared. An error is sign's, for the identical
// requests that waited for it too (unless it is a context's: then one of
// them signs instead), or ctx's when ctx ends while an identical request
// signs.
func (c *TokenCache) Sign(ctx context.Context, account string, d *token.Draft, sign func() (string, error)) (tok string, hit bool, err error) {
	key := cacheKey{signer: d.Signer(), account: account, input: d.SigningInput()}
	for {
		tok, f, leader, expired := c.lookup(key)
		if expired > 0 {
			c.reportEvicted(1, expired)
		}
		switch {
		case f == nil:
			c.lookedUp(true)
			return tok, true, nil
		case leader:
			c.lookedUp(false)
			tok, err := sign()
			c.land(key, f, tok, err, d.Claims().ExpiresAt)
			return tok, false, err
		}
		select {
		case <-f.done:
			switch {
			case f.err == nil:
				c.lookedUp(true)
				return f.token, true, nil
			case errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded):
				// The signer's client left: try again, perhaps as the one
				// who signs.
				continue
			}
			// The signer's failure is everyone's (a full queue, a broken
			// key): trying in turn would only make each wait longer.
			c.lookedUp(false)
			return "", false, f.err
		case <-ctx.Done():
			return "", false, ctx.Err()
		}
	}
}

// lookup finds key's token, or the flight that signs it, or starts that
// flight (leader). expired is the size of an entry it found expired and
// dropped.
func (c *TokenCache) lookup(key cacheKey) (tok string, f *flight, leader bool, expired int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		if c.now().Before(e.exp) {
			c.lru.MoveToFront(el)
			return e.token, nil, false, 0
		}
		c.drop(el)
		expired = e.size
	}
	if f, ok := c.flights[key]; ok {
		f.waiters++
		return "", f, false, expired
	}
	f = &flight{done: make(chan struct{})}
	c.flights[key] = f
	return "", f, true, expired
}

// land ends f with its outcome and keeps a token that was signed.
func (c *TokenCache) land(key cacheKey, f *flight, tok string, err error, exp time.Time) {
	f.token, f.err = tok, err
	var entries, bytes, evicted, evictedBytes int
	c.mu.Lock()
	delete(c.flights, key)
	close(f.done)
	// Only the token of the draft is kept: its input, a dot, a signature.
	signed := len(tok) > len(key.input) && tok[len(key.input)] == '.' && tok[:len(key.input)] == key.input
	if err == nil && signed && c.now().Before(exp) {
		// The key's input shares the token's memory: it is its prefix.
		key.input = tok[:len(key.input)]
		e := &cacheEntry{key: key, token: tok, exp: exp, size: entryOverhead + len(tok) + len(key.account)}
		if e.size <= c.maxBytes {
			c.entries[key] = c.lru.PushFront(e)
			c.bytes += e.size
			entries, bytes = 1, e.size
			evicted, evictedBytes = c.trim()
		}
	}
	c.mu.Unlock()
	if c.obs != nil && entries > 0 {
		c.obs.CacheSize(entries, bytes)
	}
	c.reportEvicted(evicted, evictedBytes)
}

// trim drops the least recently used entries while the cache is over its
// bounds, and expired ones it meets at the old end. Under c.mu.
func (c *TokenCache) trim() (n, bytes int) {
	now := c.now()
	for el := c.lru.Back(); el != nil; el = c.lru.Back() {
		e := el.Value.(*cacheEntry)
		if c.lru.Len() <= c.maxEntries && c.bytes <= c.maxBytes && now.Before(e.exp) {
			break
		}
		c.drop(el)
		n, bytes = n+1, bytes+e.size
	}
	return n, bytes
}

// drop removes el. Under c.mu.
func (c *TokenCache) drop(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.key)
	c.bytes -= e.size
}

// reportEvicted tells the observer of n entries of bytes dropped.
func (c *TokenCache) reportEvicted(n, bytes int) {
	if c.obs != nil && n > 0 {
		c.obs.CacheEvicted(n)
		c.obs.CacheSize(-n, -bytes)
	}
}

func (c *TokenCache) lookedUp(hit bool) {
	if c.obs != nil {
		c.obs.CacheLookup(hit)
	}
}

// Len returns the number of tokens held.
func (c *TokenCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Bytes returns the memory the held tokens take, as the bound counts it.
func (c *TokenCache) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
