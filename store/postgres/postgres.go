// Package postgres is a [store.Store] in PostgreSQL, which replicas of a
// token server share: every replica signs an account's tokens with the
// same key, publishes the same JWK sets, and reads the same video
// settings.
//
// [Open] applies the embedded schema migrations under an advisory lock (a
// replica starting meanwhile waits for them), and checks the
// key-encryption key against the database. Caps hold across replicas:
// each is counted and kept in one transaction, under a lock of the
// account's. The accounts' private signing keys are sealed with
// AES-256-GCM under the key-encryption key; keys created through the keys
// API are kept as their public halves alone.
//
// Each replica keeps the key sets it read in memory and listens
// (LISTEN/NOTIFY) for changes made by the others, so that a key created or
// deleted on one shows on all within a second, while a flood of JWK-set
// fetches costs the database nothing. While the database cannot be
// reached, operations that need it fail with an error matching
// [store.ErrUnavailable] (the server answers 503), the key sets read
// before are served as they were, and the store reconnects by itself.
package postgres

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Store is a [store.Store] in PostgreSQL. Build it with [Open].
type Store struct {
	pool       *pgxpool.Pool
	aead       cipher.AEAD
	timeout    time.Duration
	log        *slog.Logger
	accountMax int64 // each account's media, bytes; 0: no bound

	stop      context.CancelFunc
	listening sync.WaitGroup
	closeOnce sync.Once

	mu     sync.Mutex
	synced bool   // the listener hears every change: what is cached holds
	epoch  uint64 // counts invalidations: a read begun before one is not cached
	keys   map[string]cachedKeys
	signed map[string]*token.Key // accounts' signing keys: never change
	none   map[string]bool       // accounts known to have no signing key
	// known are the accounts with a key of any kind, while synced (nil
	// otherwise, or when there are more than maxKnown): an account not
	// among them has none, and asking for its JWK set, which anyone may
	// do for any ID, costs the database nothing.
	known map[string]bool
}

// cachedKeys is an account's created keys as last read; valid while the
// listener has heard of no change since.
type cachedKeys struct {
	keys  []store.Key
	valid bool
}

// maxCached bounds the accounts whose keys a Store keeps in memory:
// anyone may ask for any account's JWK set.
const maxCached = 4096

// maxKnown bounds the accounts a Store lists as having keys; past it, each
// account is asked of the database.
const maxKnown = 1_000_000

var _ store.Store = (*Store)(nil)

// String describes s without what it holds: the key-encryption key (in its
// cipher) and the accounts' keys stay out of every print and log.
func (s *Store) String() string { return "postgres.Store" }

// GoString is String.
func (s *Store) GoString() string { return s.String() }

// LogValue logs s as its String.
func (s *Store) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Open connects, applies the migrations the database lacks (waiting for
// another replica's), checks the key-encryption key (a wrong one is an
// error matching [ErrKeyEncryptionKey], never a silent new key), and
// starts listening for the other replicas' changes.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if len(cfg.KeyEncryptionKey) != KeyEncryptionKeySize {
		return nil, fmt.Errorf("postgres: %w: want %d bytes, got %d", ErrKeyEncryptionKey, KeyEncryptionKeySize, len(cfg.KeyEncryptionKey))
	}
	if cfg.MaxConns < 0 || cfg.Timeout < 0 {
		return nil, errors.New("postgres: MaxConns and Timeout must not be negative")
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	pc, err := pgxpool.ParseConfig(cfg.ConnString)
	if err != nil {
		// pgx's message quotes the string, whose password it masks on a
		// best-effort basis: none of it is repeated here.
		return nil, errors.New("postgres: the connection string does not parse: want a libpq URL (postgres://user@host/db) or key=value string (host=... dbname=...)")
	}
	pc.MaxConns = cfg.MaxConns
	pc.MinConns = 0
	pc.ConnConfig.ConnectTimeout = cfg.Timeout
	pc.HealthCheckPeriod = 5 * time.Second
	block, err := aes.NewCipher(cfg.KeyEncryptionKey)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{aead: aead, timeout: cfg.Timeout, log: cfg.Logger, accountMax: cfg.AccountMediaBytes,
		keys: map[string]cachedKeys{}, signed: map[string]*token.Key{}, none: map[string]bool{}}
	switch {
	case s.accountMax == 0:
		s.accountMax = store.DefaultAccountMediaBytes
	case s.accountMax < 0:
		s.accountMax = 0 // none
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, fmt.Errorf("postgres: %w", unavailable(err))
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	lctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.listening.Go(func() { s.listen(lctx, pc.ConnConfig.Copy()) })
	return s, nil
}

// Close stops the listener and closes the connections; calling it twice
// is safe.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.listening.Wait()
		s.pool.Close()
	})
	return nil
}
