package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/openapi"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Config configures a [Server].
type Config struct {
	// Credentials are the API credentials the server accepts: at least
	// one, unless Authenticator is set.
	Credentials []Credential
	// Authenticator, when set, authenticates the API's requests in place
	// of the one New makes of Credentials (which it then ignores): a
	// gateway's, which accepts a credential once its upstream has.
	Authenticator RequestAuthenticator
	// Signer, when set, signs the tokens of every account without a
	// signer of its own in AccountSigners: one key for all, as a
	// deployment for one account has. Made from a key (token.NewSigner) or
	// from any crypto.Signer, such as a key in a KMS or an HSM whose
	// private half never leaves it (token.NewCryptoSigner). Nil: each
	// account's tokens are signed by a key of the account's own, generated
	// on its first token and kept in Store. When the credentials are
	// scoped to two or more accounts that Signer would sign for, New
	// refuses it ([SharedSignerError]) unless ShareSigner is set.
	Signer *token.Signer
	// ShareSigner lets Signer sign the tokens of several accounts that the
	// credentials keep apart. What it gives up: a token minted for one of
	// them verifies against every other's JWK set, for its videos.
	ShareSigner bool
	// AccountSigners are the operator's signers by account ID. A key ID
	// names one key: the same ID for two keys is refused.
	AccountSigners map[string]*token.Signer
	// MaxAccounts caps the accounts a key is generated for; a token for
	// one more is refused (1013). Zero: store.DefaultMaxAccounts.
	MaxAccounts int
	// GenerateKey makes the keys the server generates: the accounts' and
	// those of the keys API. Nil: token.GenerateKey (RSA-2048).
	GenerateKey func() (*token.Key, error)
	// AccountKey, when set, makes the signing key of an account that has
	// none, on its first token, in place of GenerateKey: with the token
	// request's context, under the store's lock on the account (so once,
	// however many requests or replicas ask; see store.AccountKeys), not
	// in the signing queue. A gateway creates it at its upstream. Its
	// error is the token request's: [Server.AccountSigner] returns it.
	AccountKey func(ctx context.Context, accountID string) (*token.Key, error)
	// KeySetMaxAge is the Cache-Control max-age of the JWK sets: how long
	// a verifier may use one, and so how long a deleted key may keep
	// verifying. Zero: token.DefaultJWKSMaxAge.
	KeySetMaxAge time.Duration
	// Store keeps the keys: those generated for accounts without a
	// signer (when Signer is nil), and the public halves of the keys
	// created through the keys API (each account's JWK set lists them
	// beside its signing key). Nil: a [store.Memory] of the default size,
	// whose keys go with the process; a [store.Dir] keeps them on disk, a
	// PostgreSQL store (package store/postgres) shares them between
	// replicas. The server does not close it.
	Store store.KeyStore
	// Media serves the operations on videos and live inputs, mounted
	// beside token issuance: the Cloudflare stand-in (a *standin.Service,
	// which keeps their details in a store.Media, often the same store as
	// Store). Nil: they are 404 envelopes, and the server serves tokens
	// and keys alone.
	Media Media
	// Videos tells token issuance whether a video exists: a token for one
	// that does not is a 404 envelope (1011). Nil: Media's, when it is a
	// VideoChecker (as the stand-in is), else every token is signed.
	Videos VideoChecker
	// TracerProvider, when set, traces every request: a span per
	// operation named by its route template, with children for the
	// signing queue's wait, the signature and each store call, and
	// attributes of account and operation (never a token, key or
	// credential); a request's log line carries its trace ID. The trace
	// context of an incoming request (W3C traceparent) is its parent. Nil:
	// no tracing, and no cost.
	TracerProvider trace.TracerProvider
	// Logger gets one line per request and the details of server faults.
	// Nil: nothing is logged.
	Logger *slog.Logger
	// Now is the clock requests are checked by (and that of the signer New
	// generates). Nil: time.Now.
	Now func() time.Time
	// Crypto is the RSA of the signers the server makes (the accounts'
	// keys it generates or reads, a request's own pem): token.CryptoAuto
	// (the default, "": OpenSSL's where libcrypto loads), CryptoOpenSSL
	// (New fails without libcrypto) or CryptoGo (libcrypto never loaded).
	// Signer and AccountSigners sign as they were made. Nothing of the
	// process changes.
	Crypto token.Crypto
	// Registerer is where the server's metrics are registered. Servers
	// that share one count together. Nil: a registry of the server's own,
	// which /metrics then serves.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves. Nil: Registerer, when it is also
	// a Gatherer (a *prometheus.Registry is both).
	Gatherer prometheus.Gatherer
	// SigningWorkers is how many tokens the server signs at once; other
	// token requests wait their turn, in arrival order. Zero:
	// one per core (see SigningQueueConfig.Workers).
	SigningWorkers int
	// MaxSigningWait bounds a token request's wait for its turn: one that
	// would wait longer is answered at once with a 429 envelope and a
	// Retry-After header. Zero: DefaultMaxSigningWait.
	MaxSigningWait time.Duration
	// TokenCacheEntries and TokenCacheBytes bound the cache of the tokens
	// the server's own keys sign (see [TokenCache]). Zero:
	// DefaultTokenCacheEntries and DefaultTokenCacheBytes.
	TokenCacheEntries, TokenCacheBytes int
	// DisableTokenCache signs every token, identical or not.
	DisableTokenCache bool
	// MaxConnections caps the connections [Server.Serve] holds open at
	// once; when full, the longest-idle one is closed to make room. Zero:
	// DefaultMaxConnections, or fewer when the process may open fewer
	// files.
	MaxConnections int
	// MaxConnectionsPerIP caps the connections Serve holds open from one
	// client address, so that one client cannot take every slot: beyond
	// it, a new connection is answered 429 and closed. Zero: a quarter of
	// MaxConnections; negative: no cap (behind a load balancer or proxy,
	// every client arrives from its few addresses: raise it, or turn it
	// off there).
	MaxConnectionsPerIP int
	// Header is set on every answer the server gives, beside
	// X-Content-Type-Options: what a deployment says of itself, as
	// serve's "Streamtoken-Mode: stand-in". Names and values are checked
	// by New (no CR, LF or NUL). Nil: none.
	Header http.Header
	// Front, when set, sees every request before the server's routes,
	// which it is given as next: inside the metrics, the panic guard,
	// Header and tracing, after the refusal of unclean paths. A gateway
	// answers some requests itself and forwards others; what it sets as
	// the request's pattern (by routing it through an http.ServeMux) is
	// its route in the metrics and the log.
	Front func(routes http.Handler) http.Handler
	// OperationMiddlewares wrap every operation's strict handler, after
	// authentication and the spec's checks: each is told the operation's
	// ID (its gen.StrictServerInterface method, "CreateSigningKey"). One
	// may answer by itself (write to the response, return nil, nil), as
	// streamtokentest's failure injection does. The first wraps the
	// others.
	OperationMiddlewares []gen.StrictMiddlewareFunc
	// ShutdownTimeout is how long Serve lets requests in flight finish
	// once its context ends, before it closes their connections. Zero:
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// Server is the token server, assembled from the package's building
// blocks: an [Authenticator], a [RequestChecker], the envelope handlers,
// signers, and the services that serve the operations, [TokenService],
// [KeyService] and Config.Media, whose methods it has: a Server is a
// [gen.StrictServerInterface]. Build it with [New].
type Server struct {
	// The operations, each served by its service (a *TokenService,
	// *KeyService, and Config.Media), as the spec groups them, composed by
	// gen.ComposeOperations (a service left out fails the build): embedded
	// through an unexported name, so that neither the services nor their
	// settings show through the Server.
	services

	auth     RequestAuthenticator
	front    func(http.Handler) http.Handler // nil: none
	checker  *RequestChecker
	signers  *signers
	store    store.KeyStore
	keySets  *keySets
	media    Media       // nil: none
	untraced []string    // path prefixes of routes never traced (Mount.HandleSecretPath)
	header   http.Header // set on every answer (Config.Header), values clipped
	specJSON []byte
	specYAML []byte
	log      *slog.Logger
	now      func() time.Time
	metrics  *metrics
	tracer   trace.Tracer // nil: tracing off
	tp       trace.TracerProvider
	handler  http.Handler
	opsMW    []gen.StrictMiddlewareFunc // around every operation
	maxConns int                        // Serve's cap on open connections
	perIP    int                        // ... from one client address; 0: none
	bodyRate bodyRate
	drain    time.Duration         // Serve's shutdown timeout
	reg      prometheus.Registerer // where the metrics are registered, the media's among them
}

var _ gen.StrictServerInterface = (*Server)(nil)

// services is gen.Operations by an unexported name, for embedding.
type services = gen.Operations

// New checks cfg and builds a server.
func New(cfg Config) (*Server, error) {
	auth := cfg.Authenticator
	if auth == nil {
		made, err := NewAuthenticator(cfg.Credentials)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		auth = made
	}
	s := &Server{auth: auth, front: cfg.Front, log: cfg.Logger, opsMW: slices.Clone(cfg.OperationMiddlewares), now: cfg.Now, maxConns: cfg.MaxConnections, drain: cfg.ShutdownTimeout,
		keySets:  &keySets{maxAge: cfg.KeySetMaxAge, oneAccount: soleAccount(cfg.Credentials)},
		bodyRate: bodyRate{window: BodyRateWindow, perSec: MinBodyBytesPerSecond, write: WriteTimeout}}
	switch {
	case s.maxConns < 0:
		return nil, fmt.Errorf("server: MaxConnections %d is negative", s.maxConns)
	case s.maxConns == 0:
		s.maxConns = DefaultMaxConnections
		if files, ok := openFileLimit(); ok && files-FileHeadroom < s.maxConns {
			s.maxConns = max(FileHeadroom, files-FileHeadroom)
		}
	}
	switch s.perIP = cfg.MaxConnectionsPerIP; {
	case s.perIP == 0:
		s.perIP = max(1, s.maxConns/4)
	case s.perIP < 0:
		s.perIP = 0 // none
	}
	switch {
	case s.drain < 0:
		return nil, fmt.Errorf("server: ShutdownTimeout %v is negative", s.drain)
	case s.drain == 0:
		s.drain = DefaultShutdownTimeout
	}
	switch {
	case s.keySets.maxAge < 0:
		return nil, fmt.Errorf("server: KeySetMaxAge %v is negative", s.keySets.maxAge)
	case s.keySets.maxAge == 0:
		s.keySets.maxAge = token.DefaultJWKSMaxAge
	}
	var err error
	if s.header, err = answerHeader(cfg.Header); err != nil {
		return nil, fmt.Errorf("server: Header: %w", err)
	}
	if cfg.MaxAccounts < 0 {
		return nil, fmt.Errorf("server: MaxAccounts %d is negative", cfg.MaxAccounts)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	// Cheap checks first: a bad config costs no key generation.
	accounts := slices.Sorted(maps.Keys(cfg.AccountSigners))
	for _, account := range accounts {
		signer := cfg.AccountSigners[account]
		if signer == nil {
			return nil, fmt.Errorf("server: account %s: nil signer", account)
		}
		if why := ids.Check(account); why != "" {
			return nil, fmt.Errorf("server: account %q: %s", account, why)
		}
	}
	if cfg.Signer != nil && !cfg.ShareSigner {
		if shared := sharingAccounts(cfg.Credentials, cfg.AccountSigners); len(shared) >= 2 {
			return nil, fmt.Errorf("server: %w", &SharedSignerError{Accounts: shared})
		}
	}
	reg, gather := cfg.Registerer, cfg.Gatherer
	own := reg == nil
	if own {
		registry := prometheus.NewRegistry()
		reg = registry
		if gather == nil {
			gather = registry
		}
	}
	if gather == nil {
		var ok bool
		if gather, ok = reg.(prometheus.Gatherer); !ok {
			return nil, errors.New("server: Registerer is no Gatherer: set Gatherer for /metrics")
		}
	}
	use, _, err := token.ResolveCrypto(cmp.Or(cfg.Crypto, token.CryptoAuto))
	if err != nil {
		return nil, fmt.Errorf("server: Crypto: %w", err)
	}
	s.reg = reg
	if s.metrics, err = newMetrics(reg, gather, own, use); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	// The signers' own lookup: the IDs were checked with the request.
	tokens := &TokenService{Signer: func(ctx context.Context, account string) (*token.Signer, error) {
		return s.signers.forToken(ctx, account)
	}, Now: s.now, Crypto: use, Signed: func(key string) { s.metrics.signed.WithLabelValues(key).Inc() }}
	switch checker, ok := cfg.Media.(VideoChecker); {
	case cfg.Videos != nil:
		tokens.Videos = cfg.Videos
	case ok:
		tokens.Videos = checker
	}
	if tokens.Queue, err = NewSigningQueue(SigningQueueConfig{Workers: cfg.SigningWorkers, MaxWait: cfg.MaxSigningWait, Observer: s.metrics}); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if !cfg.DisableTokenCache {
		if tokens.Cache, err = NewTokenCache(TokenCacheConfig{MaxEntries: cfg.TokenCacheEntries, MaxBytes: cfg.TokenCacheBytes, Now: s.now, Observer: s.metrics}); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	generate := cfg.GenerateKey
	if generate == nil {
		generate = token.GenerateKey
	}
	if cfg.TracerProvider != nil {
		s.tp, s.tracer = cfg.TracerProvider, cfg.TracerProvider.Tracer(tracerName)
		tokens.Tracer = s.tracer
	}
	st := cfg.Store
	if st == nil {
		st = store.NewMemory(0)
	}
	st = countedStore{KeyStore: st, refusals: s.metrics.refusals}
	if s.tracer != nil {
		st = tracedStore{KeyStore: st, tr: s.tracer}
	}
	s.signers = &signers{shared: cfg.Signer, operator: map[string]*token.Signer{}, store: st,
		generate: generate, provision: cfg.AccountKey, opts: []token.SignerOption{token.WithClock(s.now), token.WithCrypto(use)}, max: cfg.MaxAccounts, queue: tokens.Queue,
		loaded: map[string]*token.Signer{}, pending: map[string]*pendingKey{}}
	if s.signers.max == 0 {
		s.signers.max = store.DefaultMaxAccounts
	}
	for _, account := range accounts {
		s.signers.operator[account] = cfg.AccountSigners[account]
	}
	spec, err := openapi.Load()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if s.checker, err = NewRequestChecker(spec, BasePath); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if s.specJSON, err = json.Marshal(spec); err != nil {
		return nil, fmt.Errorf("server: the spec as JSON: %w", err)
	}
	s.specYAML = openapi.YAML()

	if err := checkKeyIDs(context.Background(), cfg.Signer, s.signers.operator, st); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.store = st
	s.keySets.keys, s.keySets.log = s.PublicKeys, s.log
	keys := &KeyService{Store: st, Now: s.now, Generate: cfg.GenerateKey, Queue: tokens.Queue}
	var media gen.MediaOperations = unmounted{}
	if s.media = cfg.Media; s.media != nil {
		media = s.media
	}
	s.services = gen.ComposeOperations(keys, media, tokens)
	if s.handler, err = s.routes(spec); err != nil {
		return nil, err
	}
	return s, nil
}

// HealthPath is where the server answers 200 and {"status":"ok"} while it
// serves: what a load balancer, a container runtime or Kubernetes probes
// (streamtoken healthcheck asks it). It says the process answers, not that
// a store or an upstream does.
const HealthPath = "/healthz"

// MetricsPath is where the server answers its Prometheus metrics, for a
// scraper.
const MetricsPath = "/metrics"

// Handler returns the server's HTTP handler: the API under /client/v4,
// and GET /healthz, /metrics, /.well-known/jwks/{account_id}.json (and
// /.well-known/jwks.json when the credentials name one account alone),
// /openapi.json, /openapi.yaml and /docs (the spec rendered by Redoc).
func (s *Server) Handler() http.Handler { return s.handler }

// MaxConnections is the cap on open connections [Server.Serve] holds to:
// Config.MaxConnections, or the one derived from the open-file limit.
func (s *Server) MaxConnections() int { return s.maxConns }

// MaxConnectionsPerIP is the cap on open connections from one client
// address in force, 0 for none.
func (s *Server) MaxConnectionsPerIP() int { return s.perIP }

// AccountSigner returns the signer of an account's tokens: the operator's
// key for the account, else the key shared by every account, else the key
// the server generated for the account, which it generates now (and keeps
// in its store) if the account has none. An error matching
// [store.ErrAccountLimit] says the store keeps keys for as many accounts as it
// may.
func (s *Server) AccountSigner(ctx context.Context, accountID string) (*token.Signer, error) {
	if why := ids.Check(accountID); why != "" {
		return nil, fmt.Errorf("account %q: %s", accountID, why)
	}
	return s.signers.forToken(ctx, accountID)
}

// ReloadAccountKey reads the account's signing key from the store again,
// and signs the account's tokens with it from now on when it is another
// than the one the server loaded: another server on the store, or a
// gateway's sync, replaced it (store.AccountKeys.ReplaceAccountKey). It
// returns the ID of the key that signs the account's tokens ("" before
// the account has one); it makes no key.
func (s *Server) ReloadAccountKey(ctx context.Context, accountID string) (string, error) {
	if why := ids.Check(accountID); why != "" {
		return "", fmt.Errorf("account %q: %s", accountID, why)
	}
	return s.signers.reload(ctx, accountID)
}

// PublicKeys returns the public keys the server vouches for in an account,
// as its JWK set serves them: each kid once, in a stable order, the key
// that signs the account's tokens (none before its first token, when the
// server generates it), then the keys created through the account's keys
// API, oldest first. A deleted key is not among them, nor any other
// account's key.
func (s *Server) PublicKeys(ctx context.Context, accountID string) ([]*token.Key, error) {
	if why := ids.Check(accountID); why != "" {
		return nil, fmt.Errorf("account %q: %s", accountID, why)
	}
	signer, err := s.signers.find(ctx, accountID)
	if err != nil {
		return nil, err
	}
	stored, err := s.store.Keys(ctx, accountID)
	if err != nil {
		return nil, err
	}
	keys := make([]*token.Key, 0, len(stored)+1)
	seen := make(map[string]bool, len(stored)+1)
	if signer != nil {
		keys = append(keys, signer.PublicKey())
		seen[signer.KeyID()] = true
	}
	for _, k := range stored {
		if !seen[k.Key.ID] {
			seen[k.Key.ID] = true
			keys = append(keys, k.Key) // a store hands out public halves alone
		}
	}
	return keys, nil
}

// routes assembles the server from the blocks a custom server uses too.
func (s *Server) routes(spec *openapi3.T) (http.Handler, error) {
	mux := http.NewServeMux()
	// The media's own middleware runs first, then the operator's; with no
	// media, their operations are 404s before anything else.
	httpMW := []gen.MiddlewareFunc{s.checker.Middleware, AuthMiddleware(s.auth)}
	if s.media == nil {
		httpMW = append(httpMW, noMedia)
	} else {
		first, err := s.media.Mount(Mount{Tracer: s.tracer, Refused: func(err error) { countRefusal(s.metrics.refusals, err) }, Registerer: s.reg, mux: mux, untraced: &s.untraced})
		if err != nil {
			return nil, fmt.Errorf("server: Media: %w", err)
		}
		if first != nil {
			s.opsMW = append([]gen.StrictMiddlewareFunc{first}, s.opsMW...)
		}
	}
	// The generated handler makes the last middleware the outermost:
	// reversed, the first given wraps the others.
	ops := slices.Clone(s.opsMW)
	slices.Reverse(ops)
	gen.HandlerWithOptions(gen.NewStrictHandlerWithOptions(s, ops, StrictOptions(s.log)), gen.StdHTTPServerOptions{
		BaseURL:    BasePath,
		BaseRouter: mux,
		// The last middleware runs first: authentication before anything.
		Middlewares:      httpMW,
		ErrorHandlerFunc: ParamErrorHandler,
	})
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET "+MetricsPath, s.metrics.handler)
	s.keySets.register(mux)
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.specJSON)
	})
	serveDocs(mux)
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(s.specYAML)
	})
	mux.Handle("/", NoRoute(spec, BasePath))
	var routes http.Handler = mux
	if s.front != nil {
		routes = s.front(mux)
	}
	h := s.metrics.observe(s.log, operationOf, s.recoverPanics(RefuseUncleanPaths(routes)))
	if len(s.header) > 0 {
		h = withHeader(s.header, h)
	}
	if s.tracer == nil {
		return h, nil
	}
	// The operation's span starts here, named for the method until the
	// route is known, then by its pattern: the route template, never the
	// raw path. Its parent is the caller's, from a W3C traceparent header.
	return otelhttp.NewHandler(h, "streamtoken",
		otelhttp.WithTracerProvider(s.tp),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.Method
		}),
		otelhttp.WithServerName("streamtoken"),
		// A path that holds a secret (an upload URL's capability) would
		// be recorded as url.path: its requests are not traced.
		otelhttp.WithFilter(func(r *http.Request) bool {
			for _, prefix := range s.untraced {
				if strings.HasPrefix(r.URL.Path, prefix) {
					return false
				}
			}
			return true
		})), nil
}

// RefuseUncleanPaths answers a path with an empty, "." or ".." segment
// with a 400 envelope (1008), where http.ServeMux would redirect it
// elsewhere: on an API, a request moved by its own path is a trap, not a
// convenience. Wrap the ServeMux in it.
func RefuseUncleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if uncleanPath(r.URL.EscapedPath()) {
			WriteProblems(w, Problem{Status: http.StatusBadRequest, Code: apicode.UncleanPath,
				Message: `the path has an empty, "." or ".." segment`})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// uncleanPath reports whether p, as sent, has an empty, "." or ".."
// segment (a trailing slash aside).
func uncleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return p != "" && p != "*"
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		switch seg {
		case ".", "..":
			return true
		case "":
			if i != len(segs)-1 {
				return true
			}
		}
	}
	return false
}

// recoverPanics turns a panic in a handler into a 500 envelope; the server
// keeps serving.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				InternalError(s.log)(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Timeouts of the http.Server that [Server.Serve] runs. IdleTimeout is
// short so that idle keep-alive connections give their slots back soon. A
// request's body has no deadline of its own but a minimum rate
// ([MinBodyBytesPerSecond]), and an answer's write deadline moves on with
// it.
const (
	ReadHeaderTimeout = 5 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 30 * time.Second
	// DefaultShutdownTimeout is how long Serve lets in-flight requests
	// finish once ctx ends, unless Config.ShutdownTimeout says otherwise.
	DefaultShutdownTimeout = 20 * time.Second
	// MaxHeaderBytes bounds a request's headers; net/http answers 431
	// past it (in an envelope, through Serve's listener).
	MaxHeaderBytes = 32 << 10
)

// Serve serves on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish (up to Config.ShutdownTimeout)
// and returns nil; connections still open then are closed and Serve says
// so. Any other end is the error that caused it. It holds at most
// Config.MaxConnections connections at once; from nine tenths of them on,
// its answers close their connections, so that clients open new ones
// rather than reuse one it may have to close to make room.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ll := newLimitListener(ln, s.maxConns, s.perIP, func(status int) {
		s.metrics.requests.WithLabelValues("http-layer", strconv.Itoa(status)).Inc()
		s.log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("route", "http-layer"), slog.Int("status", status))
	})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ll.crowded() {
			w.Header().Set("Connection", "close")
		}
		handled(r)
		w, r = s.bodyRate.guard(w, r)
		s.handler.ServeHTTP(w, r)
		finish(w)
	})
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout, // the body: bodyRate, not one deadline
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ConnState:         ll.connState,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ll) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.drain)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		// The drain ran out: close what is left, so that nothing is
		// served after Serve returns.
		_ = hs.Close()
		<-errc
		return fmt.Errorf("shutdown: requests still in flight after %v were cut off: %w", s.drain, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
