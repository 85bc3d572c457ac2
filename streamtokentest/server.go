// Package streamtokentest runs a real token server on loopback for tests,
// in the manner of net/http/httptest: the same code as the self-hosted
// server, with a signing key and an API token of its own, and ways to make
// it fail on purpose.
//
//	srv := streamtokentest.NewServer()
//	defer srv.Close()
//	c := srv.NewClient() // or any client, with srv.URL and srv.APIToken
//	tok, err := c.CreateToken(ctx, accountID, videoID, streamtoken.TokenRequest{})
//	claims, err := srv.Verify(accountID, tok.Value)
//	set, err := streamtoken.NewKeySet(srv.JWKSURL(accountID)) // as a verifier of the account's videos
package streamtokentest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Server is a token server on a loopback port. Its exported fields are set
// by [NewServer] and are not to be changed.
type Server struct {
	// URL is the API's base URL, ending in /client/v4: give it to
	// streamtoken.WithBaseURL or to any Cloudflare client.
	URL string
	// APIToken is the bearer token NewClient sends: one the server
	// accepts for every account, or, when [WithCredentials] gave none
	// such, its first bearer token (for the accounts it names). Empty when
	// WithCredentials gave only emails and keys: NewClient then sends the
	// first of those.
	APIToken string
	// TokenServer is the server that answers, as httptest.Server's Config
	// is the http.Server: for its KeySet or AccountSigner, or its Handler
	// mounted elsewhere.
	TokenServer *server.Server

	ts        *httptest.Server
	clock     token.Option
	clientOps []streamtoken.Option
	mu        sync.Mutex
	failures  []Failure
	requests  atomic.Int64
	log       []LoggedRequest // the newest maxLogged, under mu
	limit     *rateLimit      // nil: none
	media     *standin.Service
	closeOnce sync.Once
}

// Failure is an answer the server gives to an operation instead of its
// own: the token's, unless Operation names another.
type Failure struct {
	// Operation is the operation that fails: its method of
	// gen.StrictServerInterface ("ListSigningKeys", "EditVideo", ...).
	// Empty: "CreateStreamToken". FailNext and WithFailures panic, or
	// refuse, for a name the spec has no operation of.
	Operation string
	// Status is the HTTP status; Code and Message the envelope's error.
	Status  int
	Code    apicode.Code
	Message string
	// RetryAfter, when positive, is sent as a Retry-After header (in
	// whole seconds, at least 1).
	RetryAfter time.Duration
}

// RateLimited is a 429 envelope, as Cloudflare's, with a Retry-After of
// retryAfter (none when it is zero).
func RateLimited(retryAfter time.Duration) Failure {
	return Failure{Status: http.StatusTooManyRequests, Code: apicode.RateLimited,
		Message: "Rate limited: please wait and consider throttling your request speed", RetryAfter: retryAfter}
}

// InternalError is a 500 envelope that says nothing more.
func InternalError() Failure {
	return Failure{Status: http.StatusInternalServerError, Code: apicode.Internal, Message: "Internal error"}
}

// Option configures a [Server]. An option returns an error for a bad value,
// and NewServer panics with it, as httptest.NewServer does when it cannot
// start.
type Option func(*config) error

type config struct {
	server      server.Config
	signingKey  *token.Key
	accountKeys map[string]*token.Key
	stored      []store.Key
	failures    []Failure
	clientOps   []streamtoken.Option
	limit       *rateLimit
	videos      map[string]bool // WithVideos: nil when not given
	liveInputs  map[string]bool // WithLiveInputs: nil when not given
}

// WithSigningKey signs with k (a private key with an ID) the tokens of
// every account without a key of its own: one key shared by all accounts,
// which suits a test of one account (and costs no key generation). Without
// it, each account's tokens are signed by an RSA-2048 key generated for it
// on its first token, as on Cloudflare: no two accounts, and no two
// servers, vouch for each other's tokens. With WithCredentials scoped to
// two or more accounts, give each its key with WithAccountKey instead:
// NewServer refuses a key they would share.
func WithSigningKey(k *token.Key) Option {
	return func(c *config) error {
		if k == nil || k.Private == nil {
			return errors.New("WithSigningKey: want a private key")
		}
		c.signingKey = k
		return nil
	}
}

// WithKeyGenerator makes the keys the server generates (each account's,
// on its first token, and those of the keys API) with generate instead of
// token.GenerateKey: for tests that need many keys without spending tens
// of milliseconds of CPU on each. The keys must be private, each with an
// ID of its own.
func WithKeyGenerator(generate func() (*token.Key, error)) Option {
	return func(c *config) error {
		if generate == nil {
			return errors.New("WithKeyGenerator: nil generator")
		}
		c.server.GenerateKey = generate
		return nil
	}
}

// WithAccountKey signs the tokens of one account with k (a private key
// with an ID of its own), as serve --keys-dir does.
func WithAccountKey(accountID string, k *token.Key) Option {
	return func(c *config) error {
		if k == nil || k.Private == nil {
			return fmt.Errorf("WithAccountKey(%q): want a private key", accountID)
		}
		if c.accountKeys == nil {
			c.accountKeys = map[string]*token.Key{}
		}
		c.accountKeys[accountID] = k
		return nil
	}
}

// WithStoredKeys puts keys (private, each with an ID) in the account's
// keys API, as if created through it on the server's clock: they are
// listed, can be deleted, and are in the JWK set. As with a key created
// through the API, the server keeps their public halves alone: the test
// signs with the private ones.
func WithStoredKeys(accountID string, keys ...*token.Key) Option {
	return func(c *config) error {
		for _, k := range keys {
			if k == nil || k.Private == nil || k.ID == "" {
				return fmt.Errorf("WithStoredKeys(%q): want private keys with IDs", accountID)
			}
			c.stored = append(c.stored, store.Key{AccountID: accountID, Key: k})
		}
		return nil
	}
}

// WithCredentials replaces the generated API token with these credentials
// (tokens or email and key, each for every account or for some). APIToken
// and NewClient then use the first token allowed for every account, else
// the first token, else the first email and key.
func WithCredentials(creds ...server.Credential) Option {
	return func(c *config) error {
		if len(creds) == 0 {
			return errors.New("WithCredentials: no credentials")
		}
		c.server.Credentials = creds
		return nil
	}
}

// WithClock sets the server's clock, which checks requests and dates
// tokens, and that of Verifier and of NewClient's validation.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.server.Now = now
		c.clientOps = append(c.clientOps, streamtoken.WithClock(now))
		return nil
	}
}

// WithVideos makes the videos of IDs exist in every account, with
// requireSignedURLs off and no allowedOrigins until changed, listed by
// the list operation; with those a direct upload creates, they are the
// only ones: the details of any other video, its edits and its tokens are
// 404 envelopes (code 1011). Without it, every valid video ID exists, and
// a listing shows those created or changed.
func WithVideos(ids ...string) Option {
	return func(c *config) error {
		set, err := idSet("WithVideos", ids)
		if err != nil {
			return err
		}
		for id := range set {
			if why := wire.VideoPathClash(id); why != "" {
				return fmt.Errorf("WithVideos: %s", why)
			}
		}
		c.videos = set
		return nil
	}
}

// WithLiveInputs is WithVideos for live inputs.
func WithLiveInputs(ids ...string) Option {
	return func(c *config) error {
		set, err := idSet("WithLiveInputs", ids)
		if err != nil {
			return err
		}
		c.liveInputs = set
		return nil
	}
}

// idSet is list as a set, each checked as the API checks a path ID.
func idSet(option string, list []string) (map[string]bool, error) {
	set := make(map[string]bool, len(list))
	for _, id := range list {
		if why := ids.Check(id); why != "" {
			return nil, fmt.Errorf("%s(%q): %s", option, id, why)
		}
		set[id] = true
	}
	return set, nil
}

// WithLogger sends the server's request log to l (by default it is
// discarded).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.server.Logger = l
		return nil
	}
}

// WithFailures makes the first n requests of f's operation (the token's,
// by default) fail with f.
func WithFailures(n int, f Failure) Option {
	return func(c *config) error {
		if err := checkOperation(f.Operation); err != nil {
			return fmt.Errorf("WithFailures: %w", err)
		}
		if n < 0 {
			return fmt.Errorf("WithFailures: %d is negative", n)
		}
		for range n {
			c.failures = append(c.failures, f)
		}
		return nil
	}
}

// NewServer starts a server on 127.0.0.1 and returns it; Close stops it. It
// panics if an option is invalid or the server cannot start, as
// httptest.NewServer does.
func NewServer(opts ...Option) *Server {
	var cfg config
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			panic("streamtokentest: " + err.Error())
		}
	}
	s, err := newServer(cfg)
	if err != nil {
		panic("streamtokentest: " + err.Error())
	}
	return s
}

func newServer(cfg config) (*Server, error) {
	clock := token.WithClock(time.Now)
	if cfg.server.Now != nil {
		clock = token.WithClock(cfg.server.Now)
	}
	if cfg.signingKey != nil {
		signer, err := token.NewSigner(cfg.signingKey, clock)
		if err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		cfg.server.Signer = signer
	}
	for _, account := range slices.Sorted(maps.Keys(cfg.accountKeys)) {
		signer, err := token.NewSigner(cfg.accountKeys[account], clock)
		if err != nil {
			return nil, fmt.Errorf("account %s's key: %w", account, err)
		}
		if cfg.server.AccountSigners == nil {
			cfg.server.AccountSigners = map[string]*token.Signer{}
		}
		cfg.server.AccountSigners[account] = signer
	}
	state := store.NewMemory(0)
	now := time.Now
	if cfg.server.Now != nil {
		now = cfg.server.Now
	}
	for _, k := range cfg.stored {
		k.Created = now().UTC().Truncate(time.Second)
		if err := state.AddKey(context.Background(), k, store.MaxKeysPerAccount); err != nil {
			return nil, fmt.Errorf("stored key %s of account %s: %w", k.Key.ID, k.AccountID, err)
		}
	}
	cfg.server.Store = state
	s := &Server{failures: cfg.failures, clock: clock, limit: cfg.limit}
	seeds := &seeds{store: state, videos: cfg.videos, liveInputs: cfg.liveInputs, created: now().UTC().Truncate(time.Microsecond), done: map[string]bool{}}
	// The Cloudflare stand-in serves the videos and live inputs, in the
	// same store, and says which videos exist.
	// Notifications go to the test's receivers on loopback, and are tried
	// again soon.
	media := &standin.Service{Store: state, Now: cfg.server.Now,
		Deliveries: &standin.Deliveries{AllowPrivate: true, Backoff: 100 * time.Millisecond, Timeout: 5 * time.Second}}
	s.media = media
	if cfg.videos != nil {
		media.Videos = seeds.exists(store.Video, cfg.videos)
	}
	if cfg.liveInputs != nil {
		media.LiveInputs = seeds.exists(store.LiveInput, cfg.liveInputs)
	}
	cfg.server.Media = media
	cfg.server.Header = http.Header{server.ModeHeader: {server.ModeStandIn}}
	// First the failures queued (and the count of token requests), then
	// the media of WithVideos and WithLiveInputs, then the rate limit,
	// then the caller's own.
	first := []gen.StrictMiddlewareFunc{s.inject, seeds.middleware}
	if s.limit != nil {
		s.limit.now = now
		first = append(first, s.limit.middleware)
	}
	cfg.server.OperationMiddlewares = append(first, cfg.server.OperationMiddlewares...)
	if cfg.server.Credentials == nil {
		s.APIToken = randomToken()
		cfg.server.Credentials = []server.Credential{{Token: s.APIToken}}
	} else {
		s.APIToken = firstToken(cfg.server.Credentials)
	}
	var err error
	var shared *server.SharedSignerError
	if s.TokenServer, err = server.New(cfg.server); errors.As(err, &shared) {
		return nil, fmt.Errorf("WithSigningKey would sign the tokens of accounts %s, which WithCredentials keep apart: give each its key with WithAccountKey", strings.Join(shared.Accounts, ", "))
	} else if err != nil {
		return nil, err
	}
	s.ts = httptest.NewServer(s.logRequests(s.TokenServer.Handler()))
	s.URL = s.ts.URL + server.BasePath
	creds := streamtoken.WithAPIToken(s.APIToken)
	if s.APIToken == "" { // WithCredentials gave emails and keys alone
		c := cfg.server.Credentials[0]
		creds = streamtoken.WithAPIKey(c.Email, c.Key)
	}
	// The credentials last: NewClient leaves them out when its options
	// bring credentials of their own.
	s.clientOps = append(append([]streamtoken.Option{
		streamtoken.WithBaseURL(s.URL),
		streamtoken.WithHTTPClient(s.ts.Client()),
		streamtoken.WithMaxRetries(0),
	}, cfg.clientOps...), creds)
	return s, nil
}

// firstToken is the first bearer token of creds for every account, else
// their first bearer token, else "".
func firstToken(creds []server.Credential) string {
	first := ""
	for _, c := range creds {
		switch {
		case c.Token != "" && len(c.Accounts) == 0:
			return c.Token
		case c.Token != "" && first == "":
			first = c.Token
		}
	}
	return first
}

// JWKSURL returns the URL of an account's JWK set on the server: the keys
// it vouches for in that account alone (the key that signs the account's
// tokens, and those created through the account's keys API). Give it to
// streamtoken.NewKeySet or "streamtoken verify --jwks", as a verifier of
// the account's videos would.
func (s *Server) JWKSURL(accountID string) string {
	return s.ts.URL + gen.GetAccountKeySetPath(accountID)
}

// Verify verifies a token against the account's JWK set as it is now, on
// the server's clock: what a verifier of the account's videos would
// accept. A token of another account's key is token.ErrUnknownKey.
func (s *Server) Verify(accountID, tok string) (*token.Claims, error) {
	keys, err := s.TokenServer.PublicKeys(context.Background(), accountID)
	if err != nil {
		return nil, err
	}
	v, err := token.NewVerifier(keys, s.clock)
	if err != nil {
		return nil, err
	}
	return v.Verify(tok)
}

// SigningKey returns the public half of the key that signs the account's
// tokens, generating the account's key if it has none yet (as its first
// token would).
func (s *Server) SigningKey(accountID string) (*token.Key, error) {
	signer, err := s.TokenServer.AccountSigner(context.Background(), accountID)
	if err != nil {
		return nil, err
	}
	return signer.PublicKey(), nil
}

func randomToken() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewClient returns a client of the server: its URL, its APIToken, its
// clock, and retries off so that injected failures reach the test as they
// are; opts come after these and can change them (WithMaxRetries(3) to test
// retries; WithAPIToken or WithAPIKey to call as another credential, such
// as one scoped to an account). It panics if an option is invalid.
func (s *Server) NewClient(opts ...streamtoken.Option) *streamtoken.Client {
	// opts' own credentials, if they set any, take the place of APIToken.
	c, err := streamtoken.NewClient(append(slices.Clone(s.clientOps[:len(s.clientOps)-1]), opts...)...)
	if errors.Is(err, streamtoken.ErrNoCredentials) {
		c, err = streamtoken.NewClient(append(slices.Clone(s.clientOps), opts...)...)
	}
	if err != nil {
		panic("streamtokentest: NewClient: " + err.Error())
	}
	return c
}

// Client returns an *http.Client for raw requests to the server, as
// httptest.Server's Client does.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// FailNext makes the next n requests of f's operation (the token's, by
// default) fail with f, after any failures of it already queued. It panics
// for an operation the spec does not have, as a test's own mistake.
func (s *Server) FailNext(n int, f Failure) {
	if err := checkOperation(f.Operation); err != nil {
		panic("streamtokentest: FailNext: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// Requests returns how many token requests the server has received,
// failed ones included.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// Close shuts the server down, blocking until every request is done. It is
// safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.ts.Close()
		s.media.Close()
	})
}

// tokenOperation is the operation a Failure without one fails.
const tokenOperation = "CreateStreamToken"

// operations are the operations of the spec: the methods of the strict
// server interface, which the generated handler names each one by.
var operations = func() map[string]bool {
	t := reflect.TypeFor[gen.StrictServerInterface]()
	ops := make(map[string]bool, t.NumMethod())
	for i := range t.NumMethod() {
		ops[t.Method(i).Name] = true
	}
	return ops
}()

func checkOperation(op string) error {
	if op != "" && !operations[op] {
		return fmt.Errorf("no operation %q: want one of the methods of gen.StrictServerInterface", op)
	}
	return nil
}

// inject answers each operation with the failures queued for it first,
// once the request is authenticated and checked. It is the first of the
// server's operation middlewares.
func (s *Server) inject(next gen.StrictHandlerFunc, operation string) gen.StrictHandlerFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		if operation == tokenOperation {
			s.requests.Add(1)
		}
		s.mu.Lock()
		var f *Failure
		if i := slices.IndexFunc(s.failures, func(f Failure) bool { return cmp.Or(f.Operation, tokenOperation) == operation }); i >= 0 {
			f = new(s.failures[i]) // a copy: Delete moves what follows over it
			s.failures = slices.Delete(s.failures, i, i+1)
		}
		s.mu.Unlock()
		if f == nil {
			return next(ctx, w, r, req)
		}
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(f.RetryAfter.Round(time.Second)/time.Second))))
		}
		server.WriteProblems(w, server.Problem{Status: f.Status, Code: f.Code, Message: f.Message})
		return nil, nil
	}
}
