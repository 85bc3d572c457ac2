package server

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/token"
)

// The JWK-set routes, from the spec: an account's set is at
// gen.GetAccountKeySetPath(account), outside the API's base path and
// without credentials, as verifiers fetch them. keySetDir is where the
// accounts' sets are (its pattern's last segment is the file,
// "<account_id>.json": a ServeMux wildcard is a whole segment).
var (
	keySetDir     = gen.GetAccountKeySetRoute.Path[:strings.LastIndex(gen.GetAccountKeySetRoute.Path, "/")+1]
	keySetPattern = gen.GetAccountKeySetRoute.Method + " " + keySetDir + "{file}"
	soleSetRoute  = gen.GetKeySetRoute.Method + " " + gen.GetKeySetRoute.Path
)

// keySets serves the JWK sets, outside the API and without credentials.
type keySets struct {
	keys       func(ctx context.Context, accountID string) ([]*token.Key, error) // an account's: Server.PublicKeys
	oneAccount string                                                            // the one account the credentials name, if they name one alone
	maxAge     time.Duration                                                     // Cache-Control's max-age
	log        *slog.Logger
	encoded    jwksCache
}

// KeySetsConfig configures [KeySets].
type KeySetsConfig struct {
	// Keys returns the public keys the server vouches for in an account:
	// the key that signs its tokens and those created through its keys
	// API (what [Server.PublicKeys] returns). Required.
	Keys func(ctx context.Context, accountID string) ([]*token.Key, error)
	// Credentials are the server's: when they name one account alone,
	// /.well-known/jwks.json serves its set (else a 404 naming the
	// per-account path).
	Credentials []Credential
	// MaxAge is the sets' Cache-Control max-age: how long a deleted key
	// may keep verifying. Zero: token.DefaultJWKSMaxAge.
	MaxAge time.Duration
	// Logger gets the faults (nil: nowhere).
	Logger *slog.Logger
}

// KeySets is the block that serves the accounts' JWK sets, as
// [Server.Handler] does: GET /.well-known/jwks/{account_id}.json (each
// account's own set) and /.well-known/jwks.json (for a server of one
// account), public, without credentials, encoded once per change. Mount
// it at the server's root mux; a server of one's own needs it for
// "streamtoken verify --account A --base-url" and for any verifier.
func KeySets(cfg KeySetsConfig) (func(mux *http.ServeMux), error) {
	if cfg.Keys == nil {
		return nil, fmt.Errorf("server: KeySets without Keys")
	}
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("server: KeySets' MaxAge %v is negative", cfg.MaxAge)
	}
	ks := &keySets{keys: cfg.Keys, oneAccount: soleAccount(cfg.Credentials), maxAge: cmp.Or(cfg.MaxAge, token.DefaultJWKSMaxAge),
		log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))}
	return ks.register, nil
}

// register mounts the sets' two routes on mux.
func (ks *keySets) register(mux *http.ServeMux) {
	mux.HandleFunc(keySetPattern, ks.serveAccount)
	mux.HandleFunc(soleSetRoute, ks.serveSole)
}

// serveAccount answers GET /.well-known/jwks/{account_id}.json: the keys
// the server vouches for in that account alone.
func (ks *keySets) serveAccount(w http.ResponseWriter, r *http.Request) {
	account, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok {
		WriteProblems(w, Problem{Status: http.StatusNotFound, Code: apicode.NoRoute,
			Message: "No route for the URI: an account's JWK set is at " + gen.GetAccountKeySetRoute.Path})
		return
	}
	if why := ids.Check(account); why != "" {
		WriteProblems(w, Problem{Status: http.StatusBadRequest, Code: apicode.InvalidPath, Message: "account_id: " + why})
		return
	}
	r.SetPathValue(gen.ParamAccountID, account) // for the request's log line
	ks.write(w, r, account)
}

// serveSole answers GET /.well-known/jwks.json: the account's set when
// the credentials name one account alone; otherwise a set of every
// account's keys would vouch for each account's tokens in every other's,
// so the answer is a 404 envelope naming the per-account path.
func (ks *keySets) serveSole(w http.ResponseWriter, r *http.Request) {
	if ks.oneAccount == "" {
		WriteProblems(w, Problem{Status: http.StatusNotFound, Code: apicode.KeySetPerAccount,
			Message: "this server signs for several accounts, and each has a JWK set of its own: " + gen.GetAccountKeySetRoute.Method + " " + gen.GetAccountKeySetRoute.Path})
		return
	}
	ks.write(w, r, ks.oneAccount)
}

func (ks *keySets) write(w http.ResponseWriter, r *http.Request, account string) {
	keys, err := ks.keys(r.Context(), account)
	if err != nil {
		InternalError(ks.log)(w, r, fmt.Errorf("the JWK set of account %s: %w", account, err))
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	// A verifier, or a cache between, may keep the set this long: the
	// bound on how long a deleted key keeps verifying.
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(ks.maxAge.Seconds())))
	_, _ = w.Write(ks.encoded.encode(account, keys))
}

// maxEncodedSets bounds the sets a jwksCache keeps: anyone may ask for any
// account's set.
const maxEncodedSets = 4096

// jwksCache keeps the JWK sets last served, encoded: a set changes when a
// key is created or deleted, and is fetched far more often, so it is
// encoded once per change rather than once per fetch. Empty sets are not
// kept: they cost nothing to encode, and anyone can ask for one.
type jwksCache struct {
	mu   sync.Mutex
	sets map[string]encodedSet // by account
}

type encodedSet struct {
	id   string // the set's identity: each key's ID and its modulus's lowest word
	body []byte
}

// encode returns an account's keys as a JWK set, reusing the last encoding
// when the set is the same.
func (c *jwksCache) encode(account string, keys []*token.Key) []byte {
	if len(keys) == 0 {
		return token.JWKS()
	}
	var id strings.Builder
	for _, k := range keys {
		id.WriteString(k.ID)
		id.WriteByte(':')
		if words := k.Public.N.Bits(); len(words) > 0 {
			id.WriteString(strconv.FormatUint(uint64(words[0]), 16)) // the modulus's lowest word
		}
		id.WriteByte(',')
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.sets[account]; ok && e.id == id.String() {
		return e.body
	}
	body := token.JWKS(keys...)
	if c.sets == nil {
		c.sets = map[string]encodedSet{}
	}
	if _, ok := c.sets[account]; !ok && len(c.sets) >= maxEncodedSets {
		for other := range c.sets { // any one: a set costs little to encode again
			delete(c.sets, other)
			break
		}
	}
	c.sets[account] = encodedSet{id: id.String(), body: body}
	return body
}

// soleAccount is the one account creds name, when every credential is
// scoped and they name that account alone; otherwise "".
func soleAccount(creds []Credential) string {
	sole := ""
	for _, c := range creds {
		if c.Accounts == nil {
			return ""
		}
		for _, a := range c.Accounts {
			if sole != "" && a != sole {
				return ""
			}
			sole = a
		}
	}
	return sole
}
