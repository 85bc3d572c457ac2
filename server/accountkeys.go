package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/token"
)

// DefaultMaxAccounts is how many accounts a server keeps a generated
// signing key for, unless Config.MaxAccounts says otherwise: each key is
// an RSA key generated (tens of milliseconds of CPU) and kept.
const DefaultMaxAccounts = 10_000

// ErrAccountLimit is an [AccountKeyStore]'s refusal to keep a key for one
// more account.
var ErrAccountLimit = errors.New("signing keys are kept for as many accounts as allowed")

// AccountKeyStore keeps the signing key a server generates for each
// account that has none of the operator's, on the account's first token:
// so that a restart, or another replica on the same store, signs the
// account's tokens with the same key, and the account's JWK set keeps
// vouching for the tokens already out. Implementations are safe for
// concurrent use.
type AccountKeyStore interface {
	// AccountKey returns the account's key, or nil when it has none.
	AccountKey(ctx context.Context, accountID string) (*token.Key, error)
	// EnsureAccountKey returns the account's key, calling generate for
	// one and keeping it when the account has none. When two callers (or
	// two servers) race, the first key kept is the account's, and both
	// get it. When max accounts have a key already it is
	// [ErrAccountLimit], and generate is not called.
	EnsureAccountKey(ctx context.Context, accountID string, max int, generate func() (*token.Key, error)) (*token.Key, error)
}

// MemoryAccountKeyStore is an [AccountKeyStore] in memory: what a server
// has by default. Its keys go with the process, and the accounts' JWK sets
// with them.
type MemoryAccountKeyStore struct {
	mu   sync.Mutex
	keys map[string]*token.Key
}

// NewMemoryAccountKeyStore returns an empty store.
func NewMemoryAccountKeyStore() *MemoryAccountKeyStore {
	return &MemoryAccountKeyStore{keys: map[string]*token.Key{}}
}

// AccountKey implements [AccountKeyStore].
func (m *MemoryAccountKeyStore) AccountKey(_ context.Context, accountID string) (*token.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys[accountID], nil
}

// EnsureAccountKey implements [AccountKeyStore]. The key is generated
// without the store's lock held.
func (m *MemoryAccountKeyStore) EnsureAccountKey(_ context.Context, accountID string, max int, generate func() (*token.Key, error)) (*token.Key, error) {
	check := func() (*token.Key, error) {
		if k := m.keys[accountID]; k != nil {
			return k, nil
		}
		if len(m.keys) >= max {
			return nil, ErrAccountLimit
		}
		return nil, nil
	}
	m.mu.Lock()
	k, err := check()
	m.mu.Unlock()
	if k != nil || err != nil {
		return k, err
	}
	made, err := generate()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, err := check(); k != nil || err != nil {
		return k, err
	}
	m.keys[accountID] = made
	return made, nil
}

// DirAccountKeyStore is an [AccountKeyStore] in the directory of the
// operator's per-account keys (serve --keys-dir): a generated key is
// written as DIR/<account_id>.json, the API's form of a key with its kid,
// mode 0600, whole or not at all and never over a file there. A restart
// reads it as the account's key ([LoadKeysDir]); servers sharing DIR sign
// with the key the first of them wrote.
type DirAccountKeyStore struct {
	dir string
	mu  sync.Mutex // one generation at a time in this process
}

// keyFileExts are the extensions of an account's key file in the keys
// directory, the generated one's first.
var keyFileExts = []string{".json", ".pem", ".jwk"}

// NewDirAccountKeyStore returns the store in dir, creating it (mode 0700).
func NewDirAccountKeyStore(dir string) (*DirAccountKeyStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &DirAccountKeyStore{dir: dir}, nil
}

// AccountKey implements [AccountKeyStore]: the account's key file, in any
// of the forms LoadKeysDir reads.
func (d *DirAccountKeyStore) AccountKey(_ context.Context, accountID string) (*token.Key, error) {
	if why := ids.Check(accountID); why != "" {
		return nil, fmt.Errorf("account %q: %s", accountID, why)
	}
	for _, ext := range keyFileExts {
		k, err := LoadKey(filepath.Join(d.dir, accountID+ext), "")
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("the signing key of account %s: %w", accountID, err)
		}
		return k, nil
	}
	return nil, nil
}

// EnsureAccountKey implements [AccountKeyStore]. Every key file in the
// directory counts towards max.
func (d *DirAccountKeyStore) EnsureAccountKey(ctx context.Context, accountID string, max int, generate func() (*token.Key, error)) (*token.Key, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if k, err := d.AccountKey(ctx, accountID); k != nil || err != nil {
		return k, err
	}
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	if n >= max {
		return nil, ErrAccountLimit
	}
	k, err := generate()
	if err != nil {
		return nil, err
	}
	data, err := apiKeyJSON(StoredKey{AccountID: accountID, Key: k, Created: time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return nil, err
	}
	switch err := writeOnce(d.dir, accountID+".json", data); {
	case errors.Is(err, ErrKeyExists): // another server wrote it first: its key is the account's
		return d.AccountKey(ctx, accountID)
	case err != nil:
		return nil, err
	}
	return k, nil
}

// count is how many accounts have a key file in the directory.
func (d *DirAccountKeyStore) count() (int, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && slices.Contains(keyFileExts, filepath.Ext(e.Name())) {
			n++
		}
	}
	return n, nil
}
