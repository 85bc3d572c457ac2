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
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Defaults of a [Config].
const (
	DefaultMaxConns = 10
	DefaultTimeout  = 5 * time.Second
)

// KeyEncryptionKeySize is the size of the key-encryption key: AES-256.
const KeyEncryptionKeySize = 32

// Config configures a [Store]. It holds secrets (the connection string
// may hold a password; the key-encryption key), and prints itself without
// them.
type Config struct {
	// ConnString is a libpq URL (postgres://...) or key=value string.
	ConnString string
	// KeyEncryptionKey seals the accounts' signing keys: 32 bytes
	// ([ParseKeyEncryptionKey] reads them as `openssl rand -base64 32`
	// writes them). Required.
	KeyEncryptionKey []byte
	// MaxConns bounds the connections the store holds open (the listener
	// aside). Zero: DefaultMaxConns.
	MaxConns int32
	// Timeout bounds each operation, a connection's set-up included.
	// Zero: DefaultTimeout.
	Timeout time.Duration
	// Logger gets the listener's losses and recoveries. Nil: nothing is
	// logged.
	Logger *slog.Logger
	// AccountMediaBytes is the most bytes of media details each account
	// keeps (zero: store.DefaultAccountMediaBytes; negative: no bound).
	AccountMediaBytes int64
}

// String describes c without its secrets.
func (c Config) String() string {
	return fmt.Sprintf("postgres.Config{ConnString: [redacted], KeyEncryptionKey: [redacted], MaxConns: %d, Timeout: %v}", c.MaxConns, c.Timeout)
}

// GoString is String.
func (c Config) GoString() string { return c.String() }

// LogValue logs c without its secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("max_conns", int(c.MaxConns)), slog.Duration("timeout", c.Timeout))
}

// MarshalJSON encodes c without its secrets.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"max_conns": c.MaxConns, "timeout": c.Timeout.String()})
}

// Errors of [Open].
var (
	// ErrKeyEncryptionKey: the key-encryption key is not 32 bytes, or not
	// the one the database's keys were sealed with.
	ErrKeyEncryptionKey = errors.New("key-encryption key")
)

// ParseKeyEncryptionKey reads a key-encryption key: 32 bytes in standard
// base64, as `openssl rand -base64 32` writes them (surrounding space
// ignored). Errors never hold the key.
func ParseKeyEncryptionKey(data []byte) ([]byte, error) {
	s := strings.TrimSpace(string(data))
	if len(s) > 64 {
		return nil, fmt.Errorf("%w: %d characters, want 44 (32 bytes in base64: openssl rand -base64 32)", ErrKeyEncryptionKey, len(s))
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64 (openssl rand -base64 32 writes one)", ErrKeyEncryptionKey)
	}
	if len(key) != KeyEncryptionKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d (openssl rand -base64 32)", ErrKeyEncryptionKey, len(key), KeyEncryptionKeySize)
	}
	return key, nil
}

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

// own are the errors a transaction returns of its own accord, which say
// nothing of the database.
var own = []error{store.ErrUnavailable, store.ErrKeyExists, store.ErrKeyLimit, store.ErrNoSuchKey,
	store.ErrAccountLimit, store.ErrMediaLimit, context.Canceled}

// unavailable marks an error that says the database cannot be reached now
// (a connection refused, lost or timed out; the server shutting down or
// out of connections) as store.ErrUnavailable. The store's own errors, a
// caller's edit's, and the database's about the request itself stay as
// they are.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range own {
		if errors.Is(err, e) {
			return err
		}
	}
	var ee editError
	if errors.As(err, &ee) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "53", "57": // connection exception, insufficient resources, operator intervention
		default:
			return err
		}
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// op bounds an operation by the store's timeout.
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// inTx runs f in a transaction bounded by the store's timeout, committed
// when f returns nil.
func (s *Store) inTx(ctx context.Context, f func(context.Context, pgx.Tx) error) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after a commit, a no-op
	if err := f(ctx, tx); err != nil {
		return unavailable(err)
	}
	return unavailable(tx.Commit(ctx))
}

// lock takes a transaction's advisory lock on name: concurrent
// transactions on any replica wait for each other.
func lock(ctx context.Context, tx pgx.Tx, name string) error {
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "streamtoken/"+name)
	return err
}

// channel is what the replicas listen on.
const channel = "streamtoken"

// Kinds of change, the first byte of a notification's payload, then the
// account's ID.
const (
	changedKeys       = 'k'
	changedAccountKey = 'a'
)

func notify(ctx context.Context, tx pgx.Tx, kind byte, accountID string) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(kind)+accountID)
	return err
}

// AddKey implements [store.Keys]: counted and kept in one transaction,
// under the account's lock, so that replicas never pass max between them.
func (s *Store) AddKey(ctx context.Context, k store.Key, max int) error {
	if err := store.CheckKey(k); err != nil {
		return err
	}
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := lock(ctx, tx, "keys/"+k.AccountID); err != nil {
			return err
		}
		var taken bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM streamtoken_keys WHERE key_id = $1)", k.Key.ID).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return store.ErrKeyExists
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM streamtoken_keys WHERE account_id = $1", k.AccountID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return store.ErrKeyLimit
		}
		_, err := tx.Exec(ctx, "INSERT INTO streamtoken_keys (key_id, account_id, public_jwk, created) VALUES ($1, $2, $3, $4)",
			k.Key.ID, k.AccountID, string(k.Key.PublicJWK()), k.Created.UTC())
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation: another account's, meanwhile
			return store.ErrKeyExists
		}
		if err != nil {
			return err
		}
		return notify(ctx, tx, changedKeys, k.AccountID)
	})
	if err == nil {
		s.invalidate(changedKeys, k.AccountID)
	}
	return err
}

// Keys implements [store.Keys]: from memory while the listener hears
// every change; while the database cannot be reached, the keys last read.
func (s *Store) Keys(ctx context.Context, accountID string) ([]store.Key, error) {
	if err := store.CheckID("account ID", accountID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	c, cached := s.keys[accountID]
	epoch, unknown := s.epoch, s.unknown(accountID)
	s.mu.Unlock()
	if cached && c.valid {
		return slices.Clone(c.keys), nil
	}
	if unknown {
		return nil, nil
	}
	keys, err := s.readKeys(ctx, "WHERE account_id = $1", accountID)
	switch {
	case errors.Is(err, store.ErrUnavailable) && cached:
		return slices.Clone(c.keys), nil // stale, but what was true last
	case err != nil:
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[accountID]; !ok && len(s.keys) >= maxCached {
		clear(s.keys)
	}
	s.keys[accountID] = cachedKeys{keys: keys, valid: s.synced && s.epoch == epoch}
	return slices.Clone(keys), nil
}

// readKeys reads created keys: where says which.
func (s *Store) readKeys(ctx context.Context, where string, args ...any) ([]store.Key, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT account_id, public_jwk, created FROM streamtoken_keys "+where+" ORDER BY account_id, created, key_id", args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var keys []store.Key
	for rows.Next() {
		var k store.Key
		var jwk string
		if err := rows.Scan(&k.AccountID, &jwk, &k.Created); err != nil {
			return nil, unavailable(err)
		}
		if k.Key, err = token.ParseKey([]byte(jwk)); err != nil {
			return nil, fmt.Errorf("postgres: a stored key of account %s: %w", k.AccountID, err)
		}
		k.Created = k.Created.UTC()
		keys = append(keys, k)
	}
	return keys, unavailable(rows.Err())
}

// DeleteKey implements [store.Keys].
func (s *Store) DeleteKey(ctx context.Context, accountID, keyID string) error {
	if err := errors.Join(store.CheckID("account ID", accountID), store.CheckID("key ID", keyID)); err != nil {
		return err
	}
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM streamtoken_keys WHERE account_id = $1 AND key_id = $2", accountID, keyID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNoSuchKey
		}
		return notify(ctx, tx, changedKeys, accountID)
	})
	if err == nil {
		s.invalidate(changedKeys, accountID)
	}
	return err
}

// AllKeys implements [store.Keys].
func (s *Store) AllKeys(ctx context.Context) ([]store.Key, error) {
	return s.readKeys(ctx, "")
}

// AccountKey implements [store.AccountKeys]: an account's key is read and
// opened once; an account known to have none costs no query while the
// listener hears every change.
func (s *Store) AccountKey(ctx context.Context, accountID string) (*token.Key, error) {
	if err := store.CheckID("account ID", accountID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	k, none, epoch := s.signed[accountID], (s.none[accountID] || s.unknown(accountID)) && s.synced, s.epoch
	s.mu.Unlock()
	if k != nil || none {
		return k, nil
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	k, err := s.readAccountKey(ctx, s.pool, accountID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case k != nil:
		s.signed[accountID] = k
	case s.synced && s.epoch == epoch:
		if len(s.none) >= maxCached {
			clear(s.none)
		}
		s.none[accountID] = true
	}
	return k, nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readAccountKey reads and opens an account's sealed key, or nil.
func (s *Store) readAccountKey(ctx context.Context, q querier, accountID string) (*token.Key, error) {
	var keyID string
	var sealed []byte
	err := q.QueryRow(ctx, "SELECT key_id, sealed FROM streamtoken_account_keys WHERE account_id = $1", accountID).Scan(&keyID, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	pemBytes, err := s.open(sealed, accountKeyAAD(accountID, keyID))
	if err != nil {
		return nil, fmt.Errorf("postgres: the signing key of account %s does not open: %w", accountID, err)
	}
	k, err := token.ParsePrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("postgres: the signing key of account %s: %w", accountID, err)
	}
	k.ID = keyID
	return k, nil
}

// EnsureAccountKey implements [store.AccountKeys]: the key is generated
// outside any transaction; the count of accounts and the insert are one
// transaction under a lock every replica takes, and when another replica
// kept a key for the account first, that key is the account's.
func (s *Store) EnsureAccountKey(ctx context.Context, accountID string, max int, generate func() (*token.Key, error)) (*token.Key, error) {
	if k, err := s.AccountKey(ctx, accountID); k != nil || err != nil {
		return k, err
	}
	count := func(ctx context.Context, q querier) (int, error) {
		var n int
		err := q.QueryRow(ctx, "SELECT count(*) FROM streamtoken_account_keys").Scan(&n)
		return n, err
	}
	qctx, cancel := s.op(ctx)
	n, err := count(qctx, s.pool)
	cancel()
	if err != nil {
		return nil, unavailable(err)
	}
	if n >= max {
		return nil, store.ErrAccountLimit
	}
	made, err := generate()
	if err != nil {
		return nil, err
	}
	if err := store.CheckAccountKey(made); err != nil {
		return nil, err
	}
	pemBytes, err := made.PrivatePEM()
	if err != nil {
		return nil, err
	}
	sealed := s.seal(pemBytes, accountKeyAAD(accountID, made.ID))
	var kept *token.Key
	err = s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := lock(ctx, tx, "accounts"); err != nil {
			return err
		}
		if kept, err = s.readAccountKey(ctx, tx, accountID); kept != nil || err != nil {
			return err
		}
		n, err := count(ctx, tx)
		if err != nil {
			return err
		}
		if n >= max {
			return store.ErrAccountLimit
		}
		if _, err := tx.Exec(ctx, "INSERT INTO streamtoken_account_keys (account_id, key_id, sealed, created) VALUES ($1, $2, $3, $4)",
			accountID, made.ID, sealed, time.Now().UTC()); err != nil {
			return err
		}
		kept = made
		return notify(ctx, tx, changedAccountKey, accountID)
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.signed[accountID] = kept
	delete(s.none, accountID)
	s.mu.Unlock()
	return kept, nil
}

// accountKeyAAD binds a sealed key to its row: a sealed key copied to
// another account, or given another ID, does not open.
func accountKeyAAD(accountID, keyID string) []byte {
	return []byte("streamtoken account key\x00" + accountID + "\x00" + keyID)
}

// seal encrypts plain with AES-256-GCM under a random nonce: nonce, then
// ciphertext and tag.
func (s *Store) seal(plain, aad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, aad)
}

// open decrypts what seal made.
func (s *Store) open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < s.aead.NonceSize() {
		return nil, errors.New("too short")
	}
	plain, err := s.aead.Open(nil, sealed[:s.aead.NonceSize()], sealed[s.aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: not the one it was sealed with", ErrKeyEncryptionKey)
	}
	return plain, nil
}

// Media implements [store.Media].
func (s *Store) Media(ctx context.Context, kind store.Kind, accountID, id string) ([]byte, bool, error) {
	if err := store.CheckMedium(kind, accountID, id); err != nil {
		return nil, false, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	var details []byte
	err := s.pool.QueryRow(ctx, "SELECT details FROM streamtoken_media WHERE kind = $1 AND account_id = $2 AND id = $3",
		string(kind), accountID, id).Scan(&details)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable(err)
	}
	return details, true, nil
}

// EditMedia implements [store.Media]: read, edited and kept in one
// transaction under the lock of the account's media of that kind, so
// that no replica's edit is lost and the cap holds across replicas.
func (s *Store) EditMedia(ctx context.Context, kind store.Kind, accountID, id string, max int, edit func([]byte, bool) ([]byte, error)) ([]byte, error) {
	if err := store.CheckMedium(kind, accountID, id); err != nil {
		return nil, err
	}
	var details []byte
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		// One account's media at a time, both kinds: the quota counts them
		// together.
		if err := lock(ctx, tx, "media/"+accountID); err != nil {
			return err
		}
		var old []byte
		err := tx.QueryRow(ctx, "SELECT details FROM streamtoken_media WHERE kind = $1 AND account_id = $2 AND id = $3",
			string(kind), accountID, id).Scan(&old)
		found := err == nil
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM streamtoken_media WHERE kind = $1 AND account_id = $2", string(kind), accountID).Scan(&n); err != nil {
				return err
			}
			if n >= max {
				return store.ErrMediaLimit
			}
		case err != nil:
			return err
		}
		if details, err = edit(old, found); err != nil {
			return editError{err}
		}
		if err := store.CheckDetails(kind, details); err != nil {
			return editError{err}
		}
		if grow := len(details) - len(old); s.accountMax > 0 && grow > 0 {
			var used int64
			if err := tx.QueryRow(ctx, "SELECT coalesce(sum(bytes), 0) FROM streamtoken_media WHERE kind IN ('video', 'live_input') AND account_id = $1",
				accountID).Scan(&used); err != nil {
				return err
			}
			if used+int64(grow) > s.accountMax {
				return editError{fmt.Errorf("%w: %d bytes of %d", store.ErrAccountQuota, used, s.accountMax)}
			}
		}
		f := store.FieldsOf(details)
		_, err = tx.Exec(ctx, `INSERT INTO streamtoken_media (kind, account_id, id, details, modified, created, creator, name, name_fold, state, live_input, bytes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (kind, account_id, id) DO UPDATE SET details = EXCLUDED.details, modified = EXCLUDED.modified, created = EXCLUDED.created,
				creator = EXCLUDED.creator, name = EXCLUDED.name, name_fold = EXCLUDED.name_fold, state = EXCLUDED.state, live_input = EXCLUDED.live_input,
				bytes = EXCLUDED.bytes`,
			string(kind), accountID, id, string(details), time.Now().UTC(), store.CreatedOf(details), creatorOf(f), f.Name, f.Folded, f.State, f.LiveInput, len(details))
		return err
	})
	var ee editError
	if errors.As(err, &ee) {
		return nil, ee.err
	}
	if err != nil {
		return nil, err
	}
	return details, nil
}

// ListMedia implements [store.Media]: the filters run in SQL on the
// columns EditMedia fills from the details (indexed: creator, name, live
// input, and the folded name for a search where pg_trgm is), the rows
// come in the query's order, and the page stops at its limit; a count is
// a query of its own.
func (s *Store) ListMedia(ctx context.Context, kind store.Kind, accountID string, q store.MediaQuery) (store.MediaPage, error) {
	if err := store.CheckMedium(kind, accountID, "-"); err != nil {
		return store.MediaPage{}, err
	}
	if err := store.CheckQuery(q); err != nil {
		return store.MediaPage{}, err
	}
	filter, possible := q.Filter.WithoutNUL()
	if !possible {
		return store.MediaPage{}, nil
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	where, args := mediaWhere(kind, accountID, q.Start, q.End, filter)
	order := "created DESC, id DESC"
	if q.Asc {
		order = "created, id"
	}
	limit := q.PageLimit()
	rows, err := s.pool.Query(ctx, "SELECT id, created, details FROM streamtoken_media WHERE "+where+" ORDER BY "+order+
		" LIMIT "+strconv.Itoa(limit+1), args...) // one more: whether more follow
	if err != nil {
		return store.MediaPage{}, unavailable(err)
	}
	var p store.MediaPage
	for rows.Next() {
		var m store.Medium
		if err := rows.Scan(&m.ID, &m.Created, &m.Details); err != nil {
			rows.Close()
			return store.MediaPage{}, unavailable(err)
		}
		m.Created = m.Created.UTC()
		p.Media = append(p.Media, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.MediaPage{}, unavailable(err)
	}
	if len(p.Media) > limit {
		p.Media, p.More = p.Media[:limit], true
	}
	if q.Count {
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM streamtoken_media WHERE "+where, args...).Scan(&p.Total); err != nil {
			return store.MediaPage{}, unavailable(err)
		}
		p.Total = max(p.Total, len(p.Media)) // a change between the two queries
		p.Rest = p.Total - len(p.Media)
	}
	return p, nil
}

// DeleteMedia implements [store.Media].
func (s *Store) DeleteMedia(ctx context.Context, kind store.Kind, accountID, id string) error {
	if err := store.CheckMedium(kind, accountID, id); err != nil {
		return err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, "DELETE FROM streamtoken_media WHERE kind = $1 AND account_id = $2 AND id = $3", string(kind), accountID, id)
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNoSuchMedium
	}
	return nil
}

// mediaWhere is the WHERE clause of a listing, and its arguments.
func mediaWhere(kind store.Kind, accountID string, start, end *time.Time, f store.MediaFilter) (string, []any) {
	args := []any{string(kind), accountID}
	conds := []string{"kind = $1", "account_id = $2"}
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if start != nil {
		add("created >= $?", *start)
	}
	if end != nil {
		add("created <= $?", *end)
	}
	if f.Creator != nil {
		add("creator = $?", *f.Creator)
	}
	if f.Name != nil {
		add("name = $?", *f.Name)
	}
	if f.Search != "" {
		add(`name_fold LIKE '%' || $? || '%'`, likeEscaper.Replace(store.Fold(f.Search)))
	}
	if f.State != "" {
		add("state = $?", f.State)
	}
	if f.Live != nil {
		add("(live_input <> '') = $?", *f.Live)
	}
	if f.LiveInput != nil {
		add("live_input = $?", *f.LiveInput)
	}
	if f.IDs != nil {
		add("id = ANY($?)", f.IDs)
	}
	if f.Names != nil {
		add("(id = ANY($?) OR name = ANY($?))", f.Names)
	}
	return strings.Join(conds, " AND "), args
}

// likeEscaper escapes LIKE's wildcards and its escape character (a
// backslash, by default), so that a search is for its text.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// creatorOf is the creator column of a medium's fields: NULL for none.
func creatorOf(f store.Fields) *string {
	if !f.HasCreator {
		return nil
	}
	return &f.Creator
}

// editError carries an error of the caller's edit (or of its result)
// through the transaction unchanged: it is no sign of the database's.
type editError struct{ err error }

func (e editError) Error() string { return e.err.Error() }
func (e editError) Unwrap() error { return e.err }

// unknown reports whether the account has no key of any kind, as far as
// the listener vouches for. s.mu is held.
func (s *Store) unknown(accountID string) bool {
	return s.synced && s.known != nil && !s.known[accountID]
}

// invalidate marks what a change made stale, in this replica. A stale key
// list is kept, not dropped: it is read again at the next use, and served
// while the database cannot be reached (the change may be this replica's
// own, heard after a later read).
func (s *Store) invalidate(kind byte, accountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	if s.known != nil {
		s.known[accountID] = true
	}
	switch kind {
	case changedKeys:
		if c, ok := s.keys[accountID]; ok {
			c.valid = false
			s.keys[accountID] = c
		}
	case changedAccountKey:
		delete(s.none, accountID)
	}
}

// deaf marks what is cached as no longer vouched for: the listener lost
// its connection, and changes made meanwhile go unheard. The values stay,
// to serve while the database is away.
func (s *Store) deaf() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.synced = false
	s.unvouch()
}

// unvouch marks every cached value as one to read again, keeping it to
// serve while the database cannot be reached. s.mu is held.
func (s *Store) unvouch() {
	s.epoch++
	s.known = nil
	for a, c := range s.keys {
		c.valid = false
		s.keys[a] = c
	}
	clear(s.none)
}

// listen holds a connection that listens for the replicas' changes,
// connecting again (after a pause that grows to 2 s) whenever it is lost,
// until ctx ends.
func (s *Store) listen(ctx context.Context, cc *pgx.ConnConfig) {
	pause := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, cc)
		s.deaf()
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("PostgreSQL store: not hearing the other replicas' changes; reading through until the listener is back", "error", err.Error())
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// listenOnce connects, listens, and hands each notification on until the
// connection fails.
func (s *Store) listenOnce(ctx context.Context, cc *pgx.ConnConfig) error {
	cctx, cancel := s.op(ctx)
	conn, err := pgx.ConnectConfig(cctx, cc)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	lctx, cancel := s.op(ctx)
	_, err = conn.Exec(lctx, "LISTEN "+channel)
	cancel()
	if err != nil {
		return err
	}
	// From here on every change is heard: what was read before may
	// predate one, so it is read again; the accounts with keys are listed
	// now, and each change heard adds its account.
	known, err := s.knownAccounts(ctx, conn)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.unvouch()
	s.known = known
	s.synced = true
	s.mu.Unlock()
	s.log.Info("PostgreSQL store: listening for the other replicas' changes")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Channel == channel && len(n.Payload) > 1 {
			s.invalidate(n.Payload[0], n.Payload[1:])
		}
	}
}

// knownAccounts lists the accounts with a key of any kind, or nil when
// there are more than maxKnown.
func (s *Store) knownAccounts(ctx context.Context, conn *pgx.Conn) (map[string]bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := conn.Query(ctx, "SELECT account_id FROM streamtoken_account_keys UNION SELECT account_id FROM streamtoken_keys LIMIT $1", maxKnown+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	known := map[string]bool{}
	for rows.Next() {
		var account string
		if err := rows.Scan(&account); err != nil {
			return nil, err
		}
		known[account] = true
	}
	if len(known) > maxKnown {
		return nil, rows.Err()
	}
	return known, rows.Err()
}

//go:embed migrations/*.sql
var migrations embed.FS

// migrationsLock is the advisory lock a replica holds while it migrates.
const migrationsLock = 0x5354_4b4e // "STKN"

// migrate applies the migrations the database lacks, in order, each in a
// transaction, under a session lock that a replica starting at the same
// time waits for; then checks the key-encryption key.
func (s *Store) migrate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 6*s.timeout)
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationsLock); err != nil {
		return unavailable(err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationsLock) //nolint:errcheck // the session's end frees it too
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS streamtoken_migrations (version int PRIMARY KEY, applied timestamptz NOT NULL)"); err != nil {
		return unavailable(err)
	}
	var applied int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM streamtoken_migrations").Scan(&applied); err != nil {
		return unavailable(err)
	}
	files, err := migrations.ReadDir("migrations")
	if err != nil {
		return err
	}
	if latest, _ := strconv.Atoi(strings.SplitN(files[len(files)-1].Name(), "_", 2)[0]); applied > latest {
		return fmt.Errorf("postgres: the database's schema is version %d, newer than this version of streamtoken knows (%d): run the release that migrated it, or a newer one", applied, latest)
	}
	for _, f := range files { // sorted by name: by version
		version, err := strconv.Atoi(strings.SplitN(f.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: no version", f.Name())
		}
		if version <= applied {
			continue
		}
		sql, err := migrations.ReadFile("migrations/" + f.Name())
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			if step := migrationSteps[version]; step != nil {
				if err := step(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, "INSERT INTO streamtoken_migrations (version, applied) VALUES ($1, now())", version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", f.Name(), unavailable(err))
		}
	}
	if err := checkSchema(ctx, conn); err != nil {
		return err
	}
	return s.checkKeyEncryptionKey(ctx, conn)
}

// migrationSteps are the migrations' steps in Go, each run in its
// migration's transaction after its SQL.
var migrationSteps = map[int]func(context.Context, pgx.Tx) error{
	4: fillMediaFields,
}

// fillMediaFields fills the filter columns of the media kept before
// migration 4, from their details, as EditMedia fills them.
func fillMediaFields(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, "SELECT kind, account_id, id, details FROM streamtoken_media")
	if err != nil {
		return err
	}
	var batch pgx.Batch
	for rows.Next() {
		var kind, account, id string
		var details []byte
		if err := rows.Scan(&kind, &account, &id, &details); err != nil {
			rows.Close()
			return err
		}
		f := store.FieldsOf(details)
		batch.Queue("UPDATE streamtoken_media SET creator = $4, name = $5, name_fold = $6, state = $7, live_input = $8, bytes = $9 WHERE kind = $1 AND account_id = $2 AND id = $3",
			kind, account, id, creatorOf(f), f.Name, f.Folded, f.State, f.LiveInput, len(details))
	}
	rows.Close()
	if err := rows.Err(); err != nil || batch.Len() == 0 {
		return err
	}
	return tx.SendBatch(ctx, &batch).Close()
}

// schemaNeeds is every column the store reads or writes, by table: a
// schema recorded as migrated but changed by hand since is found at
// start, not by the first request that needs what it lacks.
var schemaNeeds = []string{
	"streamtoken_keys (key_id, account_id, public_jwk, created)",
	"streamtoken_account_keys (account_id, key_id, sealed, created)",
	"streamtoken_media (kind, account_id, id, details, modified, created, creator, name, name_fold, state, live_input, bytes)",
	"streamtoken_settings (name, value)",
}

// checkSchema verifies that every table and column the store uses is
// there, with a query that reads no row.
func checkSchema(ctx context.Context, conn *pgxpool.Conn) error {
	for _, need := range schemaNeeds {
		table, columns, _ := strings.Cut(need, " ")
		columns = strings.Trim(columns, "()")
		if _, err := conn.Exec(ctx, "SELECT "+columns+" FROM "+table+" LIMIT 0"); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) {
				return fmt.Errorf("postgres: the schema lacks what this version needs of %s (%s): %s", table, columns, pgErr.Message)
			}
			return unavailable(err)
		}
	}
	return nil
}

// kekCheck is what the settings table keeps sealed under the
// key-encryption key.
const kekCheck = "streamtoken key-encryption key"

// checkKeyEncryptionKey opens the value sealed under the key-encryption
// key of the database's first start, or seals one if there is none.
func (s *Store) checkKeyEncryptionKey(ctx context.Context, conn *pgxpool.Conn) error {
	aad := []byte("settings/kek")
	var sealed []byte
	err := conn.QueryRow(ctx, "SELECT value FROM streamtoken_settings WHERE name = 'kek'").Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		_, err = conn.Exec(ctx, "INSERT INTO streamtoken_settings (name, value) VALUES ('kek', $1) ON CONFLICT DO NOTHING", s.seal([]byte(kekCheck), aad))
		return unavailable(err)
	}
	if err != nil {
		return unavailable(err)
	}
	if plain, err := s.open(sealed, aad); err != nil || string(plain) != kekCheck {
		return fmt.Errorf("%w: not the one this database's signing keys were sealed with (give the key of its first start)", ErrKeyEncryptionKey)
	}
	return nil
}
