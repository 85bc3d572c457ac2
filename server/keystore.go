package server

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken/token"
)

// MaxKeysPerAccount is the most signing keys an account may hold, as on
// Cloudflare.
const MaxKeysPerAccount = 1000

// Errors of a [KeyStore], mapped by [KeyService] onto envelopes.
var (
	// ErrKeyLimit: the account already holds as many keys as allowed.
	ErrKeyLimit = errors.New("the account holds the most signing keys it may")
	// ErrNoSuchKey: the account has no key of that ID.
	ErrNoSuchKey = errors.New("no such signing key")
	// ErrKeyExists: a key of that ID exists, in this account or another:
	// a key ID names one key.
	ErrKeyExists = errors.New("a signing key of that ID exists")
)

// StoredKey is a signing key the keys API created, or one an operator put
// in the store: private, with the ID it signs as (its kid).
type StoredKey struct {
	AccountID string
	Key       *token.Key
	Created   time.Time
}

// KeyStore keeps the signing keys of the keys API, per account. A server
// lists an account's keys in the account's JWK set, so that tokens signed
// with a created key verify there until the key is deleted.
// Implementations are safe for concurrent use.
type KeyStore interface {
	// Add keeps k, unless k's account already holds max keys
	// ([ErrKeyLimit]) or any account holds a key of k's ID
	// ([ErrKeyExists]).
	Add(ctx context.Context, k StoredKey, max int) error
	// List returns an account's keys, oldest first.
	List(ctx context.Context, accountID string) ([]StoredKey, error)
	// Delete removes an account's key, or says [ErrNoSuchKey].
	Delete(ctx context.Context, accountID, keyID string) error
	// All returns every account's keys: by account ID, then oldest first.
	All(ctx context.Context) ([]StoredKey, error)
}

// byAge orders keys oldest first, then by ID, so that lists are stable.
func byAge(a, b StoredKey) int {
	return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Key.ID, b.Key.ID))
}

// MemoryKeyStore is a [KeyStore] in memory: what a server has by default
// and what streamtokentest uses. Its keys go with the process.
type MemoryKeyStore struct {
	mu    sync.Mutex
	keys  map[string][]StoredKey // by account, oldest first
	owner map[string]string      // the account of each key ID
}

// NewMemoryKeyStore returns an empty store.
func NewMemoryKeyStore() *MemoryKeyStore {
	return &MemoryKeyStore{keys: map[string][]StoredKey{}, owner: map[string]string{}}
}

// Add implements [KeyStore].
func (m *MemoryKeyStore) Add(_ context.Context, k StoredKey, max int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	held := m.keys[k.AccountID]
	if _, taken := m.owner[k.Key.ID]; taken {
		return ErrKeyExists
	}
	if len(held) >= max {
		return ErrKeyLimit
	}
	held = append(held, k)
	slices.SortStableFunc(held, byAge)
	m.keys[k.AccountID] = held
	m.owner[k.Key.ID] = k.AccountID
	return nil
}

// List implements [KeyStore].
func (m *MemoryKeyStore) List(_ context.Context, accountID string) ([]StoredKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.keys[accountID]), nil
}

// Delete implements [KeyStore].
func (m *MemoryKeyStore) Delete(_ context.Context, accountID, keyID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	held := m.keys[accountID]
	i := slices.IndexFunc(held, func(s StoredKey) bool { return s.Key.ID == keyID })
	if i < 0 {
		return ErrNoSuchKey
	}
	m.keys[accountID] = slices.Delete(held, i, i+1)
	delete(m.owner, keyID)
	return nil
}

// All implements [KeyStore].
func (m *MemoryKeyStore) All(_ context.Context) ([]StoredKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []StoredKey
	for _, account := range slices.Sorted(maps.Keys(m.keys)) {
		all = append(all, m.keys[account]...)
	}
	return all, nil
}
