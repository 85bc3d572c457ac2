package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/streamtoken/streamtoken/gateway"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/buildinfo"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/internal/netaddr"
	"github.com/streamtoken/streamtoken/internal/tune"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/store/postgres"
	"github.com/streamtoken/streamtoken/token"
)

// The environment variables serve reads when the flag is not given.
const (
	envServeAPITokens   = "STREAMTOKEN_API_TOKENS"   // comma-separated
	envServeAccountKeys = "STREAMTOKEN_ACCOUNT_KEYS" // comma-separated ACCOUNT=FILE
)

// defaultAddr is where serve listens unless --addr or STREAMTOKEN_ADDR
// says otherwise, and so where healthcheck asks.
const defaultAddr = "127.0.0.1:8787"

// exampleAccount and exampleVideo are the API reference's example IDs.
const (
	exampleAccount = "023e105f4ecef8ad9ca31a8372d0c353"
	exampleVideo   = "ea95132c15732412d22c1476fa83f27a"
)

type serveFlags struct {
	privateHooks bool
	addr         string
	apiTokens    []string
	credentials  string
	signingKey   string
	keyID        string
	accountKeys  []string // --account-key ACCOUNT=FILE
	storeFlags
	shareKey    bool
	maxAccounts int
	crypto      string
	logFormat   string
	maxConns    int
	maxPerIP    int  // with the flag given; else the server's default
	perIPGiven  bool // --max-connections-per-ip was given (0 is then "none")
	workers     int
	maxWait     time.Duration
	cacheSize   int
	cacheBytes  int
	publicURL   string
	otlp        string
	upstream    string // --upstream: a gateway in front of it
	authTTL     time.Duration
	refusalTTL  time.Duration
	grace       time.Duration
	sync        time.Duration
	rotate      time.Duration // --rotate-after; 0: never
	budget      string        // --upstream-budget N/SPAN
}

// Bounds of the load flags: far past any use, short of a typo's harm.
const (
	maxWorkersFlag    = 1024
	maxWaitFlag       = time.Minute
	maxCacheEntries   = 10_000_000
	maxCacheBytesFlag = 16 << 30
	minCacheBytesFlag = 64 << 10
	maxAccountsFlag   = 10_000_000
	// maxAccountKeys bounds --account-key: each is a file read and an
	// RSA key parsed at start.
	maxAccountKeys = 1000
)

func newServeCmd(e env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Cloudflare-compatible token server",
		Long: `Serve Cloudflare's Stream operations on their wire: alone, a stand-in for
tests and demos (its keys, settings and webhooks live in it alone); with
--upstream URL, a gateway in front of Cloudflare, signing with its keys.
Every flag may come from the environment: STREAMTOKEN_ and its name in
capitals, - as _ (lists comma-separated; ..._KEY_ENCRYPTION_KEY_FILE).`,
		Example: `  streamtoken serve --addr 127.0.0.1:8787 --credentials creds.yaml --store dir:state`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.fromEnv(cmd, e.getenv); err != nil {
				return err
			}
			return serve(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", defaultAddr, "address to listen on")
	fl.StringArrayVar(&f.apiTokens, "api-token", nil, "an API token to accept, for every account (repeatable); visible to other users in ps: prefer STREAMTOKEN_API_TOKENS or --credentials")
	fl.StringVar(&f.credentials, "credentials", "", "a credentials `FILE` (YAML or JSON)")
	fl.StringVar(&f.signingKey, "signing-key", "", "a signing key `FILE` for every account without its own (PEM, JWK, the API's base64 forms, or a key as \"keys create --out\" saves it); default: a key generated per account")
	fl.StringArrayVar(&f.accountKeys, "account-key", nil, "an account's signing key, `ACCOUNT=FILE` (repeatable; a key created at Cloudflare with \"keys create --out\" makes its tokens play there)")
	fl.BoolVar(&f.shareKey, "shared-signing-key", false, "let --signing-key sign for accounts the credentials keep apart: a token minted for one of them then verifies for the others' videos")
	fl.IntVar(&f.maxAccounts, "max-accounts", store.DefaultMaxAccounts, "accounts a signing key is generated for, at most")
	fl.StringVar(&f.keyID, "signing-key-id", "", "the signing key's `ID` (default: the file's kid or id, or one derived from the key)")
	fl.StringVar(&f.keysDir, "keys-dir", "", "--store dir:`DIR`, by its older name (from when the directory held keys alone): the server's state in DIR, the operator's per-account signing keys among it")
	_ = fl.MarkHidden("keys-dir") // taken still; --store dir:DIR is its name now
	fl.StringVar(&f.store, "store", "memory", "where the server keeps its state: "+describeStore())
	fl.StringVar(&f.kekFile, "key-encryption-key", "", "a `FILE` of 32 random bytes in base64 (openssl rand -base64 32) that seals the accounts' signing keys in PostgreSQL; required with --store postgres://...")
	fl.IntVar(&f.poolConns, "store-max-conns", postgres.DefaultMaxConns, "connections to PostgreSQL, at most (the listener's aside)")
	fl.DurationVar(&f.opTimeout, "store-timeout", postgres.DefaultTimeout, "the longest one operation of the store may take, a connection's set-up included; past it, a 503")
	fl.Int64Var(&f.memoryBytes, "store-memory-bytes", store.DefaultMaxMemoryBytes, "the most bytes the memory store keeps (a quarter for keys, the rest for media); past them, changes that add are a 400 (1016)")
	fl.Int64Var(&f.accountBytes, "store-account-bytes", 0, fmt.Sprintf("the most bytes of video and live-input details each account keeps, in any store; past them, its changes that grow are a 400 (1019) and other accounts are not affected (0: %d MiB, and at most a quarter of the memory store's media; -1: no bound)", store.DefaultAccountMediaBytes>>20))
	fl.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	fl.StringVar(&f.otlp, "otlp-endpoint", "", "send traces by OTLP/HTTP to the collector at this base `URL` (http://127.0.0.1:4318, whose /v1/traces takes them); default: off, unless "+envOTLPEndpoint+" is set")
	fl.StringVar(&f.publicURL, "public-url", "", "the server's `URL` as clients reach it (https://stream.example.com), which the upload URLs of direct uploads begin with (default: the scheme and Host of each request)")
	fl.IntVar(&f.maxPerIP, "max-connections-per-ip", 0, "connections held open from one client address; past it, a new one is answered 429 and closed (default: a quarter of --max-connections; 0: no cap, as behind a load balancer, where every client arrives from its few addresses)")
	fl.IntVar(&f.maxConns, "max-connections", 0, fmt.Sprintf("connections held open at once; when full, the longest idle is closed for a new one (0: %d, or the open-file limit less %d when that is lower)", server.DefaultMaxConnections, server.FileHeadroom))
	fl.IntVar(&f.workers, "signing-workers", 0, "tokens signed at once (0: one per core)")
	fl.DurationVar(&f.maxWait, "max-signing-wait", server.DefaultMaxSigningWait, "the longest a token request waits for a signing worker before a 429")
	fl.IntVar(&f.cacheSize, "token-cache", server.DefaultTokenCacheEntries, "tokens of identical requests kept (0: none)")
	fl.IntVar(&f.cacheBytes, "token-cache-bytes", server.DefaultTokenCacheBytes, "memory those tokens may take, in bytes")
	fl.StringVar(&f.upstream, "upstream", "", "be a gateway in front of the API at this base `URL`: tokens signed here, everything else forwarded (README: \"In front of Cloudflare\")")
	fl.DurationVar(&f.authTTL, "upstream-auth-ttl", gateway.DefaultAuthTTL, "how long the upstream's acceptance of a credential for an account holds (a revoked one is refused within it)")
	fl.DurationVar(&f.refusalTTL, "upstream-refusal-ttl", gateway.DefaultRefusalTTL, "how long the upstream's refusal of a credential holds")
	fl.DurationVar(&f.grace, "upstream-grace", gateway.DefaultGrace, "how long an acceptance past its TTL holds more while the upstream cannot be reached")
	fl.DurationVar(&f.rotate, "rotate-after", 0, "with --upstream: replace an account's signing key made by the gateway once it is this old; the old one is deleted at the upstream once its tokens have expired (0: never)")
	fl.StringVar(&f.budget, "upstream-budget", fmt.Sprintf("%d/%v", gateway.DefaultBudget, gateway.DefaultBudgetSpan), "at most `N/SPAN` requests of the gateway's own (keys made, listed, deleted) on one upstream credential, across the replicas on its store (0: no bound)")
	fl.BoolVar(&f.privateHooks, "allow-private-webhooks", false, "the stand-in's webhook notifications may go to loopback and private addresses (tests and demos; Cloudflare's never do)")
	fl.DurationVar(&f.sync, "upstream-sync", gateway.DefaultSyncInterval, "how often the accounts' keys are listed at the upstream, a signing key deleted there replaced (0: never)")
	return cmd
}

// serveEnv is the environment variable of a flag of serve: STREAMTOKEN_
// and its name in capitals, - as _; --api-token's takes a comma-separated
// list, and --key-encryption-key's is ..._FILE, beside
// STREAMTOKEN_KEY_ENCRYPTION_KEY, which holds the key itself.
func serveEnv(flag string) string {
	switch flag {
	case "api-token":
		return envServeAPITokens
	case "account-key":
		return envServeAccountKeys
	case "key-encryption-key":
		return envServeKEK + "_FILE"
	}
	return "STREAMTOKEN_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// fromEnv gives each flag not on the command line its variable's value,
// checked as the flag's would be; the variable is named on error.
func (f *serveFlags) fromEnv(cmd *cobra.Command, getenv func(string) string) error {
	fl := cmd.Flags()
	f.storeFlag = fl.Changed("store") // on the command line, where any user may read it
	var err error
	fl.VisitAll(func(flag *pflag.Flag) {
		if err != nil || flag.Changed || flag.Name == "help" || cmd.InheritedFlags().Lookup(flag.Name) != nil {
			return
		}
		v := getenv(serveEnv(flag.Name))
		if v == "" {
			return
		}
		values := []string{v}
		if flag.Name == "api-token" || flag.Name == "account-key" {
			values = nil
			for _, t := range strings.Split(v, ",") {
				if t = strings.TrimSpace(t); t != "" {
					values = append(values, t)
				}
			}
		}
		for _, v := range values {
			if e := fl.Set(flag.Name, v); e != nil {
				err = badInput("%s (for --%s): %v", serveEnv(flag.Name), flag.Name, e)
				return
			}
		}
	})
	f.perIPGiven = fl.Changed("max-connections-per-ip")
	f.kek = getenv(envServeKEK)
	f.crypto, _ = fl.GetString("crypto") // the root's, the variable applied
	return err
}

func serve(ctx context.Context, e env, f serveFlags) error {
	if f.publicURL != "" {
		if err := standin.CheckPublicURL(f.publicURL); err != nil {
			return badInput("--public-url: %v", err)
		}
	}
	var logger *slog.Logger
	switch f.logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	case "json":
		logger = slog.New(slog.NewJSONHandler(e.stderr, nil))
	default:
		return badInput("--log-format: want text or json, got %q", f.logFormat)
	}
	switch {
	case f.maxPerIP < 0:
		return badInput("--max-connections-per-ip %d: want 0 (no cap) or more", f.maxPerIP)
	case f.maxPerIP == 0 && f.perIPGiven:
		f.maxPerIP = -1 // the server's "none"
	}
	if f.maxConns < 0 {
		return badInput("--max-connections %d: want 0 (from the open-file limit) or more", f.maxConns)
	}
	switch {
	case f.workers < 0 || f.workers > maxWorkersFlag:
		return badInput("--signing-workers %d: want 0 (one per core) to %d", f.workers, maxWorkersFlag)
	case f.maxWait <= 0 || f.maxWait > maxWaitFlag:
		return badInput("--max-signing-wait %v: want more than 0 and at most %v", f.maxWait, maxWaitFlag)
	case f.cacheSize < 0 || f.cacheSize > maxCacheEntries:
		return badInput("--token-cache %d: want 0 (none) to %d", f.cacheSize, maxCacheEntries)
	case f.cacheBytes < minCacheBytesFlag || f.cacheBytes > maxCacheBytesFlag:
		return badInput("--token-cache-bytes %d: want %d to %d", f.cacheBytes, minCacheBytesFlag, maxCacheBytesFlag)
	}
	// Before any key is read or made: every signer serve makes (and the
	// server's, through Config.Crypto) signs with the implementation chosen.
	use, version, err := chooseCrypto(f.crypto)
	if err != nil {
		return err
	}
	procs := tune.Runtime(e.getenv, use)
	if f.workers == 0 {
		f.workers = tune.StartProcs // one per core: GOMAXPROCS may be more
	}
	cfg := server.Config{Logger: logger, MaxConnections: f.maxConns, MaxConnectionsPerIP: f.maxPerIP, SigningWorkers: f.workers, MaxSigningWait: f.maxWait,
		TokenCacheEntries: f.cacheSize, TokenCacheBytes: f.cacheBytes, DisableTokenCache: f.cacheSize == 0, Crypto: use}
	if err := f.checkUpstream(); err != nil {
		return err
	}
	for _, t := range f.apiTokens {
		cfg.Credentials = append(cfg.Credentials, server.Credential{Token: t})
	}
	var upstreamCreds []server.Credential // the gateway's own at the upstream
	if f.credentials != "" {
		file, err := server.LoadCredentialsFile(f.credentials)
		if err != nil {
			return badInput("--credentials: %v", err)
		}
		if len(file.Upstream) > 0 && f.upstream == "" {
			return badInput("--credentials: upstream: the gateway's own credentials at an upstream, for serve --upstream alone")
		}
		cfg.Credentials, upstreamCreds = append(cfg.Credentials, file.Credentials...), file.Upstream
		warnIfLoose(logger, "--credentials", f.credentials)
	}
	if f.upstream != "" && len(cfg.Credentials) > 0 && len(upstreamCreds) == 0 {
		return badInput("--credentials, --api-token: with --upstream, callers present their own credentials, which the upstream decides on; local ones are for a gateway that holds its own upstream credentials (an upstream: section in the --credentials file)")
	}
	var generatedToken string
	if len(cfg.Credentials) == 0 && f.upstream == "" {
		generatedToken = newAPIToken()
		cfg.Credentials = []server.Credential{{Token: generatedToken}}
	}
	if f.keyID != "" && f.signingKey == "" {
		return badInput("--signing-key-id: needs --signing-key")
	}
	if f.shareKey && f.signingKey == "" {
		return badInput("--shared-signing-key: needs --signing-key")
	}
	if f.maxAccounts < 1 || f.maxAccounts > maxAccountsFlag {
		return badInput("--max-accounts %d: want 1 to %d", f.maxAccounts, maxAccountsFlag)
	}
	cfg.ShareSigner, cfg.MaxAccounts = f.shareKey, f.maxAccounts
	if f.signingKey != "" {
		key, err := store.LoadKey(f.signingKey, f.keyID)
		if err != nil {
			return badInput("--signing-key: %v", err)
		}
		warnIfLoose(logger, "--signing-key", f.signingKey)
		if cfg.Signer, err = token.NewSigner(key, token.WithCrypto(use)); err != nil {
			return badInput("--signing-key: %v", err)
		}
	}
	opened, err := openStore(ctx, logger, f.storeFlags, &cfg)
	if err != nil {
		return err
	}
	if err := accountKeys(logger, f.accountKeys, use, &cfg); err != nil {
		opened.store.Close()
		return err
	}
	defer opened.store.Close()
	cfg.Store = opened.store
	if f.upstream == "" {
		// The Cloudflare stand-in serves the videos and live inputs
		// beside token issuance, in the same store.
		media := &standin.Service{Store: opened.store, Logger: logger,
			Deliveries: &standin.Deliveries{AllowPrivate: f.privateHooks}}
		defer media.Close()
		if f.publicURL != "" {
			if media.UploadURL, err = standin.UploadURLs(f.publicURL); err != nil {
				return badInput("--public-url: %v", err)
			}
		}
		cfg.Media = media
		// Every answer says what this server is: a stand-in, whose keys
		// and settings live in it alone.
		cfg.Header = http.Header{server.ModeHeader: {server.ModeStandIn}}
	}
	if opened.where == "memory" {
		tune.Memory(e.getenv, f.memoryBytes)
	}
	tp, stopTracing, err := tracerProvider(ctx, f.otlp, e.getenv, logger)
	if err != nil {
		return badInput("--otlp-endpoint: %v", err)
	}
	defer stopTracing()
	if tp != nil {
		cfg.TracerProvider = tp
	}
	var srv *server.Server // a gateway's is the server inside it, in front of its upstream
	var serveOn func(context.Context, net.Listener) error
	if f.upstream == "" {
		if srv, err = server.New(cfg); err == nil {
			serveOn = srv.Serve
		}
	} else {
		var g *gateway.Gateway
		budget, span, _ := parseBudget(f.budget) // checked above
		if g, err = gateway.New(gateway.Config{Upstream: f.upstream, Server: cfg, UpstreamCredentials: upstreamCreds,
			AuthTTL: f.authTTL, RefusalTTL: f.refusalTTL, Grace: f.grace, SyncInterval: syncInterval(f.sync), RotateAfter: f.rotate,
			Budget: budget, BudgetSpan: span}); err == nil {
			srv, serveOn = g.Server(), g.Serve // the gateway's: its sync beside the server
		}
	}
	var shared *server.SharedSignerError
	if errors.As(err, &shared) {
		return badInput("--signing-key would sign the tokens of accounts %s, which the credentials keep apart: a token minted for one would verify for another's videos; leave it out (each account then gets a key of its own), or pass --shared-signing-key to accept that",
			strings.Join(shared.Accounts, ", "))
	}
	if err != nil {
		return badInput("%v", err)
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return badInput("--addr: %v", err)
	}
	// Logged once the configuration holds and the address is taken: a
	// refusal is its one line alone.
	logger.Info("RSA", "crypto", string(use), "version", version, "gomaxprocs", procs)
	opened.logs()
	if cfg.Signer != nil {
		logger.Info("signing key for every account without its own", "key_id", cfg.Signer.KeyID(), "shared_across_credentials", f.shareKey)
		if slices.ContainsFunc(cfg.Credentials, func(c server.Credential) bool { return c.Accounts == nil }) {
			logger.Warn("--signing-key signs the tokens of every account a credential names none of: a credential that may use any account gets them all signed with this one key, so a token minted for one account verifies for another's videos; scope the credentials to their accounts (--credentials), or leave --signing-key out for a key per account",
				"key_id", cfg.Signer.KeyID())
		}
	} else if f.upstream == "" {
		logger.Info("signing keys: each account's own, generated on its first token unless in --store dir:DIR", "kept_in", opened.where, "max_accounts", f.maxAccounts)
	} else {
		logger.Info("gateway: tokens signed here with each account's key at the upstream (--account-key, or created there on the account's first token); everything else forwarded",
			"upstream", f.upstream, "credentials", map[bool]string{true: "the gateway's own (--credentials upstream:)", false: "the callers' own"}[len(upstreamCreds) > 0],
			"auth_ttl", f.authTTL.String(), "refusal_ttl", f.refusalTTL.String(), "grace", f.grace.String(), "sync", f.sync.String(), "rotate_after", rotation(f.rotate), "budget", f.budget, "kept_in", opened.where)
	}
	base := "http://" + ln.Addr().String() + server.BasePath
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !netaddr.IsLoopback(host) {
		logger.Warn("listening beyond loopback: anyone who can reach this address can try credentials", "addr", ln.Addr().String())
		if f.publicURL == "" {
			logger.Warn("no --public-url: upload URLs are made of each request's Host header and http://, which is wrong behind a proxy that terminates TLS; set --public-url to the URL clients reach this server by", "addr", ln.Addr().String())
		}
	}
	build := buildinfo.Read()
	logger.Info("serving", "url", base, "credentials", len(cfg.Credentials), "max_connections", srv.MaxConnections(), "max_connections_per_ip", srv.MaxConnectionsPerIP(),
		"signing_workers", f.workers, "max_signing_wait", f.maxWait.String(), "token_cache", f.cacheSize,
		"version", build.Version, "revision", build.Revision, "go", build.GoVersion)
	if e.draining != nil {
		e.draining()
	}
	if generatedToken != "" {
		fmt.Fprintf(e.stdout, `streamtoken token server on %[1]s
(a stand-in for Cloudflare's API, for tests, demos and CI: its keys and video settings live here alone)

API token (generated for this run, shown once): %[2]s

Try it:
  curl -sS -X POST -H "Authorization: Bearer %[2]s" %[1]s%[5]s

A signing key of your own, to sign tokens locally ("%[6]s sign VIDEO --key key.json"),
with CLOUDFLARE_API_TOKEN set to the API token above:
  %[6]s keys create --account %[3]s --out key.json --base-url %[1]s

The account's public keys, to verify its tokens ("%[6]s verify TOKEN --account %[3]s --base-url %[1]s"):
  %[4]s
`, base, generatedToken, exampleAccount, strings.TrimSuffix(base, server.BasePath)+gen.GetAccountKeySetPath(exampleAccount), gen.CreateStreamTokenPath(exampleAccount, exampleVideo), e.command())
	}
	if f.upstream != "" {
		fmt.Fprintf(e.stdout, "streamtoken gateway on %s, in front of %s\n(tokens signed here with keys that exist there; everything else forwarded)\n", base, f.upstream)
	}
	if err := serveOn(ctx, ln); err != nil {
		return failure(err)
	}
	logger.Info("stopped")
	return nil
}

// rotation says --rotate-after in the start log.
func rotation(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.String()
}

// syncInterval is --upstream-sync as the gateway takes it: 0, never, is
// its negative.
func syncInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// checkUpstream checks --upstream and the flags that go with it.
func (f *serveFlags) checkUpstream() error {
	if f.upstream == "" {
		if f.authTTL != gateway.DefaultAuthTTL || f.refusalTTL != gateway.DefaultRefusalTTL || f.grace != gateway.DefaultGrace || f.sync != gateway.DefaultSyncInterval || f.rotate != 0 ||
			f.budget != fmt.Sprintf("%d/%v", gateway.DefaultBudget, gateway.DefaultBudgetSpan) {
			return badInput("--upstream-auth-ttl, --upstream-refusal-ttl, --upstream-grace, --upstream-sync, --upstream-budget, --rotate-after: need --upstream")
		}
		return nil
	}
	if f.privateHooks {
		return badInput("--allow-private-webhooks: the stand-in's alone; with --upstream, the webhook is Cloudflare's, and its operations are forwarded")
	}
	u, err := url.Parse(f.upstream)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return badInput("--upstream: want the API's base URL, http or https (https://api.cloudflare.com/client/v4)")
	case u.User != nil:
		return badInput("--upstream: holds a user or password: credentials go in headers, never in the URL")
	case u.RawQuery != "" || u.Fragment != "":
		return badInput("--upstream: takes no query or fragment")
	case f.signingKey != "":
		return badInput("--signing-key: with --upstream, an account's key must exist at the upstream: give it with --account-key ACCOUNT=FILE (keys create --out), or let the gateway create it")
	case f.publicURL != "":
		return badInput("--public-url: with --upstream, direct uploads are the upstream's, and so are their URLs")
	case f.authTTL <= 0 || f.authTTL > 24*time.Hour:
		return badInput("--upstream-auth-ttl %v: want more than 0 and at most 24h", f.authTTL)
	case f.refusalTTL <= 0 || f.refusalTTL > time.Hour:
		return badInput("--upstream-refusal-ttl %v: want more than 0 and at most 1h", f.refusalTTL)
	case f.grace < 0 || f.grace > 7*24*time.Hour:
		return badInput("--upstream-grace %v: want 0 to 168h", f.grace)
	case f.sync != 0 && (f.sync < time.Second || f.sync > 24*time.Hour):
		return badInput("--upstream-sync %v: want 0 (never), or 1s to 24h", f.sync)
	case f.rotate != 0 && (f.rotate < time.Hour || f.rotate > 10*365*24*time.Hour):
		return badInput("--rotate-after %v: want 0 (never), or 1h to 87600h", f.rotate)
	case f.rotate != 0 && f.sync == 0:
		return badInput("--rotate-after: rotation runs in the sync: give --upstream-sync more than 0")
	}
	if _, _, err := parseBudget(f.budget); err != nil {
		return badInput("--upstream-budget %q: %v", f.budget, err)
	}
	return nil
}

// parseBudget reads --upstream-budget, N/SPAN ("1200/5m0s"), or "0" for
// no bound (the gateway's negative).
func parseBudget(v string) (int, time.Duration, error) {
	if v == "0" {
		return -1, 0, nil
	}
	n, span, ok := strings.Cut(v, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 2 || count > 1_000_000 {
		return 0, 0, errors.New("want N/SPAN, N from 2 to 1000000 (1200/5m), or 0 for no bound")
	}
	d, err := time.ParseDuration(span)
	if err != nil || d < time.Second || d > 24*time.Hour {
		return 0, 0, errors.New("want N/SPAN, SPAN from 1s to 24h (1200/5m)")
	}
	return count, d, nil
}

// newAPIToken makes a random API token: 128 bits from crypto/rand.
func newAPIToken() string {
	return rand.Text()
}

// accountKeys adds the signers of --account-key ACCOUNT=FILE to cfg's,
// refusing an account given twice, or already keyed in the store's
// directory. Every entry is checked before any file is read.
func accountKeys(logger *slog.Logger, given []string, use token.Crypto, cfg *server.Config) error {
	if len(given) > maxAccountKeys {
		return badInput("--account-key: %d given, at most %d", len(given), maxAccountKeys)
	}
	files := make(map[string]string, len(given))
	var accounts []string
	for _, g := range given {
		account, file, ok := strings.Cut(g, "=")
		switch {
		case !ok || file == "":
			return badInput("--account-key %q: want ACCOUNT=FILE", g)
		case ids.Check(account) != "":
			return badInput("--account-key: account %q: %s", account, ids.Check(account))
		case files[account] != "" || cfg.AccountSigners[account] != nil:
			return badInput("--account-key: account %s has a key already (another --account-key, or its key file in --store dir:)", account)
		}
		files[account] = file
		accounts = append(accounts, account)
	}
	for _, account := range accounts {
		key, err := store.LoadKey(files[account], "")
		if err != nil {
			return badInput("--account-key %s: %v", account, err)
		}
		warnIfLoose(logger, "--account-key", files[account])
		signer, err := token.NewSigner(key, token.WithCrypto(use))
		if err != nil {
			return badInput("--account-key %s: %v", account, err)
		}
		if cfg.AccountSigners == nil {
			cfg.AccountSigners = map[string]*token.Signer{}
		}
		cfg.AccountSigners[account] = signer
	}
	return nil
}
