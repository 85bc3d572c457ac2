package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken/internal/files"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
)

// The environment variables serve reads when the flag is not given.
const (
	envServeAddr       = "STREAMTOKEN_ADDR"
	envServeAPITokens  = "STREAMTOKEN_API_TOKENS" // comma-separated
	envServeCreds      = "STREAMTOKEN_CREDENTIALS"
	envServeSigningKey = "STREAMTOKEN_SIGNING_KEY"
	envServeKeyID      = "STREAMTOKEN_SIGNING_KEY_ID"
	envServeKeysDir    = "STREAMTOKEN_KEYS_DIR"
	envServeCrypto     = "STREAMTOKEN_CRYPTO"
)

// exampleAccount and exampleVideo are the API reference's example IDs.
const (
	exampleAccount = "023e105f4ecef8ad9ca31a8372d0c353"
	exampleVideo   = "ea95132c15732412d22c1476fa83f27a"
)

type serveFlags struct {
	addr        string
	apiTokens   []string
	credentials string
	signingKey  string
	keyID       string
	keysDir     string
	shareKey    bool
	maxAccounts int
	crypto      string
	logFormat   string
	maxConns    int
	workers     int
	maxWait     time.Duration
	cacheSize   int
	cacheBytes  int
}

// Bounds of the load flags: far past any use, short of a typo's harm.
const (
	maxWorkersFlag    = 1024
	maxWaitFlag       = time.Minute
	maxCacheEntries   = 10_000_000
	maxCacheBytesFlag = 16 << 30
	minCacheBytesFlag = 64 << 10
	maxAccountsFlag   = 10_000_000
)

func newServeCmd(e env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Cloudflare-compatible token server",
		Long: `Serve POST /client/v4/accounts/{account_id}/stream/{identifier}/token and
the signing-keys API (GET, POST /client/v4/accounts/{account_id}/stream/keys,
DELETE .../keys/{identifier}) on the same wire as the Cloudflare API,
signing tokens with your own keys. Also serves GET /healthz, /metrics
(Prometheus), /.well-known/jwks/{account_id}.json (the public keys it
vouches for in that account: the key that signs the account's tokens and
those created through its keys API, until deleted; public, with a
Cache-Control max-age of 60 s), /openapi.json and /openapi.yaml.
/.well-known/jwks.json is that set when the credentials name one account
alone, else a 404 naming the per-account path.

Each account's tokens are signed by a key of its own, as on Cloudflare: its
key in --keys-dir, else one generated on the account's first token (at
most --max-accounts of them), kept in memory or, with --keys-dir, in DIR.
A token minted for one account then verifies against no other account's
set. --signing-key instead signs for every account without a key of its
own: for a deployment of one account. With credentials scoped to two or
more accounts that would share it, serve refuses to start unless
--shared-signing-key says to accept that a token of one of them verifies
for the others' videos.

With no credentials, an API token is generated and printed once. Binds to
loopback unless --addr says otherwise. SIGINT or SIGTERM shut it down,
letting requests in flight finish.

RSA signing and key generation go through OpenSSL's libcrypto 3 where it
loads (--crypto auto, the default: libcrypto.so.3, in a build with cgo),
about four times the tokens per core of Go's crypto/rsa, which is used
otherwise; the start log names which, and its version. --crypto openssl
refuses to start without libcrypto; --crypto go never loads it. Tokens are
the same bytes either way.

Each flag may come from the environment instead: STREAMTOKEN_ADDR,
STREAMTOKEN_API_TOKENS (comma-separated), STREAMTOKEN_CREDENTIALS,
STREAMTOKEN_SIGNING_KEY, STREAMTOKEN_SIGNING_KEY_ID, STREAMTOKEN_KEYS_DIR,
STREAMTOKEN_CRYPTO. A flag wins over its variable.

The credentials file (YAML or JSON):

  credentials:
    - token: "..."                                   # a bearer API token
      accounts: ["023e105f4ecef8ad9ca31a8372d0c353"] # leave out for every account
    - email: user@example.com                        # or an email with a global API key
      key: "..."

The keys directory (--keys-dir DIR) holds three things:

  DIR/<account_id>.pem (or .jwk, .json)   the account's signing key, which
      the token endpoint signs its tokens with: the operator's, or the one
      generated on the account's first token (written as <account_id>.json,
      mode 0600, never over a file there, so that servers sharing DIR sign
      with the first one written). A .json file may be a key as the API
      hands it out ("keys create --out"): it keeps its kid.
  DIR/created/<account_id>/<key_id>.json  the keys created through the keys
      API, one file each, mode 0600, written whole or not at all, read
      again on every request: a restart loses none, and servers sharing
      DIR see each other's keys and deletions. Keys in Cloudflare's form
      may be dropped there too (any name ending in .json).
  DIR/videos/<account_id>/<video_id>.json and
  DIR/live_inputs/<account_id>/<input_id>.json   the details of the videos
      and live inputs changed through the API (requireSignedURLs,
      allowedOrigins, ...), one file each, mode 0600, replaced whole.

Without --keys-dir, generated and created keys and changed details live in
memory and go with the process. A file or directory in DIR that could
never be used (a name that is no account ID, an extension in capitals, a
file that is no key, a key ID of two keys) stops the start rather than be
silently skipped. The accounts with a key of their own are logged at
start.

Key and credentials files must be regular files of at most 1 MiB; one that
group or others may read is warned about. --api-token on the command line
is visible to every user of the machine (ps): prefer the environment or
--credentials. Connections are capped (--max-connections); idle ones are
closed to make room for new ones.

Under load, tokens are signed --signing-workers at a time (by default one
per core with Go's RSA, two with OpenSSL's, whose signatures run in C, and
then the Go scheduler gets two threads per core, GOMAXPROCS unless the
environment sets it, so that request handling never waits for a core that a
C call holds):
the other requests wait in arrival order, and one that would wait longer
than --max-signing-wait is answered at once with a 429 and a Retry-After
header, which the Cloudflare SDKs and streamtoken's client honour. Tokens
of identical requests (same account, key and claims: with the default exp
and nbf, the same second) are signed once and served from a cache of
--token-cache entries and --token-cache-bytes; --token-cache 0 turns it
off. /metrics shows the queue and the cache.`,
		Example: `  streamtoken serve
  streamtoken serve --addr 127.0.0.1:8787 --credentials creds.yaml --signing-key key.pem --signing-key-id 5213cfa121f70b8c1380686ffc371ba3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.fromEnv(cmd, e.getenv)
			return serve(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8787", "address to listen on")
	fl.StringArrayVar(&f.apiTokens, "api-token", nil, "an API token to accept, for every account (repeatable); visible to other users in ps: prefer STREAMTOKEN_API_TOKENS or --credentials")
	fl.StringVar(&f.credentials, "credentials", "", "a credentials `FILE` (YAML or JSON)")
	fl.StringVar(&f.signingKey, "signing-key", "", "a signing key `FILE` for every account without its own (PEM, JWK, the API's base64 forms, or a key as \"keys create --out\" saves it); default: a key generated per account")
	fl.BoolVar(&f.shareKey, "shared-signing-key", false, "let --signing-key sign for accounts the credentials keep apart: a token minted for one of them then verifies for the others' videos")
	fl.IntVar(&f.maxAccounts, "max-accounts", server.DefaultMaxAccounts, "accounts a signing key is generated for, at most")
	fl.StringVar(&f.keyID, "signing-key-id", "", "the signing key's `ID` (default: the file's kid or id, or one derived from the key)")
	fl.StringVar(&f.keysDir, "keys-dir", "", "a `DIR` of per-account signing keys (<account_id>.pem, .jwk or .json), the keys created through the keys API (created/) and the details of videos and live inputs (videos/, live_inputs/)")
	fl.StringVar(&f.crypto, "crypto", string(token.CryptoAuto), "RSA implementation: auto (OpenSSL's libcrypto where it loads, else Go's), openssl or go")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	fl.IntVar(&f.maxConns, "max-connections", server.DefaultMaxConnections, "connections held open at once; when full, the longest idle is closed for a new one")
	fl.IntVar(&f.workers, "signing-workers", 0, "tokens signed at once (0: one per core with Go's RSA, two with OpenSSL's)")
	fl.DurationVar(&f.maxWait, "max-signing-wait", server.DefaultMaxSigningWait, "the longest a token request waits for a signing worker before a 429")
	fl.IntVar(&f.cacheSize, "token-cache", server.DefaultTokenCacheEntries, "tokens of identical requests kept (0: none)")
	fl.IntVar(&f.cacheBytes, "token-cache-bytes", server.DefaultTokenCacheBytes, "memory those tokens may take, in bytes")
	return cmd
}

func (f *serveFlags) fromEnv(cmd *cobra.Command, getenv func(string) string) {
	set := func(flag string, dst *string, name string) {
		if !cmd.Flags().Changed(flag) {
			if v := getenv(name); v != "" {
				*dst = v
			}
		}
	}
	set("addr", &f.addr, envServeAddr)
	set("credentials", &f.credentials, envServeCreds)
	set("signing-key", &f.signingKey, envServeSigningKey)
	set("signing-key-id", &f.keyID, envServeKeyID)
	set("keys-dir", &f.keysDir, envServeKeysDir)
	set("crypto", &f.crypto, envServeCrypto)
	if !cmd.Flags().Changed("api-token") {
		for _, t := range strings.Split(getenv(envServeAPITokens), ",") {
			if t = strings.TrimSpace(t); t != "" {
				f.apiTokens = append(f.apiTokens, t)
			}
		}
	}
}

func serve(ctx context.Context, e env, f serveFlags) error {
	var logger *slog.Logger
	switch f.logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	case "json":
		logger = slog.New(slog.NewJSONHandler(e.stderr, nil))
	default:
		return badInput("--log-format: want text or json, got %q", f.logFormat)
	}
	if f.maxConns < 1 {
		return badInput("--max-connections %d: want at least 1", f.maxConns)
	}
	switch {
	case f.workers < 0 || f.workers > maxWorkersFlag:
		return badInput("--signing-workers %d: want 0 (one or two per core) to %d", f.workers, maxWorkersFlag)
	case f.maxWait <= 0 || f.maxWait > maxWaitFlag:
		return badInput("--max-signing-wait %v: want more than 0 and at most %v", f.maxWait, maxWaitFlag)
	case f.cacheSize < 0 || f.cacheSize > maxCacheEntries:
		return badInput("--token-cache %d: want 0 (none) to %d", f.cacheSize, maxCacheEntries)
	case f.cacheBytes < minCacheBytesFlag || f.cacheBytes > maxCacheBytesFlag:
		return badInput("--token-cache-bytes %d: want %d to %d", f.cacheBytes, minCacheBytesFlag, maxCacheBytesFlag)
	}
	// Before any key is read or made: keys are handed to the implementation
	// in use when their signers are made.
	switch token.Crypto(f.crypto) {
	case token.CryptoAuto, token.CryptoOpenSSL, token.CryptoGo:
	default:
		return badInput("--crypto %q: want auto, openssl or go", f.crypto)
	}
	use, version, err := token.UseCrypto(token.Crypto(f.crypto))
	if err != nil {
		return badInput("--crypto openssl: %v; --crypto auto or go signs with Go's crypto/rsa", err)
	}
	procs := server.TuneRuntime(e.getenv, use)
	if f.workers == 0 {
		f.workers = procs
	}
	cfg := server.Config{Logger: logger, MaxConnections: f.maxConns, SigningWorkers: f.workers, MaxSigningWait: f.maxWait,
		TokenCacheEntries: f.cacheSize, TokenCacheBytes: f.cacheBytes, DisableTokenCache: f.cacheSize == 0}
	for _, t := range f.apiTokens {
		cfg.Credentials = append(cfg.Credentials, server.Credential{Token: t})
	}
	if f.credentials != "" {
		creds, err := server.LoadCredentials(f.credentials)
		if err != nil {
			return badInput("--credentials: %v", err)
		}
		cfg.Credentials = append(cfg.Credentials, creds...)
		warnIfLoose(logger, "--credentials", f.credentials)
	}
	var generatedToken string
	if len(cfg.Credentials) == 0 {
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
		key, err := server.LoadKey(f.signingKey, f.keyID)
		if err != nil {
			return badInput("--signing-key: %v", err)
		}
		warnIfLoose(logger, "--signing-key", f.signingKey)
		if cfg.Signer, err = token.NewSigner(key); err != nil {
			return badInput("--signing-key: %v", err)
		}
	}
	keysAt, dirLogs := "memory", func() {}
	if f.keysDir != "" {
		if err := os.MkdirAll(f.keysDir, 0o700); err != nil {
			return badInput("--keys-dir: %v", err)
		}
		keys, err := server.LoadKeysDir(f.keysDir)
		if err != nil {
			return badInput("--keys-dir: %v", err)
		}
		cfg.AccountSigners = make(map[string]*token.Signer, len(keys))
		for account, k := range keys {
			if cfg.AccountSigners[account], err = token.NewSigner(k); err != nil {
				return badInput("--keys-dir: account %s: %v", account, err)
			}
		}
		entries, _ := os.ReadDir(f.keysDir) // read once already: no error to expect
		for _, e := range entries {
			if keys[strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))] != nil {
				warnIfLoose(logger, "--keys-dir", filepath.Join(f.keysDir, e.Name()))
			}
		}
		if cfg.AccountKeys, err = server.NewDirAccountKeyStore(f.keysDir); err != nil {
			return badInput("--keys-dir: %v", err)
		}
		store, err := server.NewDirKeyStore(filepath.Join(f.keysDir, "created"))
		if err != nil {
			return badInput("--keys-dir: %v", err)
		}
		cfg.KeyStore = store
		if cfg.MediaStore, err = server.NewDirMediaStore(f.keysDir); err != nil {
			return badInput("--keys-dir: %v", err)
		}
		created, _ := store.All(ctx)
		dirLogs = func() {
			logger.Info("keys created through the keys API", "dir", store.Dir(), "keys", len(created))
			logger.Info("per-account signing keys", "dir", f.keysDir, "accounts", slices.Sorted(maps.Keys(keys)))
		}
		keysAt = f.keysDir
	}
	srv, err := server.New(cfg)
	var shared *server.SharedSignerError
	if errors.As(err, &shared) {
		return badInput("--signing-key would sign the tokens of accounts %s, which the credentials keep apart: a token minted for one would verify for another's videos; leave it out (each account then gets a key of its own), or pass --shared-signing-key to accept that",
			strings.Join(shared.Accounts, ", "))
	}
	if err != nil {
		return badInput("%v", err)
	}
	// Logged once the configuration holds: a refusal is its one line alone.
	logger.Info("RSA", "crypto", string(use), "version", version, "gomaxprocs", procs)
	dirLogs()
	if cfg.Signer != nil {
		logger.Info("signing key for every account without its own", "key_id", cfg.Signer.KeyID(), "shared_across_credentials", f.shareKey)
	} else {
		logger.Info("signing keys: each account's own, generated on its first token unless in --keys-dir", "kept_in", keysAt, "max_accounts", f.maxAccounts)
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return badInput("--addr: %v", err)
	}
	base := "http://" + ln.Addr().String() + server.BasePath
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !isLoopback(host) {
		logger.Warn("listening beyond loopback: anyone who can reach this address can try credentials", "addr", ln.Addr().String())
	}
	logger.Info("serving", "url", base, "credentials", len(cfg.Credentials), "max_connections", f.maxConns,
		"signing_workers", f.workers, "max_signing_wait", f.maxWait.String(), "token_cache", f.cacheSize)
	if e.draining != nil {
		e.draining()
	}
	if generatedToken != "" {
		fmt.Fprintf(e.stdout, `streamtoken token server on %[1]s

API token (generated for this run, shown once): %[2]s

Try it:
  curl -sS -X POST -H "Authorization: Bearer %[2]s" %[1]s/accounts/%[3]s/stream/%[4]s/token

A signing key of your own, to sign tokens locally ("streamtoken sign --key key.json"),
with CLOUDFLARE_API_TOKEN set to the API token above:
  streamtoken keys create --account %[3]s --out key.json --base-url %[1]s

The account's public keys, to verify its tokens ("streamtoken verify TOKEN --account %[3]s --base-url %[1]s"):
  %[5]s%[6]s%[3]s.json
`, base, generatedToken, exampleAccount, exampleVideo, strings.TrimSuffix(base, server.BasePath), server.KeySetPathPrefix)
	}
	if err := srv.Serve(ctx, ln); err != nil {
		return failure(err)
	}
	logger.Info("stopped")
	return nil
}

// warnIfLoose warns about a secret file that group or others may read.
func warnIfLoose(logger *slog.Logger, flag, path string) {
	if files.LooseMode(path) {
		logger.Warn("a secret file is readable by group or others: chmod 600 it", "flag", flag, "file", path)
	}
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newAPIToken makes a random API token: 128 bits from crypto/rand.
func newAPIToken() string {
	return rand.Text()
}
