package postgres

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
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
