package streamtoken

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/netaddr"
	"github.com/streamtoken/streamtoken/token"
)

// Bounds of a [KeySet]: how soon a token with an unknown kid may cause
// another fetch, how long a fetch may take and how large a set may be (at
// most [token.MaxJWKSKeys] keys too). How long a set is used is
// [token.DefaultJWKSMaxAge], unless [KeySetMaxAge] says otherwise.
const (
	KeySetMinRefresh   = 10 * time.Second
	KeySetTimeout      = 15 * time.Second
	KeySetMaxBytes     = 1 << 20
	maxKeySetRedirects = 5
)

// KeySet verifies tokens against a JWK set served over HTTP: an account's
// set on a streamtoken server (see [KeySetURL]), as "streamtoken verify"
// does. A verifier of account A's videos uses A's set: it holds the keys
// that sign A's tokens and those created through A's keys API, and no
// other account's, so a token minted for another account is refused as
// signed by an unknown key.
//
// The set is fetched when first needed. It is refreshed once it is half its
// maximum age old (by the first caller then; the others go on with the set
// in use) and never used past that age ([token.DefaultJWKSMaxAge], or
// [KeySetMaxAge]): a key deleted from the served set stops verifying
// within the maximum age, plus whatever an HTTP cache between adds (the
// server's Cache-Control max-age is that same bound). Past it, a caller
// waits for a fresh set, and a set that cannot be fetched then is an error,
// not a stale set. A token whose kid the set lacks causes one early fetch,
// at most every [KeySetMinRefresh] (or a quarter of the maximum age, if
// less), so that a new key is picked up at once while tokens with made-up
// kids cannot make it fetch on every call. It is safe for concurrent use.
type KeySet struct {
	url        *url.URL
	client     *http.Client
	opts       []token.VerifierOption
	maxAge     time.Duration
	minRefresh time.Duration
	now        func() time.Time // ages the set; tests move it

	mu       sync.Mutex
	verifier *token.Verifier // the set in use; nil before the first fetch
	keys     []*token.Key
	fetched  time.Time     // when the fetch of the set in use started
	tried    time.Time     // when a fetch was last started
	lastErr  error         // how the last fetch failed, if it did
	inflight chan struct{} // closed when the fetch under way ends
}

// KeySetOption configures a [KeySet]. An option returns an error for a bad
// value, which NewKeySet returns.
type KeySetOption func(*KeySet) error

// KeySetMaxAge bounds how long a fetched set is used: a key deleted from
// the served set stops verifying within d. Between 1 s and 24 h; the
// default is [token.DefaultJWKSMaxAge].
func KeySetMaxAge(d time.Duration) KeySetOption {
	return func(j *KeySet) error {
		if d < time.Second || d > 24*time.Hour {
			return fmt.Errorf("KeySetMaxAge(%v): want between 1s and 24h", d)
		}
		j.maxAge = d
		return nil
	}
}

// KeySetVerifyOptions are the options of the verification itself:
// [token.WithClock] and [token.WithLeeway].
func KeySetVerifyOptions(opts ...token.VerifierOption) KeySetOption {
	return func(j *KeySet) error {
		j.opts = append(j.opts, opts...)
		return nil
	}
}

// KeySetURL returns the URL of an account's JWK set on a streamtoken
// server whose API base URL is baseURL (ending in /client/v4, as given to
// [WithBaseURL]): http://HOST:PORT/.well-known/jwks/ACCOUNT.json. Cloudflare's
// own API publishes no JWK set: verify its tokens with the signing key.
func KeySetURL(baseURL, accountID string) (string, error) {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}); err != nil {
		return "", err
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errors.New("streamtoken: key set: want an absolute base URL, such as http://127.0.0.1:8787/client/v4")
	}
	root, ok := strings.CutSuffix(strings.TrimSuffix(u.Path, "/"), "/client/v4")
	if !ok {
		return "", fmt.Errorf("streamtoken: key set: base URL %s does not end in /client/v4", u.Redacted())
	}
	if strings.EqualFold(u.Hostname(), "api.cloudflare.com") {
		return "", errors.New("streamtoken: key set: Cloudflare's API publishes no JWK set: verify with the signing key (its pem or jwk)")
	}
	// The route's template filled in as it is, not escaped (gen's path
	// builder escapes): url.URL escapes its Path itself.
	u.Path, u.RawPath, u.RawQuery, u.Fragment = root+strings.Replace(gen.GetAccountKeySetRoute.Path, "{account_id}", accountID, 1), "", "", ""
	return u.String(), nil
}

// NewKeySet returns a KeySet for the set at rawURL (for an account's set on
// a streamtoken server, see [KeySetURL]): https, or http to a loopback
// address only. A redirect is followed only to the same scheme and host,
// at most five times. Nothing is fetched yet; the options are checked now.
func NewKeySet(rawURL string, opts ...KeySetOption) (*KeySet, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("streamtoken: key set: want an absolute https URL")
	}
	if u.Scheme == "http" && !netaddr.IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("streamtoken: key set %s: http is for loopback addresses only; use https", u.Redacted())
	}
	j := &KeySet{url: u, now: time.Now, maxAge: token.DefaultJWKSMaxAge}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(j); err != nil {
			return nil, fmt.Errorf("streamtoken: %w", err)
		}
	}
	if _, err := token.NewVerifier(nil, j.opts...); err != nil {
		return nil, fmt.Errorf("streamtoken: key set: %w", err)
	}
	j.minRefresh = min(KeySetMinRefresh, j.maxAge/4)
	j.client = &http.Client{
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
	}
	return j, nil
}

// Keys returns the keys of the set, fetching it first when the set in use
// is due for a refresh (see [KeySet]).
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

// current returns the set to verify with. A set younger than half its
// maximum age is used as it is (unless early asks for a newer one); an
// older one is used while its first caller fetches anew; one of the
// maximum age or more, or none, is waited for. A fetch starts at most once
// per minRefresh, and a failed one keeps a set that has not expired.
func (j *KeySet) current(ctx context.Context, early bool) (*token.Verifier, []*token.Key, error) {
	for {
		j.mu.Lock()
		now := j.now()
		v, keys := j.verifier, j.keys
		age := now.Sub(j.fetched)
		usable := v != nil && age < j.maxAge
		fresh := usable && !early && age < j.maxAge/2
		due := j.tried.IsZero() || now.Sub(j.tried) >= j.minRefresh
		switch {
		case fresh, usable && (!due || j.inflight != nil):
			j.mu.Unlock()
			return v, keys, nil
		case j.inflight != nil: // no set to use: wait for the fetch under way
			ch := j.inflight
			j.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		case !due: // no set to use, and the last fetch failed just now
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
		usable = v != nil && j.now().Sub(j.fetched) < j.maxAge
		j.mu.Unlock()
		if !usable {
			if err == nil { // fetched, and expired on the way: a clock moved by a test
				err = fmt.Errorf("streamtoken: key set %s: expired as it was fetched", j.url.Redacted())
			}
			return nil, nil, err
		}
		return v, keys, nil // a failed fetch keeps a set that has not expired
	}
}

// fetch gets and parses the set, within KeySetTimeout and KeySetMaxBytes.
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
	data, err := io.ReadAll(io.LimitReader(resp.Body, KeySetMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if len(data) > KeySetMaxBytes {
		return nil, fmt.Errorf("%s: the JWK set is too large (over 1 MiB)", where)
	}
	keys, err := token.ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return keys, nil
}
