package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
)

// Defaults of a [Config].
const (
	// DefaultAuthTTL is how long the upstream's acceptance of a
	// credential for an account holds: a credential revoked there is
	// refused here within it.
	DefaultAuthTTL = 5 * time.Minute
	// DefaultRefusalTTL is how long a refusal holds: a flood of one bad
	// credential costs the upstream one request per account each time
	// it runs out.
	DefaultRefusalTTL = 10 * time.Second
	// DefaultGrace is how long an acceptance past its TTL holds more
	// while the upstream cannot be reached.
	DefaultGrace = 15 * time.Minute
	// DefaultHeaderTimeout bounds the wait for the upstream's answer to
	// begin, once the request is sent (a 200 MB upload included).
	DefaultHeaderTimeout = 2 * time.Minute
	// DefaultIdleTimeout bounds a forwarded request's time without
	// progress: no byte of the caller's body, nor of the upstream's
	// answer, for that long ends it.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultKeyTimeout bounds the creation of an account's key at the
	// upstream, under the store's lock on the account.
	DefaultKeyTimeout = 4 * time.Second
	// DefaultMaxDecisions bounds the (credential, account) pairs whose
	// decision is kept.
	DefaultMaxDecisions = 100_000
	// DefaultMaxAuthorizing bounds the authorizations under way at once:
	// past it, a token request of a pair not yet decided is a 503 (1020)
	// rather than one more request of the upstream.
	DefaultMaxAuthorizing = 64
)

// Config configures a [Gateway].
type Config struct {
	// Upstream is the API's base URL, http or https, with any base path
	// (https://api.cloudflare.com/client/v4): a request for
	// server.BasePath + P is forwarded to Upstream + P. Required.
	Upstream string
	// Server configures the token server inside: its store, logger,
	// clock, signing and limits. The gateway sets its Front, AccountKey
	// and Authenticator; Media must be nil (the upstream has the media).
	// Credentials are the callers' local ones, with UpstreamCredentials;
	// without, they are not used.
	Server server.Config
	// UpstreamCredentials, when set, are the deployment's own credentials
	// at the upstream, each for the accounts it names: callers then
	// authenticate with Server.Credentials (local ones), and their
	// requests reach the upstream under the deployment's credential for
	// the account in the path, only under the accounts their credential
	// names. Nil: callers present their own upstream credentials.
	UpstreamCredentials []server.Credential
	// AuthTTL, RefusalTTL and Grace: see the package's doc. Zero: the
	// defaults.
	AuthTTL, RefusalTTL, Grace time.Duration
	// HeaderTimeout and IdleTimeout bound forwarded requests (see the
	// defaults). Zero: the defaults.
	HeaderTimeout, IdleTimeout time.Duration
	// SyncInterval is how often the accounts' keys are listed at the
	// upstream, a signing key deleted there replaced (see
	// [Gateway.Sync]). Zero: DefaultSyncInterval; negative: never.
	SyncInterval time.Duration
	// RotateAfter, when set, rotates an account's signing key made by the
	// gateway once it is that old (by the upstream's creation time): the
	// sync makes a new one at the upstream, which signs from then on; the
	// old stays in the account's JWK set and at the upstream until every
	// token it signed has expired (token.RetireAfter), then is deleted
	// there. Zero: never. The operator's keys are not rotated.
	RotateAfter time.Duration
	// Budget bounds the requests the gateway makes of the upstream on its
	// own (keys made, listed, deleted) per upstream credential per
	// BudgetSpan, across the replicas sharing its store: a request past it
	// is not sent (a sync waits for its next interval, a first token is a
	// 503). Zero: DefaultBudget per DefaultBudgetSpan; negative: none.
	Budget     int
	BudgetSpan time.Duration
	// KeyTimeout bounds an account key's creation at the upstream. Zero:
	// DefaultKeyTimeout.
	KeyTimeout time.Duration
	// MaxDecisions and MaxAuthorizing: see the defaults. Zero: the
	// defaults.
	MaxDecisions, MaxAuthorizing int
	// Transport carries the requests to the upstream. Nil: a clone of
	// http.DefaultTransport, its proxy from the environment, that adds
	// no Accept-Encoding of its own (one that does sends the upstream
	// what the caller did not, and unpacks what it answers).
	Transport http.RoundTripper
}

// Gateway is the token server in front of an upstream API. Build it with
// [New]; serve it with [Gateway.Serve], or mount [Gateway.Handler].
type Gateway struct {
	core     *server.Server
	upstream *url.URL
	log      *slog.Logger
	now      func() time.Time

	decisions             *decisions
	authTTL, refusalTTL   time.Duration
	grace                 time.Duration
	headerWait, idle      time.Duration
	keyWait               time.Duration
	authorizing           chan struct{} // a slot per authorization under way
	local                 *server.Authenticator
	deployment            map[string]credential // by account; nil: callers' own
	hc                    *http.Client          // the gateway's own requests
	proxy                 *httputil.ReverseProxy
	keyRefused            refusedAccounts
	lastDown, lastReached atomic.Int64 // unix nanoseconds of the upstream's last failure and answer
	ready                 readiness
	metrics               *metrics
	store                 store.KeyStore  // the server's: keys created and deleted through the gateway, accounts' keys replaced
	operator              map[string]bool // accounts of the operator's keys (Server.AccountSigners): not the gateway's to replace
	sync                  *syncState
	locks                 lockouts      // credentials the upstream locked out
	rotateAfter           time.Duration // 0: never
	budget                int           // 0: none
	budgetSpan            time.Duration
	budgets               store.Budgets
}

// New checks cfg and builds a gateway.
func New(cfg Config) (*Gateway, error) {
	u, err := url.Parse(cfg.Upstream)
	switch {
	case cfg.Upstream == "":
		return nil, errors.New("gateway: Upstream: required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil:
		return nil, errors.New("gateway: Upstream: want an absolute http or https URL without credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("gateway: Upstream: takes no query or fragment")
	case cfg.Server.Media != nil:
		return nil, errors.New("gateway: Server.Media: the upstream has the media: leave it nil")
	case cfg.Server.Front != nil || cfg.Server.AccountKey != nil || cfg.Server.Authenticator != nil:
		return nil, errors.New("gateway: Server.Front, Server.AccountKey and Server.Authenticator are the gateway's: leave them nil")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	g := &Gateway{upstream: u, log: cfg.Server.Logger, now: cfg.Server.Now,
		authTTL: orDefault(cfg.AuthTTL, DefaultAuthTTL), refusalTTL: orDefault(cfg.RefusalTTL, DefaultRefusalTTL), grace: orDefault(cfg.Grace, DefaultGrace),
		headerWait: orDefault(cfg.HeaderTimeout, DefaultHeaderTimeout), idle: orDefault(cfg.IdleTimeout, DefaultIdleTimeout),
		keyWait: orDefault(cfg.KeyTimeout, DefaultKeyTimeout), rotateAfter: cfg.RotateAfter,
		decisions: newDecisions(orDefault(cfg.MaxDecisions, DefaultMaxDecisions)), authorizing: make(chan struct{}, orDefault(cfg.MaxAuthorizing, DefaultMaxAuthorizing))}
	for name, d := range map[string]time.Duration{"AuthTTL": cfg.AuthTTL, "SyncInterval": max(cfg.SyncInterval, 0), "RefusalTTL": cfg.RefusalTTL, "Grace": cfg.Grace, "HeaderTimeout": cfg.HeaderTimeout, "IdleTimeout": cfg.IdleTimeout, "KeyTimeout": cfg.KeyTimeout, "RotateAfter": cfg.RotateAfter, "BudgetSpan": cfg.BudgetSpan} {
		if d < 0 {
			return nil, fmt.Errorf("gateway: %s %v is negative", name, d)
		}
	}
	if cfg.MaxDecisions < 0 || cfg.MaxAuthorizing < 0 {
		return nil, errors.New("gateway: MaxDecisions and MaxAuthorizing: want 0 (the default) or more")
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	transport := cfg.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = g.headerWait
		t.MaxIdleConnsPerHost = 64
		// No Accept-Encoding of the transport's own: the caller's goes
		// as sent, and the answer comes back as it came, compressed or
		// not.
		t.DisableCompression = true
		transport = t
	}
	g.hc = &http.Client{Transport: transport, Timeout: g.keyWait,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if cfg.UpstreamCredentials != nil {
		if len(cfg.Server.Credentials) == 0 {
			return nil, errors.New("gateway: UpstreamCredentials: callers then need local credentials (Server.Credentials)")
		}
		if g.local, err = server.NewAuthenticator(cfg.Server.Credentials); err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		g.deployment = map[string]credential{}
		for i, c := range cfg.UpstreamCredentials {
			if len(c.Accounts) == 0 || (c.Token == "") == (c.Key == "") {
				return nil, fmt.Errorf("gateway: UpstreamCredentials[%d]: want a token, or an email and key, and the accounts it is for", i)
			}
			for _, a := range c.Accounts {
				if _, dup := g.deployment[a]; dup {
					return nil, fmt.Errorf("gateway: UpstreamCredentials[%d]: account %s has a credential already", i, a)
				}
				g.deployment[a] = credential{bearer: c.Token, email: c.Email, key: c.Key}
			}
		}
	}
	scfg := cfg.Server
	if scfg.Store == nil {
		scfg.Store = store.NewMemory(0)
	}
	g.store = scfg.Store
	g.operator = map[string]bool{}
	for account := range scfg.AccountSigners {
		g.operator[account] = true
	}
	g.sync = newSyncState(orDefault(cfg.SyncInterval, DefaultSyncInterval), g.store)
	g.budget, g.budgetSpan, g.budgets = max(0, orDefault(cfg.Budget, DefaultBudget)), orDefault(cfg.BudgetSpan, DefaultBudgetSpan), budgetsOf(g.store)
	if scfg.Registerer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		scfg.Registerer, scfg.Gatherer = reg, reg
	}
	if g.metrics, err = newMetrics(scfg.Registerer); err != nil {
		return nil, fmt.Errorf("gateway: metrics: %w", err)
	}
	// The gateway authenticates each token request before the server
	// sees it (the upstream accepted the caller's credential, or the
	// deployment's local credentials name the caller), and says who in
	// the context: the server reads it there, authenticating nothing twice.
	scfg.Authenticator = server.AuthenticatorFunc(func(r *http.Request) (*server.Caller, *server.Problem) {
		if c := server.CallerFrom(r.Context()); c != nil {
			return c, nil
		}
		return nil, &server.Problem{Status: http.StatusUnauthorized, Code: apicode.Authentication, Message: "Authentication error"}
	})
	scfg.AccountKey = g.createKey
	scfg.Front = g.front
	g.proxy = newProxy(g)
	if g.core, err = server.New(scfg); err != nil {
		return nil, err
	}
	return g, nil
}

func orDefault[T time.Duration | int](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Handler is the gateway's HTTP handler: the token operation answered
// here, every other request under server.BasePath forwarded, GET /readyz
// (whether the upstream is reachable), and the server's own routes
// (/healthz, /metrics, /.well-known/jwks/{account_id}.json, /openapi.json,
// /docs).
func (g *Gateway) Handler() http.Handler { return g.core.Handler() }

// Serve serves on ln until ctx ends, as [server.Server.Serve] does, and
// syncs the accounts' keys with the upstream every Config.SyncInterval
// meanwhile (a gateway mounted by its Handler calls [Gateway.Sync] itself).
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go g.syncLoop(ctx)
	return g.core.Serve(ctx, ln)
}

// Server is the token server inside.
func (g *Gateway) Server() *server.Server { return g.core }

// Upstream is the upstream's base URL.
func (g *Gateway) Upstream() string { return g.upstream.String() }

// front routes what the gateway answers or forwards, and hands the rest
// (its own routes) to the server's.
func (g *Gateway) front(routes http.Handler) http.Handler {
	mux := http.NewServeMux()
	base := server.BasePath
	mux.Handle(gen.CreateStreamTokenRoute.Method+" "+base+gen.CreateStreamTokenRoute.Path, g.serveToken(routes))
	mux.Handle(gen.CreateSigningKeyRoute.Method+" "+base+gen.CreateSigningKeyRoute.Path, g.forward(keyCreated))
	mux.Handle(gen.DeleteSigningKeyRoute.Method+" "+base+gen.DeleteSigningKeyRoute.Path, g.forward(keyDeleted))
	mux.Handle(base+"/", g.forward(nil))
	mux.Handle(base, g.forward(nil))
	mux.HandleFunc("GET /readyz", g.serveReady)
	mux.Handle("/", routes)
	return mux
}

// refusedAccounts are the accounts whose key the upstream refused to
// create with the credential at hand, and until when: their tokens are
// forwarded meanwhile. At most maxRefusedAccounts are kept.
type refusedAccounts struct {
	mu sync.Mutex
	m  map[string]time.Time
}

const maxRefusedAccounts = 10_000

// until is when account's refusal ends; zero when it has none.
func (r *refusedAccounts) until(account string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[account]
}

// set records account as refused until t, forgetting refusals past at
// now.
func (r *refusedAccounts) set(account string, t, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]time.Time{}
	}
	if len(r.m) >= maxRefusedAccounts {
		maps.DeleteFunc(r.m, func(_ string, u time.Time) bool { return !u.After(now) })
	}
	if len(r.m) < maxRefusedAccounts {
		r.m[account] = t
	}
}
