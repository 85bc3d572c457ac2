package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Errors of an account key's creation at the upstream.
var (
	// errUpstream: the upstream could not be asked, or could not answer
	// (a 5xx, a 429): it may make the key later.
	errUpstream = errors.New("the upstream cannot make the key now")
	// errNoCredential: no upstream credential to ask with.
	errNoCredential = errors.New("no upstream credential for the account")
)

// lockedOutError: the credential is locked out at the upstream until
// then; nothing was sent.
type lockedOutError struct{ until time.Time }

func (e *lockedOutError) Error() string {
	return "the upstream locked the credential out (429) until " + e.until.UTC().Format(time.RFC3339)
}

// Unwrap makes it an errUpstream: the upstream cannot make the key now.
func (e *lockedOutError) Unwrap() error { return errUpstream }

// lockoutOf is how long a 429 of the client's locks the credential out:
// until the Reset its answer stated, else the default.
func lockoutOf(e *streamtoken.APIError) time.Duration {
	if e.RateLimit != nil && !e.RateLimit.Reset.IsZero() {
		return time.Until(e.RateLimit.Reset)
	}
	return 0
}

// keyRefusedError is the upstream's refusal to make an account's key with
// the credential at hand (a 4xx): it may lack the permission.
type keyRefusedError struct{ status int }

func (e *keyRefusedError) Error() string {
	return "the upstream refused to create a signing key (HTTP " + strconv.Itoa(e.status) + ")"
}

// createKey makes an account's signing key at the upstream, through its
// keys API, with the credential of the token request that needs it
// (server.Config.AccountKey): the server keeps it, under its store's lock
// on the account, so that one is made however many ask.
func (g *Gateway) createKey(ctx context.Context, account string) (*token.Key, error) {
	cred, _ := credentialFrom(ctx)
	return g.createKeyWith(ctx, account, cred)
}

// client is a client of the upstream's API with cred, for the gateway's
// own requests: never retried (a retry could walk into the upstream's
// rate-limit lockout).
func (g *Gateway) client(cred credential) (*streamtoken.Client, error) {
	if cred.bearer == "" && cred.key == "" {
		return nil, errNoCredential
	}
	auth := streamtoken.WithAPIToken(cred.bearer)
	if cred.bearer == "" {
		auth = streamtoken.WithAPIKey(cred.email, cred.key)
	}
	return streamtoken.NewClient(auth, streamtoken.WithBaseURL(g.upstream.String()), streamtoken.WithHTTPClient(g.hc),
		streamtoken.WithMaxRetries(0), streamtoken.WithUserAgent("streamtoken-gateway"))
}

// createKeyWith makes an account's signing key at the upstream with cred.
func (g *Gateway) createKeyWith(ctx context.Context, account string, cred credential) (*token.Key, error) {
	c, err := g.client(cred)
	if err != nil {
		return nil, err
	}
	if until, locked := g.lockedOut(ctx, cred); locked {
		g.metrics.upstream.WithLabelValues("create_key", "locked_out").Inc()
		return nil, &lockedOutError{until: until}
	}
	if !g.spend(ctx, cred, "create_key") {
		return nil, &overBudgetError{wait: g.refillWait()}
	}
	ctx, cancel := context.WithTimeout(ctx, g.keyWait)
	defer cancel()
	k, err := c.CreateSigningKey(ctx, account)
	var apiErr *streamtoken.APIError
	switch {
	case err == nil:
		g.reached()
		g.metrics.upstream.WithLabelValues("create_key", "200").Inc()
		g.metrics.keysCreated.Inc()
		g.log.Info("created the account's signing key at the upstream", "account", account, "key_id", k.ID)
		return k.Key, nil
	case errors.As(err, &apiErr):
		g.reached()
		g.metrics.upstream.WithLabelValues("create_key", strconv.Itoa(apiErr.StatusCode)).Inc()
		if apiErr.StatusCode == http.StatusTooManyRequests {
			g.lockOut(cred, lockoutOf(apiErr))
		}
		if apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 && apiErr.StatusCode != http.StatusTooManyRequests {
			return nil, &keyRefusedError{status: apiErr.StatusCode}
		}
	default:
		g.down()
		g.metrics.upstream.WithLabelValues("create_key", "error").Inc()
	}
	g.log.Warn("the account's signing key could not be created at the upstream", "account", account, "error", err.Error())
	return nil, errUpstream
}

// maxKeyAnswer bounds the upstream's answer to a key's creation that the
// gateway reads for the key's public half: a real one is about 4 KiB.
const maxKeyAnswer = 64 << 10

// keyCreated sees the upstream's answer to a key created through the
// gateway: the public half of a key it created joins the account's JWK
// set here. The answer goes on as it came.
func keyCreated(g *Gateway, r *http.Request) func(*http.Response) error {
	account := r.PathValue(gen.ParamAccountID)
	return func(resp *http.Response) error {
		if resp.StatusCode/100 != 2 {
			return nil
		}
		head, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyAnswer+1))
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
		if err != nil || len(head) > maxKeyAnswer {
			g.log.Warn("a key created through the gateway: its answer is too long to read; its key is not in the account's JWK set here", "account", account)
			return nil
		}
		var env struct {
			Result json.RawMessage `json:"result"`
		}
		var result struct {
			Created time.Time `json:"created"`
		}
		if json.Unmarshal(head, &env) != nil || json.Unmarshal(env.Result, &result) != nil {
			return nil
		}
		k, err := token.ParsePrivateKey(env.Result)
		if err != nil {
			g.log.Warn("a key created through the gateway does not parse; it is not in the account's JWK set here", "account", account)
			return nil
		}
		pub := store.Key{AccountID: account, Key: &token.Key{ID: k.ID, Public: k.Public}, Created: result.Created}
		if err := g.store.AddKey(r.Context(), pub, store.MaxKeysPerAccount); err != nil && !errors.Is(err, store.ErrKeyExists) {
			g.log.Warn("a key created through the gateway could not be kept", "account", account, "key_id", k.ID, "error", err.Error())
		}
		return nil
	}
}

// keyDeleted sees the upstream's answer to a key deleted through the
// gateway: a key it deleted leaves the account's JWK set here at once.
func keyDeleted(g *Gateway, r *http.Request) func(*http.Response) error {
	account, id := r.PathValue(gen.ParamAccountID), r.PathValue(gen.ParamIdentifier)
	return func(resp *http.Response) error {
		if resp.StatusCode/100 != 2 {
			return nil
		}
		if err := g.store.DeleteKey(r.Context(), account, id); err != nil && !errors.Is(err, store.ErrNoSuchKey) && !errors.Is(err, store.ErrInvalidID) {
			g.log.Warn("a key deleted through the gateway could not be dropped here", "account", account, "key_id", id, "error", err.Error())
		}
		// The account's signing key itself: replaced at once, not at the
		// next sync, with the credential that deleted it (or the
		// deployment's).
		cred, ok := credentialOf(resp.Request.Header)
		if !ok {
			return nil
		}
		if signing, err := g.core.ReloadAccountKey(r.Context(), account); err == nil && signing == id && !g.operator[account] {
			go g.replaceDeleted(account, id, cred)
		}
		return nil
	}
}

// replaceDeleted replaces the account's signing key of ID id, deleted
// through the gateway, in the background.
func (g *Gateway) replaceDeleted(account, id string, cred credential) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*g.keyWait)
	defer cancel()
	c, err := g.client(cred)
	if err == nil {
		err = g.replace(ctx, c, account, id, cred, false)
	}
	if err != nil {
		g.log.Warn("the account's signing key, deleted through the gateway, could not be replaced at once: the sync will", "account", account, "key_id", id, "error", err.Error())
	}
}
