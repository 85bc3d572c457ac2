package streamtoken

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken/token"
)

// Bounds of a [KeySet]: how long a fetched set is used, how soon a token with
// an unknown kid may cause another fetch, how long a fetch may take and how
// large a set may be (at most [token.MaxJWKSKeys] keys too).
const (
	KeySetMaxAge       = 5 * time.Minute
	KeySetMinRefresh   = 10 * time.Second
	KeySetTimeout      = 15 * time.Second
	MaxKeySetBytes     = 1 << 20
	maxKeySetRedirects = 5
)

// KeySet verifies tokens against a JWK set served over HTTP, such as a token
// server's /.well-known/jwks.json, as "streamtoken verify --jwks" does. The
// set is fetched when first needed and used for [KeySetMaxAge]; a token whose
// kid it lacks causes one early fetch, at most every [KeySetMinRefresh], so
// that a new key is picked up at once and a deleted one dropped, while
// tokens with made-up kids cannot make it fetch on every call. It is safe
// for concurrent use.
type KeySet struct {
	url    *url.URL
	client *http.Client
	opts   []token.Option
	now    func() time.Time // ages the set; tests move it

	mu       sync.Mutex
	verifier *token.Verifier
	keys     []*token.Key
	fetched  time.Time // when the set in use was fetched
	tried    time.Time // when a fetch was last tried
}

// NewKeySet returns a KeySet for the set at rawURL: https, or http to a
// loopback address only. A redirect is followed only to the same scheme and
// host, at most five times. opts configure the verifier ([token.WithClock],
// [token.WithLeeway]) and are checked at the first fetch: nothing is
// fetched yet.
func NewKeySet(rawURL string, opts ...token.Option) (*KeySet, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("streamtoken: key set: want an absolute https URL")
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("streamtoken: key set %s: http is for loopback addresses only; use https", u.Redacted())
	}
	return &KeySet{url: u, opts: opts, now: time.Now, client: &http.Client{
		Timeout: KeySetTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			first := via[0].URL
			switch {
			case len(via) >= maxKeySetRedirects:
				return fmt.Errorf("more than %d redirects", maxKeySetRedirects)
			case req.URL.Scheme != first.Scheme || req.URL.Host != first.Host:
				return fmt.Errorf("refused a redirect to another host or scheme (%s://%s)", req.URL.Scheme, req.URL.Host)
			}
			return nil
		},
	}}, nil
}

// Keys returns the keys of the set, fetching it if it is older than
// [KeySetMaxAge].
func (j *KeySet) Keys(ctx context.Context) ([]*token.Key, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.refresh(ctx, false); err != nil {
		return nil, err
	}
	return j.keys, nil
}

// Verify verifies a token with the set's keys, as [token.Verifier.Verify]
// does; a kid the set lacks makes it fetch the set once more first (see
// [KeySet]). Errors match the token package's, or say why the set could not
// be fetched; none holds the token.
func (j *KeySet) Verify(ctx context.Context, tok string) (*token.Claims, error) {
	j.mu.Lock()
	if err := j.refresh(ctx, false); err != nil {
		j.mu.Unlock()
		return nil, err
	}
	v := j.verifier
	j.mu.Unlock()
	claims, err := v.Verify(tok)
	if !errors.Is(err, token.ErrUnknownKey) {
		return claims, err
	}
	j.mu.Lock()
	if rerr := j.refresh(ctx, true); rerr != nil {
		j.mu.Unlock()
		return nil, err // the set as it was said no; say that
	}
	v = j.verifier
	j.mu.Unlock()
	return v.Verify(tok)
}

// refresh fetches the set when it is stale, or when early is set; either
// way at most once per KeySetMinRefresh. A failed fetch keeps the set in use.
// j.mu is held.
func (j *KeySet) refresh(ctx context.Context, early bool) error {
	now := j.now()
	switch {
	case j.verifier == nil && !j.tried.IsZero() && now.Sub(j.tried) < KeySetMinRefresh:
		return fmt.Errorf("streamtoken: key set %s: the last fetch failed under %v ago", j.url.Redacted(), KeySetMinRefresh)
	case j.verifier != nil && !early && (now.Sub(j.fetched) < KeySetMaxAge || now.Sub(j.tried) < KeySetMinRefresh):
		return nil // fresh, or stale with a fetch just tried
	case j.verifier != nil && early && now.Sub(j.tried) < KeySetMinRefresh:
		return errors.New("fetched too recently")
	}
	j.tried = now
	keys, err := j.fetch(ctx)
	if err != nil {
		if j.verifier != nil && !early {
			return nil // serve the old set until the source is back
		}
		return err
	}
	v, err := token.NewVerifier(keys, j.opts...)
	if err != nil {
		return fmt.Errorf("streamtoken: key set %s: %w", j.url.Redacted(), err)
	}
	j.verifier, j.keys, j.fetched = v, keys, now
	return nil
}

// fetch gets and parses the set, within KeySetTimeout and MaxKeySetBytes.
func (j *KeySet) fetch(ctx context.Context) ([]*token.Key, error) {
	where := "streamtoken: key set " + j.url.Redacted()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		var urlErr *url.Error // it repeats the URL
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", where, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxKeySetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if len(data) > MaxKeySetBytes {
		return nil, fmt.Errorf("%s: the JWK set is too large (over 1 MiB)", where)
	}
	keys, err := token.ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return keys, nil
}

// isLoopback reports whether host (without a port) is localhost or a
// loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
