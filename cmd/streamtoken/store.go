package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/streamtoken/streamtoken/internal/files"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/store/postgres"
	"github.com/streamtoken/streamtoken/token"
)

// The environment variables of serve's store.
const (
	envServeStore = "STREAMTOKEN_STORE"
	// envServeKEK holds the key-encryption key itself, in base64.
	envServeKEK = "STREAMTOKEN_KEY_ENCRYPTION_KEY"
)

// Bounds of the store flags.
const (
	maxStoreConns      = 1000
	minStoreTimeout    = 100 * time.Millisecond
	maxStoreTimeout    = time.Minute
	minMemoryBytes     = 1 << 20
	maxMemoryBytesFlag = 64 << 30
	// openStoreTimeout bounds serve's wait for its database at start
	// (another replica's migrations included).
	openStoreTimeout = time.Minute
)

// storeFlags are serve's flags of its store.
type storeFlags struct {
	store        string // memory, dir:PATH, postgres://... or postgres:key=value...
	storeFlag    bool   // store came from the command line, which any user of the machine may read
	keysDir      string // = dir:DIR
	kekFile      string
	kek          string // from the environment: the key in base64
	poolConns    int
	opTimeout    time.Duration
	memoryBytes  int64
	accountBytes int64 // 0: each store's default; negative: no bound
}

// openedStore is the store serve runs on, and what to log of it once the
// configuration holds.
type openedStore struct {
	store store.Store
	where string // for the log: memory, the directory, postgres
	logs  func()
}

// postgresPrefix tells a PostgreSQL store; "postgres:" before a
// key=value string, else a libpq URL.
func isPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://") || strings.HasPrefix(spec, "postgres:")
}

// openStore opens the store the flags name, and, with a directory, the
// operator's per-account keys in it (cfg.AccountSigners).
func openStore(ctx context.Context, logger *slog.Logger, f storeFlags, cfg *server.Config) (*openedStore, error) {
	spec, dirFlag := f.store, "--store dir:"
	if f.keysDir != "" {
		dirFlag = "--keys-dir"
		if spec != "" && spec != "memory" && spec != "dir:"+f.keysDir {
			return nil, badInput("--keys-dir and --store: give one (--keys-dir DIR is --store dir:DIR)")
		}
		spec = "dir:" + f.keysDir
	}
	switch {
	case f.poolConns < 1 || f.poolConns > maxStoreConns:
		return nil, badInput("--store-max-conns %d: want 1 to %d", f.poolConns, maxStoreConns)
	case f.opTimeout < minStoreTimeout || f.opTimeout > maxStoreTimeout:
		return nil, badInput("--store-timeout %v: want %v to %v", f.opTimeout, minStoreTimeout, maxStoreTimeout)
	case f.memoryBytes < minMemoryBytes || f.memoryBytes > maxMemoryBytesFlag:
		return nil, badInput("--store-memory-bytes %d: want %d to %d", f.memoryBytes, int64(minMemoryBytes), int64(maxMemoryBytesFlag))
	case f.accountBytes < -1 || (f.accountBytes > 0 && f.accountBytes < store.MaxDetailsBytes):
		return nil, badInput("--store-account-bytes %d: want -1 (no bound), 0 (the default) or at least %d (one medium's most)", f.accountBytes, store.MaxDetailsBytes)
	}
	if f.kekFile != "" && !isPostgres(spec) {
		return nil, badInput("--key-encryption-key: only a PostgreSQL --store seals keys with it")
	}
	switch {
	case spec == "" || spec == "memory":
		return &openedStore{store: store.NewMemory(f.memoryBytes, store.WithAccountMediaBytes(f.accountBytes)), where: "memory", logs: func() {}}, nil
	case strings.HasPrefix(spec, "dir:"):
		return openDirStore(ctx, logger, dirFlag, strings.TrimPrefix(spec, "dir:"), f.accountBytes, cfg)
	case isPostgres(spec):
		return openPostgres(ctx, logger, spec, f)
	}
	return nil, badInput("--store %q: want memory, dir:PATH, or postgres://... (a libpq URL, or postgres: and a key=value string)", redactStore(spec))
}

// redactStore is a --store value of no known kind fit for an error: one
// that may hold a password (a connection string of some other database) is
// not repeated.
func redactStore(spec string) string {
	if strings.Contains(spec, "password") || strings.Contains(spec, "@") {
		return "[redacted]"
	}
	return spec
}

// openDirStore opens a directory store and reads the operator's keys in
// it; flag, the flag that named it, heads its errors.
func openDirStore(ctx context.Context, logger *slog.Logger, flag, dir string, accountBytes int64, cfg *server.Config) (*openedStore, error) {
	if dir == "" {
		return nil, badInput("%s: want a directory", flag)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, badInput("%s: %v", flag, err)
	}
	keys, err := store.LoadKeysDir(dir)
	if err != nil {
		return nil, badInput("%s: %v", flag, err)
	}
	cfg.AccountSigners = make(map[string]*token.Signer, len(keys))
	for account, k := range keys {
		if cfg.AccountSigners[account], err = token.NewSigner(k, token.WithCrypto(cfg.Crypto)); err != nil {
			return nil, badInput("%s: account %s: %v", flag, account, err)
		}
	}
	entries, _ := os.ReadDir(dir) // read once already: no error to expect
	for _, e := range entries {
		if keys[strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))] != nil {
			warnIfLoose(logger, "--keys-dir", filepath.Join(dir, e.Name()))
		}
	}
	d, err := store.OpenDir(dir, store.DirOptions{Logger: logger, AccountMediaBytes: accountBytes})
	if err != nil {
		return nil, badInput("%s: %v", flag, err)
	}
	created, _ := d.AllKeys(ctx)
	return &openedStore{store: d, where: dir, logs: func() {
		logger.Info("keys created through the keys API", "dir", filepath.Join(dir, "created"), "keys", len(created))
		logger.Info("per-account signing keys", "dir", dir, "accounts", slices.Sorted(maps.Keys(keys)))
	}}, nil
}

// holdsPassword reports whether a libpq URL or key=value string gives a
// password.
func holdsPassword(spec string) bool {
	if u, err := url.Parse(spec); err == nil && u.Scheme != "" {
		_, ok := u.User.Password()
		return ok || u.Query().Has("password")
	}
	return passwordKey.MatchString(spec)
}

// passwordKey finds a password in a key=value connection string.
var passwordKey = regexp.MustCompile(`(^|\s)password\s*=`)

// openPostgres opens a PostgreSQL store, with its key-encryption key.
func openPostgres(ctx context.Context, logger *slog.Logger, spec string, f storeFlags) (*openedStore, error) {
	if rest, ok := strings.CutPrefix(spec, "postgres:"); ok && !strings.HasPrefix(rest, "//") {
		spec = rest // a key=value string
	}
	var raw []byte
	switch {
	case f.kekFile != "":
		var err error
		if raw, err = files.Read(f.kekFile); err != nil {
			return nil, badInput("--key-encryption-key: %v", err)
		}
		warnIfLoose(logger, "--key-encryption-key", f.kekFile)
	case f.kek != "":
		raw = []byte(f.kek)
	default:
		return nil, badInput("--store postgres: needs --key-encryption-key FILE (or %s), which seals the accounts' signing keys: 32 random bytes in base64, as 'openssl rand -base64 32' writes them", envServeKEK)
	}
	kek, err := postgres.ParseKeyEncryptionKey(raw)
	if err != nil {
		return nil, badInput("--key-encryption-key: %v", err)
	}

	ctx, cancel := context.WithTimeout(ctx, openStoreTimeout)
	defer cancel()
	pg, err := postgres.Open(ctx, postgres.Config{ConnString: spec, KeyEncryptionKey: kek,
		MaxConns: int32(f.poolConns), Timeout: f.opTimeout, Logger: logger, AccountMediaBytes: f.accountBytes})
	if err != nil {
		return nil, badInput("--store: %v", err)
	}
	return &openedStore{store: pg, where: "postgres", logs: func() {
		logger.Info("state in PostgreSQL, shared with every replica on the database", "max_conns", f.poolConns, "timeout", f.opTimeout.String())
		if f.storeFlag && holdsPassword(spec) {
			logger.Warn("--store holds a password, which any user of this machine can read in the process list: give the URL in "+envServeStore+", or the password in PGPASSWORD or ~/.pgpass", "flag", "--store")
		}
	}}, nil
}

// describeStore is the store flags' help.
func describeStore() string {
	return fmt.Sprintf("memory (default: state goes with the process), dir:PATH (kept in a directory), or postgres://... (shared by replicas; a libpq URL, or postgres: and a key=value string; from %s too)", envServeStore)
}
