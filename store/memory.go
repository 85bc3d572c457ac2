package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"

	"github.com/streamtoken/streamtoken/token"
)

// DefaultMaxMemoryBytes bounds what a [Memory] store keeps, unless told
// otherwise: keys and media details, counted as their encoded size plus
// the IDs that index them.
const DefaultMaxMemoryBytes = 256 << 20

// Memory is a [Store] in memory: what a server has by default, and what
// streamtokentest uses. Its state goes with the process. It holds at most
// its bound of bytes: past it, a change that adds is [ErrFull], and what
// is kept stays as it was.
type Memory struct {
	maxKeys, maxMedia int64 // bytes, two budgets: media cannot take the room of the accounts' signing keys
	accountMax        int64 // each account's media, bytes

	mu        sync.Mutex
	usedKeys  int64
	usedMedia int64
	byAccount map[string]int64        // media bytes, by account
	keys      map[string][]Key        // by account, oldest first
	owner     map[string]string       // the account of each key ID
	accounts  map[string]*token.Key   // each account's signing key
	media     map[mediaKey][]byte     // details, by kind, account and ID
	order     map[mediaCount][]Medium // each account's media of a kind, oldest first then by ID: IDs and times alone
	webhooks  map[string]Webhook      // each account's webhook

	making accountLocks // an account's key is made under its lock
	localLeases
	localBudgets
}

type mediaKey struct {
	kind          Kind
	accountID, id string
}

type mediaCount struct {
	kind      Kind
	accountID string
}

// MemoryOption sets an option of [NewMemory].
type MemoryOption func(*Memory)

// WithAccountMediaBytes sets the most bytes each account's media may take
// (zero: the default, [DefaultAccountMediaBytes] or a quarter of the media's
// budget, whichever is less; negative: the media's whole budget).
func WithAccountMediaBytes(n int64) MemoryOption {
	return func(m *Memory) { m.accountMax = n }
}

// NewMemory returns an empty store that keeps at most maxBytes (zero:
// [DefaultMaxMemoryBytes]): a quarter for keys (the accounts' signing keys
// and those created through the API), the rest for media, so that media
// never leave an account without room for its signing key; and of the
// media's, at most a quarter for one account unless told otherwise.
func NewMemory(maxBytes int64, opts ...MemoryOption) *Memory {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxMemoryBytes
	}
	m := &Memory{maxKeys: maxBytes / 4, maxMedia: maxBytes - maxBytes/4, byAccount: map[string]int64{},
		keys: map[string][]Key{}, owner: map[string]string{},
		accounts: map[string]*token.Key{}, media: map[mediaKey][]byte{}, order: map[mediaCount][]Medium{}}
	for _, o := range opts {
		o(m)
	}
	switch {
	case m.accountMax == 0:
		m.accountMax = min(DefaultAccountMediaBytes, m.maxMedia/4)
	case m.accountMax < 0 || m.accountMax > m.maxMedia:
		m.accountMax = m.maxMedia
	}
	return m
}

// Overhead per entry, beside its bytes: map slots, headers, IDs.
const entryOverhead = 128

// keyBytes is what a key costs the budget: its modulus (twice for a
// private key, whose primes and exponent are as long) and IDs.
func keyBytes(accountID string, k *token.Key) int64 {
	n := int64(len(k.Public.N.Bytes()))
	if k.Private != nil {
		n *= 4
	}
	return n + int64(len(accountID)+len(k.ID)) + entryOverhead
}

// takeKey charges n bytes to the keys' budget, or says ErrFull. m.mu is
// held.
func (m *Memory) takeKey(n int64) error {
	if m.usedKeys+n > m.maxKeys {
		return fmt.Errorf("%w: %d bytes of keys kept of %d", ErrFull, m.usedKeys, m.maxKeys)
	}
	m.usedKeys += n
	return nil
}

// takeMedia charges n bytes (negative: gives them back) to the media's
// budget and to the account's, or says ErrAccountQuota or ErrFull. m.mu is
// held.
func (m *Memory) takeMedia(accountID string, n int64) error {
	switch {
	case n > 0 && m.usedMedia+n > m.maxMedia:
		return fmt.Errorf("%w: %d bytes of media kept of %d", ErrFull, m.usedMedia, m.maxMedia)
	case n > 0 && m.byAccount[accountID]+n > m.accountMax:
		return fmt.Errorf("%w: %d bytes of %d", ErrAccountQuota, m.byAccount[accountID], m.accountMax)
	}
	m.usedMedia += n
	if m.byAccount[accountID] += n; m.byAccount[accountID] <= 0 {
		delete(m.byAccount, accountID)
	}
	return nil
}

// AddKey implements [Keys].
func (m *Memory) AddKey(_ context.Context, k Key, max int) error {
	if err := CheckKey(k); err != nil {
		return err
	}
	k = k.Public()
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, taken := m.owner[k.Key.ID]; taken {
		return ErrKeyExists
	}
	held := m.keys[k.AccountID]
	if len(held) >= max {
		return ErrKeyLimit
	}
	if err := m.takeKey(keyBytes(k.AccountID, k.Key)); err != nil {
		return err
	}
	held = append(held, k)
	slices.SortStableFunc(held, ByAge)
	m.keys[k.AccountID] = held
	m.owner[k.Key.ID] = k.AccountID
	return nil
}

// Keys implements [Keys].
func (m *Memory) Keys(_ context.Context, accountID string) ([]Key, error) {
	if err := CheckID("account ID", accountID); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.keys[accountID]), nil
}

// DeleteKey implements [Keys].
func (m *Memory) DeleteKey(_ context.Context, accountID, keyID string) error {
	if err := errors.Join(CheckID("account ID", accountID), CheckID("key ID", keyID)); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	held := m.keys[accountID]
	i := slices.IndexFunc(held, func(k Key) bool { return k.Key.ID == keyID })
	if i < 0 {
		return ErrNoSuchKey
	}
	m.usedKeys -= keyBytes(accountID, held[i].Key)
	if held = slices.Delete(held, i, i+1); len(held) == 0 {
		delete(m.keys, accountID)
	} else {
		m.keys[accountID] = held
	}
	delete(m.owner, keyID)
	return nil
}

// AllKeys implements [Keys].
func (m *Memory) AllKeys(_ context.Context) ([]Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []Key
	for _, account := range slices.Sorted(maps.Keys(m.keys)) {
		all = append(all, m.keys[account]...)
	}
	return all, nil
}

// AccountKey implements [AccountKeys].
func (m *Memory) AccountKey(_ context.Context, accountID string) (*token.Key, error) {
	if err := CheckID("account ID", accountID); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.accounts[accountID], nil
}

// EnsureAccountKey implements [AccountKeys]. The key is generated under
// the account's own lock (so once per account, however many ask), never
// the store's: other accounts are not held up.
func (m *Memory) EnsureAccountKey(_ context.Context, accountID string, max int, generate func() (*token.Key, error)) (*token.Key, error) {
	if err := CheckID("account ID", accountID); err != nil {
		return nil, err
	}
	check := func() (*token.Key, error) {
		if k := m.accounts[accountID]; k != nil {
			return k, nil
		}
		if len(m.accounts) >= max {
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
	mu := m.making.of(accountID)
	mu.Lock()
	defer mu.Unlock()
	m.mu.Lock()
	k, err = check() // another caller may have made it meanwhile
	m.mu.Unlock()
	if k != nil || err != nil {
		return k, err
	}
	made, err := generate()
	if err != nil {
		return nil, err
	}
	if err := CheckAccountKey(made); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, err := check(); k != nil || err != nil {
		return k, err
	}
	if err := m.takeKey(keyBytes(accountID, made)); err != nil {
		return nil, err
	}
	m.accounts[accountID] = made
	return made, nil
}

// ReplaceAccountKey implements [AccountKeys].
func (m *Memory) ReplaceAccountKey(_ context.Context, accountID, old string, k *token.Key) error {
	if err := CheckID("account ID", accountID); err != nil {
		return err
	}
	if err := CheckAccountKey(k); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.accounts[accountID]
	if cur == nil || cur.ID != old {
		return fmt.Errorf("%w: account %s's key is not %s", ErrNoSuchKey, accountID, old)
	}
	m.usedKeys -= keyBytes(accountID, cur)
	if err := m.takeKey(keyBytes(accountID, k)); err != nil {
		m.usedKeys += keyBytes(accountID, cur)
		return err
	}
	m.accounts[accountID] = k
	return nil
}

// accountLocks are the locks an account's key is made under: a fixed
// set, the account's by hash, so that nothing grows with the accounts
// asked for.
type accountLocks [64]sync.Mutex

func (l *accountLocks) of(accountID string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(accountID))
	return &l[h.Sum32()%uint32(len(l))]
}

// Close implements [Store]; a Memory store holds nothing to let go of.
func (m *Memory) Close() error { return nil }

// Used returns the bytes the store counts as kept, of its bound: keys and
// media together.
func (m *Memory) Used() (used, max int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.usedKeys + m.usedMedia, m.maxKeys + m.maxMedia
}

// ByAge orders keys oldest first, then by ID: the order of [Keys.Keys].
func ByAge(a, b Key) int {
	return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Key.ID, b.Key.ID))
}
