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
// tokens with made-up kids cannot make it fetch on every call. A fetch
// holds up no verification while a set is in use: only the first fetch is
// waited for. It is safe for concurrent use.
type KeySet struct {
	url    *url.URL
	client *http.Client
	opts   []token.Option
	now    func() time.Time // ages the set; tests move it

	mu       sync.Mutex
	verifier *token.Verifier // the set in use; nil before the first fetch
	keys     []*token.Key
	fetched  time.Time     // when the set in use was fetched
	tried    time.Time     // when a fetch was last started
	lastErr  error         // how the last fetch failed, if it did
	inflight chan struct{} // closed when the fetch under way ends
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
	_, keys, err := j.current(ctx, false)
	return keys, err
}

// Verify verifies a token with the set's keys, as [token.Verifier.Verify]
// does; a kid the set lacks makes it fetch the set once more first (see
// [KeySet]). Errors match the token package's, or say why the set could not
// be fetched; none holds the token.
func (j *KeySet) Verify(ctx context.Context, tok string) (*token.Claims, error) {
	v, _, err := j.current(ctx, false)
	if err != nil {
		return nil, err
	}
	claims, err := v.Verify(tok)
	if !errors.Is(err, token.ErrUnknownKey) {
		return claims, err
	}
	again, _, ferr := j.current(ctx, true)
	if ferr != nil || again == v {
		return nil, err // no newer set: the one in use said no
	}
	return again.Verify(tok)
}

// current returns the set in use, fetching it first when there is none,
// when it is older than KeySetMaxAge, or when early asks for a newer one;
// a fetch starts at most once per KeySetMinRefresh. Only a caller with no
// set to use waits for a fetch; a failed fetch keeps the set in use.
func (j *KeySet) current(ctx context.Context, early bool) (*token.Verifier, []*token.Key, error) {
	for {
		j.mu.Lock()
		now := j.now()
		v, keys := j.verifier, j.keys
		fresh := v != nil && !early && now.Sub(j.fetched) < KeySetMaxAge
		due := j.tried.IsZero() || now.Sub(j.tried) >= KeySetMinRefresh
		switch {
		case fresh, v != nil && (!due || j.inflight != nil):
			j.mu.Unlock()
			return v, keys, nil
		case j.inflight != nil: // the first fetch is under way: wait for it
			ch := j.inflight
			j.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		case !due: // no set, and the last fetch failed just now
			err := j.lastErr
			j.mu.Unlock()
			return nil, nil, err
		}
		prevTried := j.tried
		j.tried, j.inflight = now, make(chan struct{})
		ch := j.inflight
		j.mu.Unlock()

		fetched, err := j.fetch(ctx)
		var nv *token.Verifier
		if err == nil {
			if nv, err = token.NewVerifier(fetched, j.opts...); err != nil {
				err = fmt.Errorf("streamtoken: key set %s: %w", j.url.Redacted(), err)
			}
		}
		j.mu.Lock()
		switch {
		case err == nil:
			j.verifier, j.keys, j.fetched, j.lastErr = nv, fetched, now, nil
		case ctx.Err() != nil:
			j.tried = prevTried // this caller gave up: the next one may fetch
		default:
			j.lastErr = err
		}
		j.inflight = nil
		close(ch)
		v, keys = j.verifier, j.keys
		j.mu.Unlock()
		if v == nil {
			return nil, nil, err
		}
		return v, keys, nil // a failed fetch keeps the set in use
	}
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
