package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// credential is what a request presented to be let in, as the upstream
// reads it: a bearer API token, or an email with a global API key (or
// both). It lives in memory while its request does, never longer.
type credential struct {
	bearer, email, key string
}

// String, GoString, LogValue and MarshalJSON keep the secret out of any
// print, log or JSON.
func (c credential) String() string   { return "[redacted credential]" }
func (c credential) GoString() string { return c.String() }
func (c credential) LogValue() slog.Value {
	return slog.StringValue(c.String())
}
func (c credential) MarshalJSON() ([]byte, error) { return []byte(`"[redacted credential]"`), nil }

// credentialOf is the credential r presents, and whether it presents one.
func credentialOf(h http.Header) (credential, bool) {
	var c credential
	if scheme, tok, ok := strings.Cut(h.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		c.bearer = strings.TrimSpace(tok)
	}
	if email, key := h.Get("X-Auth-Email"), h.Get("X-Auth-Key"); email != "" && key != "" {
		c.email, c.key = email, key
	}
	return c, c.bearer != "" || c.key != ""
}

// set puts c on an outgoing request's headers, in place of any other.
func (c credential) set(h http.Header) {
	h.Del("Authorization")
	h.Del("X-Auth-Email")
	h.Del("X-Auth-Key")
	if c.bearer != "" {
		h.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.key != "" {
		h.Set("X-Auth-Email", c.email)
		h.Set("X-Auth-Key", c.key)
	}
}

type credentialKey struct{}

// withCredential carries the upstream credential of a token request to
// the making of the account's key (server.Config.AccountKey).
func withCredential(ctx context.Context, c credential) context.Context {
	return context.WithValue(ctx, credentialKey{}, c)
}

func credentialFrom(ctx context.Context) (credential, bool) {
	c, ok := ctx.Value(credentialKey{}).(credential)
	return c, ok
}

// pairKey names a credential and an account in the decisions: a keyed
// digest of the credential under a key of the process (so that neither a memory
// dump nor anything logged holds what would let the credential be tried
// offline), and the account.
type pairKey struct {
	mac     [sha256.Size]byte
	account string
}

// decision is what the upstream last said of a pair.
type decision struct {
	accepted bool
	at       time.Time
	// A refusal's answer, replayed while it holds (at most
	// maxRefusalBody bytes; longer, and the status alone is replayed).
	status      int
	contentType string
	body        []byte
}

// maxRefusalBody bounds the upstream's refusal kept for replay.
const maxRefusalBody = 8 << 10

// decisions are the upstream's decisions on (credential, account) pairs,
// at most max of them, and the authorizations under way.
type decisions struct {
	macKey []byte
	max    int

	mu      sync.Mutex
	byPair  map[pairKey]decision
	pending map[pairKey]chan struct{} // closed when the upstream has answered
}

func newDecisions(max int) *decisions {
	key := make([]byte, 32)
	rand.Read(key)
	return &decisions{macKey: key, max: max, byPair: map[pairKey]decision{}, pending: map[pairKey]chan struct{}{}}
}

// pair is c's key for account: a keyed SHA-256 of the credential (the
// process's key first, then each part ended by a NUL, which no part
// holds), on the stack for any credential of a real size.
func (d *decisions) pair(c credential, account string) pairKey {
	var buf [256]byte
	b := append(buf[:0], d.macKey...)
	for _, part := range []string{c.bearer, c.email, c.key} {
		b = append(append(b, part...), 0)
	}
	return pairKey{mac: sha256.Sum256(b), account: account}
}

// get is the decision on p, if any.
func (d *decisions) get(p pairKey) (decision, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dec, ok := d.byPair[p]
	return dec, ok
}

// put keeps dec for p, making room when full: first by forgetting what
// no longer holds at now (acceptances past expire, refusals past
// refusalTTL), then anything.
func (d *decisions) put(p pairKey, dec decision, now time.Time, expire, refusalTTL time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byPair[p]; !ok && len(d.byPair) >= d.max {
		for k, old := range d.byPair {
			if (old.accepted && now.Sub(old.at) >= expire) || (!old.accepted && now.Sub(old.at) >= refusalTTL) {
				delete(d.byPair, k)
			}
		}
		for k := range d.byPair {
			if len(d.byPair) < d.max {
				break
			}
			delete(d.byPair, k)
		}
	}
	d.byPair[p] = dec
}

// begin makes the caller the one to ask the upstream about p, returning
// a function to call once it has an answer; or, when another caller is
// asking already, returns nil and a channel closed when it has.
func (d *decisions) begin(p pairKey) (end func(), wait <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ch, ok := d.pending[p]; ok {
		return nil, ch
	}
	ch := make(chan struct{})
	d.pending[p] = ch
	return func() {
		d.mu.Lock()
		delete(d.pending, p)
		d.mu.Unlock()
		close(ch)
	}, nil
}
