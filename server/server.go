package server

import (
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

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/openapi"
	"github.com/streamtoken/streamtoken/token"
)

// BasePath is where the API is served, as Cloudflare's.
const BasePath = "/client/v4"

// Config configures a [Server].
type Config struct {
	// Credentials are the API credentials the server accepts: at least one.
	Credentials []Credential
	// Signer signs the tokens of every account without a signer of its own
	// in AccountSigners: made from a key (token.NewSigner) or from any
	// crypto.Signer, such as a key in a KMS or an HSM whose private half
	// never leaves it (token.NewCryptoSigner). Its clock dates the tokens.
	// Nil: New generates an RSA-2048 key.
	Signer *token.Signer
	// AccountSigners are signers by account ID. Each key ID may appear
	// once among Signer and these.
	AccountSigners map[string]*token.Signer
	// KeyStore keeps the signing keys created through the keys API; the
	// JWK set lists them beside the server's own. Nil: a
	// [MemoryKeyStore], whose keys go with the process; a [DirKeyStore]
	// keeps them on disk.
	KeyStore KeyStore
	// MediaStore keeps the details of videos and live inputs changed
	// through the API (requireSignedURLs, allowedOrigins, ...). Nil: a
	// [MemoryMediaStore].
	MediaStore MediaStore
	// Videos and LiveInputs, when set, say which IDs exist: the details
	// of others are 404 envelopes. Nil: every valid ID exists, with the
	// defaults until changed.
	Videos, LiveInputs func(accountID, id string) bool
	// Logger gets one line per request and the details of server faults.
	// Nil: nothing is logged.
	Logger *slog.Logger
	// Now is the clock requests are checked by (and that of the signer New
	// generates). Nil: time.Now.
	Now func() time.Time
	// Registerer is where the server's metrics are registered. Servers
	// that share one count together. Nil: a registry of the server's own,
	// which /metrics then serves.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves. Nil: Registerer, when it is also
	// a Gatherer (a *prometheus.Registry is both).
	Gatherer prometheus.Gatherer
	// SigningWorkers is how many tokens the server signs at once; other
	// token requests wait their turn, in arrival order. Zero:
	// runtime.GOMAXPROCS(0), one per core.
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
	// DefaultMaxConnections.
	MaxConnections int
	// ShutdownTimeout is how long Serve lets requests in flight finish
	// once its context ends, before it closes their connections. Zero:
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// Server is the token server, assembled from the package's building
// blocks: an [Authenticator], a [RequestChecker], the envelope handlers,
// and signers. Build it with [New].
type Server struct {
	auth     *Authenticator
	checker  *RequestChecker
	tokens   TokenService
	signer   *token.Signer            // the default
	signers  map[string]*token.Signer // by account
	public   []*token.Key             // the signing keys' public halves, the default first
	keys     KeyService
	media    MediaService
	jwks     jwksCache // the last JWK set served, encoded
	specJSON []byte
	specYAML []byte
	log      *slog.Logger
	now      func() time.Time
	metrics  *metrics
	handler  http.Handler
	maxConns int           // Serve's cap on open connections
	drain    time.Duration // Serve's shutdown timeout
}

var _ gen.StrictServerInterface = (*Server)(nil)

// New checks cfg and builds a server.
func New(cfg Config) (*Server, error) {
	auth, err := NewAuthenticator(cfg.Credentials)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{auth: auth, log: cfg.Logger, now: cfg.Now, signers: map[string]*token.Signer{},
		maxConns: cfg.MaxConnections, drain: cfg.ShutdownTimeout}
	switch {
	case s.maxConns < 0:
		return nil, fmt.Errorf("server: MaxConnections %d is negative", s.maxConns)
	case s.maxConns == 0:
		s.maxConns = DefaultMaxConnections
	}
	switch {
	case s.drain < 0:
		return nil, fmt.Errorf("server: ShutdownTimeout %v is negative", s.drain)
	case s.drain == 0:
		s.drain = DefaultShutdownTimeout
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
		if why := wire.CheckID(account); why != "" {
			return nil, fmt.Errorf("server: account %q: %s", account, why)
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
	if s.metrics, err = newMetrics(reg, gather, own); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	s.tokens = TokenService{Signer: s.signerFor, Now: s.now, Signed: func(key string) { s.metrics.signed.WithLabelValues(key).Inc() }}
	if s.tokens.Queue, err = NewSigningQueue(SigningQueueConfig{Workers: cfg.SigningWorkers, MaxWait: cfg.MaxSigningWait, Observer: s.metrics}); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if !cfg.DisableTokenCache {
		if s.tokens.Cache, err = NewTokenCache(TokenCacheConfig{MaxEntries: cfg.TokenCacheEntries, MaxBytes: cfg.TokenCacheBytes, Now: s.now, Observer: s.metrics}); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if s.signer = cfg.Signer; s.signer == nil {
		key, err := token.GenerateKey()
		if err != nil {
			return nil, fmt.Errorf("server: generating a signing key: %w", err)
		}
		if s.signer, err = token.NewSigner(key, token.WithClock(s.now)); err != nil {
			return nil, fmt.Errorf("server: signing key: %w", err)
		}
	}
	// The JWK set names each kid once, in a stable order: the default key
	// first, then the accounts' keys by account ID.
	public := []*token.Key{s.signer.PublicKey()}
	owner := map[string]string{s.signer.KeyID(): "the default key"}
	for _, account := range accounts {
		signer := cfg.AccountSigners[account]
		if other, ok := owner[signer.KeyID()]; ok {
			return nil, fmt.Errorf("server: signing key of account %s has the ID %q of %s: each key ID must name one key", account, signer.KeyID(), other)
		}
		owner[signer.KeyID()] = "account " + account + "'s key"
		s.signers[account] = signer
		public = append(public, signer.PublicKey())
	}
	s.public = public

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

	store := cfg.KeyStore
	if store == nil {
		store = NewMemoryKeyStore()
	}
	s.keys = KeyService{Store: store, Now: s.now}
	media := cfg.MediaStore
	if media == nil {
		media = NewMemoryMediaStore()
	}
	s.media = MediaService{Store: media, Now: s.now, Videos: cfg.Videos, LiveInputs: cfg.LiveInputs}
	s.handler = s.routes(spec)
	return s, nil
}

// Handler returns the server's HTTP handler: the token endpoint under
// /client/v4, and GET /healthz, /metrics, /.well-known/jwks.json,
// /openapi.json and /openapi.yaml.
func (s *Server) Handler() http.Handler { return s.handler }

// KeyID returns the ID of the default signing key.
func (s *Server) KeyID() string { return s.signer.KeyID() }

// PublicKeys returns the public halves of the server's own signing keys,
// the default first: those its token endpoint signs with.
// /.well-known/jwks.json serves them and then the keys of its KeyStore.
func (s *Server) PublicKeys() []*token.Key {
	return append([]*token.Key(nil), s.public...)
}

// KeySet returns every public key the server vouches for, each kid once, in
// a stable order: its own (as PublicKeys), then those of its KeyStore by
// account ID and age. A deleted key is not among them.
func (s *Server) KeySet(ctx context.Context) ([]*token.Key, error) {
	stored, err := s.keys.Store.All(ctx)
	if err != nil {
		return nil, err
	}
	keys := s.PublicKeys()
	seen := make(map[string]bool, len(keys)+len(stored))
	for _, k := range keys {
		seen[k.ID] = true
	}
	for _, k := range stored {
		if !seen[k.Key.ID] {
			seen[k.Key.ID] = true
			keys = append(keys, &token.Key{ID: k.Key.ID, Public: k.Key.Public})
		}
	}
	return keys, nil
}

// The keys API, delegated to the KeyService block.

// ListSigningKeys implements gen.StrictServerInterface.
func (s *Server) ListSigningKeys(ctx context.Context, req gen.ListSigningKeysRequestObject) (gen.ListSigningKeysResponseObject, error) {
	return s.keys.ListSigningKeys(ctx, req)
}

// CreateSigningKey implements gen.StrictServerInterface.
func (s *Server) CreateSigningKey(ctx context.Context, req gen.CreateSigningKeyRequestObject) (gen.CreateSigningKeyResponseObject, error) {
	return s.keys.CreateSigningKey(ctx, req)
}

// DeleteSigningKey implements gen.StrictServerInterface.
func (s *Server) DeleteSigningKey(ctx context.Context, req gen.DeleteSigningKeyRequestObject) (gen.DeleteSigningKeyResponseObject, error) {
	return s.keys.DeleteSigningKey(ctx, req)
}

// The video and live-input details, delegated to the MediaService block.

// GetVideo implements gen.StrictServerInterface.
func (s *Server) GetVideo(ctx context.Context, req gen.GetVideoRequestObject) (gen.GetVideoResponseObject, error) {
	return s.media.GetVideo(ctx, req)
}

// EditVideo implements gen.StrictServerInterface.
func (s *Server) EditVideo(ctx context.Context, req gen.EditVideoRequestObject) (gen.EditVideoResponseObject, error) {
	return s.media.EditVideo(ctx, req)
}

// GetLiveInput implements gen.StrictServerInterface.
func (s *Server) GetLiveInput(ctx context.Context, req gen.GetLiveInputRequestObject) (gen.GetLiveInputResponseObject, error) {
	return s.media.GetLiveInput(ctx, req)
}

// UpdateLiveInput implements gen.StrictServerInterface.
func (s *Server) UpdateLiveInput(ctx context.Context, req gen.UpdateLiveInputRequestObject) (gen.UpdateLiveInputResponseObject, error) {
	return s.media.UpdateLiveInput(ctx, req)
}

// routes assembles the server from the blocks a custom server uses too.
func (s *Server) routes(spec *openapi3.T) http.Handler {
	mux := http.NewServeMux()
	gen.HandlerWithOptions(gen.NewStrictHandlerWithOptions(s, nil, StrictOptions(s.log)), gen.StdHTTPServerOptions{
		BaseURL:    BasePath,
		BaseRouter: mux,
		// The last middleware runs first: authentication before anything.
		Middlewares:      []gen.MiddlewareFunc{s.checker.Middleware, s.auth.Middleware},
		ErrorHandlerFunc: ParamErrorHandler,
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /metrics", s.metrics.handler)
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		keys, err := s.KeySet(r.Context())
		if err != nil {
			InternalError(s.log)(w, r, fmt.Errorf("the JWK set: %w", err))
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		// A deleted key must leave at once: caches revalidate.
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(s.jwks.encode(keys))
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.specJSON)
	})
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(s.specYAML)
	})
	mux.Handle("/", NoRoute(spec, BasePath))
	return s.observe(s.recoverPanics(RefuseUncleanPaths(mux)))
}

// RefuseUncleanPaths answers a path with an empty, "." or ".." segment
// with a 400 envelope (1008), where http.ServeMux would redirect it
// elsewhere: on an API, a request moved by its own path is a trap, not a
// convenience. Wrap the ServeMux in it.
func RefuseUncleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if uncleanPath(r.URL.EscapedPath()) {
			WriteProblems(w, Problem{Status: http.StatusBadRequest, Code: streamtoken.CodeUncleanPath,
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
// short so that idle keep-alive connections give their slots back soon.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
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
// Config.MaxConnections connections at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ll := newLimitListener(ln, s.maxConns, func(status int) {
		s.metrics.requests.WithLabelValues("http-layer", strconv.Itoa(status)).Inc()
		s.log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("route", "http-layer"), slog.Int("status", status))
	})
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ConnState:         ll.connState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
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
