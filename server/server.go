package server

import (
	"context"
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
	"github.com/getkin/kin-openapi/routers"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/token"
)

// BasePath is where the API is served, as Cloudflare's.
const BasePath = "/client/v4"

// Config configures a [Server].
type Config struct {
	// Credentials are the API credentials the server accepts: at least one.
	Credentials []Credential
	// SigningKey signs the tokens of every account without a key of its own
	// in AccountKeys. Nil: New generates an RSA-2048 key.
	SigningKey *token.Key
	// AccountKeys are signing keys by account ID.
	AccountKeys map[string]*token.Key
	// Logger gets one line per request and the details of server faults.
	// Nil: nothing is logged.
	Logger *slog.Logger
	// Now is the clock tokens are dated and checked by. Nil: time.Now.
	Now func() time.Time
	// Registry is where the server's metrics are registered and which
	// /metrics serves. Nil: a registry of the server's own.
	Registry *prometheus.Registry
	// MaxConnections caps the connections [Server.Serve] holds open at
	// once; when full, the longest-idle one is closed to make room. Zero:
	// DefaultMaxConnections.
	MaxConnections int
	// ShutdownTimeout is how long Serve lets requests in flight finish
	// once its context ends, before it closes their connections. Zero:
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// Server is the token server. Build it with [New].
type Server struct {
	auth     *authenticator
	signer   *token.Signer            // the default
	signers  map[string]*token.Signer // by account
	public   []*token.Key             // the signing keys' public halves, the default first
	jwks     []byte                   // public, as served
	specJSON []byte
	specYAML []byte
	route    *routers.Route
	// bodySchema is the token operation's JSON body schema, for checkTypes.
	bodySchema *openapi3.SchemaRef
	log        *slog.Logger
	now        func() time.Time
	metrics    *metrics
	handler    http.Handler
	maxConns   int           // Serve's cap on open connections
	drain      time.Duration // Serve's shutdown timeout
}

var _ gen.StrictServerInterface = (*Server)(nil)

// New checks cfg and builds a server.
func New(cfg Config) (*Server, error) {
	if len(cfg.Credentials) == 0 {
		return nil, errors.New("server: no credentials: the endpoint would be open to anyone")
	}
	auth, err := newAuthenticator(cfg.Credentials)
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
	key := cfg.SigningKey
	if key == nil {
		if key, err = GenerateKey(); err != nil {
			return nil, fmt.Errorf("server: generating a signing key: %w", err)
		}
	}
	if s.signer, err = token.NewSigner(key, s.now); err != nil {
		return nil, fmt.Errorf("server: signing key: %w", err)
	}
	// The JWK set names each kid once, in a stable order: the default key
	// first, then the accounts' keys by account ID.
	public := []*token.Key{s.signer.PublicKey()}
	owner := map[string]string{s.signer.KeyID(): "the default key"}
	for _, account := range slices.Sorted(maps.Keys(cfg.AccountKeys)) {
		signer, err := token.NewSigner(cfg.AccountKeys[account], s.now)
		if err != nil {
			return nil, fmt.Errorf("server: signing key of account %s: %w", account, err)
		}
		if other, ok := owner[signer.KeyID()]; ok {
			return nil, fmt.Errorf("server: signing key of account %s has the ID %q of %s: each key ID must name one key", account, signer.KeyID(), other)
		}
		owner[signer.KeyID()] = "account " + account + "'s key"
		s.signers[account] = signer
		public = append(public, signer.PublicKey())
	}
	s.public, s.jwks = public, token.JWKS(public...)

	spec, err := gen.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("server: embedded spec: %w", err)
	}
	if s.route, err = tokenRoute(spec); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if rb := s.route.Operation.RequestBody; rb != nil && rb.Value != nil {
		if mt := rb.Value.Content.Get("application/json"); mt != nil {
			s.bodySchema = mt.Schema
		}
	}
	if s.specJSON, err = gen.GetSpecJSON(); err != nil {
		return nil, fmt.Errorf("server: embedded spec: %w", err)
	}
	var doc any
	if err := yaml.Unmarshal(s.specJSON, &doc); err == nil {
		s.specYAML, _ = yaml.Marshal(doc)
	}

	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if s.metrics, err = newMetrics(reg); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler: the token endpoint under
// /client/v4, and GET /healthz, /metrics, /.well-known/jwks.json,
// /openapi.json and /openapi.yaml.
func (s *Server) Handler() http.Handler { return s.handler }

// KeyID returns the ID of the default signing key.
func (s *Server) KeyID() string { return s.signer.KeyID() }

// PublicKeys returns the public halves of the server's signing keys, the
// default first: what /.well-known/jwks.json serves.
func (s *Server) PublicKeys() []*token.Key {
	return append([]*token.Key(nil), s.public...)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	strict := gen.NewStrictHandlerWithOptions(s, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			// Only a body the checks let through but that does not decode.
			writeError(w, problem{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "request body does not decode"})
		},
		ResponseErrorHandlerFunc: s.internalError,
	})
	gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{
		BaseURL:    BasePath,
		BaseRouter: mux,
		// The last middleware runs first: authentication before anything.
		Middlewares: []gen.MiddlewareFunc{s.checkRequest, s.authenticate},
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, problem{Status: http.StatusBadRequest, Code: CodeInvalidPath, Message: "path parameters could not be read"})
		},
	})
	mux.HandleFunc(BasePath+"/accounts/{account_id}/stream/{identifier}/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, problem{Status: http.StatusMethodNotAllowed, Code: CodeMethod, Message: "Method " + r.Method + " not allowed: this route takes POST"})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /metrics", s.metrics.handler)
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(s.jwks)
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.specJSON)
	})
	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(s.specYAML)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, problem{Status: http.StatusNotFound, Code: CodeNoRoute, Message: "No route for the URI"})
	})
	return s.observe(s.recoverPanics(s.refuseUncleanPaths(mux)))
}

// refuseUncleanPaths answers a path with an empty, "." or ".." segment with
// an envelope, where http.ServeMux would redirect it elsewhere (a request
// moved by its own path is a trap, not a convenience, on an API).
func (s *Server) refuseUncleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if uncleanPath(r.URL.EscapedPath()) {
			writeError(w, problem{Status: http.StatusBadRequest, Code: CodeUncleanPath,
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

// authenticate lets through only requests with a credential allowed for
// the path's account.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := s.auth.check(r, r.PathValue("account_id")); e != nil {
			writeError(w, *e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// internalError answers a fault of the server: the detail goes to the log,
// the client learns nothing of it.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "route", r.Pattern, "error", err.Error())
	writeError(w, problem{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "Internal error"})
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
				s.internalError(w, r, fmt.Errorf("panic: %v", v))
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
