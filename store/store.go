// Package store keeps a token server's state: the signing keys created
// through the keys API (their public halves), the signing key of each
// account, and the details of the videos and live inputs changed through
// the API. It is read and written through the interfaces here, in the
// package's own types (a store knows nothing of the wire), of two kinds: a
// [KeyStore] ([Keys] and [AccountKeys]: what token issuance, the server's
// core, needs) and a [MediaStore] ([Media], in media.go: what the
// Cloudflare stand-in alone needs); a [Store] is both.
//
// Three implementations, each both kinds, with the media half in a file of
// its own, pass the conformance suites of both (package storetest):
// [Memory], the default, whose state goes with the process; [Dir], files
// in a directory, which a restart reads back; and PostgreSQL (package
// store/postgres), which replicas share. Every implementation bounds what
// it keeps (keys per account, accounts, media per account, bytes) and
// says so with the errors below, never by dropping state.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/token"
)

// Limits that every store enforces, as a server passes them.
const (
	// MaxKeysPerAccount is the most signing keys an account may hold, as
	// on Cloudflare.
	MaxKeysPerAccount = 1000
	// DefaultMaxAccounts is how many accounts a server keeps a generated
	// signing key for, unless told otherwise: each is an RSA key
	// generated (tens of milliseconds of CPU) and kept.
	DefaultMaxAccounts = 10_000
	// MaxMediaPerAccount is the most videos, and the most live inputs,
	// whose details a store keeps per account.
	MaxMediaPerAccount = 10_000
	// MaxDetailsBytes bounds the JSON of one medium's details: the
	// server's bounds on each field (meta at most 16 KiB, origins
	// counted) keep a real one far below it.
	MaxDetailsBytes = 64 << 10
)

// Errors of a store. A store wraps them, so test with errors.Is.
var (
	// ErrKeyLimit: the account already holds as many keys as allowed.
	ErrKeyLimit = errors.New("the account holds the most signing keys it may")
	// ErrNoSuchKey: the account has no key of that ID.
	ErrNoSuchKey = errors.New("no such signing key")
	// ErrKeyExists: a key of that ID exists, in this account or another:
	// a key ID names one key.
	ErrKeyExists = errors.New("a signing key of that ID exists")
	// ErrAccountLimit: signing keys are kept for as many accounts as
	// allowed, and this account has none.
	ErrAccountLimit = errors.New("signing keys are kept for as many accounts as allowed")
	// ErrMediaLimit: the account has changed the details of as many
	// videos (or live inputs) as kept.
	ErrMediaLimit = errors.New("the account has changed the details of as many media as kept")
	// ErrFull: the store holds as many bytes as it may (a [Memory]
	// store's bound).
	ErrFull = errors.New("the store holds as much as it may")
	// ErrAccountQuota: keeping the change would take the account's media
	// (videos and live inputs together) past the bytes each account may
	// keep in the store, so that no one account fills it for the others.
	ErrAccountQuota = errors.New("the account's media hold as many bytes as each account may keep")
	// ErrNoSuchMedium: the store keeps no details of that medium.
	ErrNoSuchMedium = errors.New("no such medium kept")
	// ErrInvalidID: an account, key or medium ID breaks the API's rules
	// (see [CheckID]): every store refuses it before it looks, in every
	// call that takes one.
	ErrInvalidID = errors.New("an ID that breaks the API's rules")
	// ErrTooLarge: a medium's details are over [MaxDetailsBytes].
	ErrTooLarge = errors.New("the details are too large to keep")
	// ErrUnavailable: the store cannot be reached now (a database that is
	// down); the operation may succeed later, unchanged.
	ErrUnavailable = errors.New("the store is unavailable")
	// ErrInvalidWebhook: a webhook's URL that is not one notifications
	// can be sent to.
	ErrInvalidWebhook = errors.New("an invalid webhook")
)

// Key is a signing key created through the keys API, as a store keeps it:
// its public half alone (the private half is handed out once, in the
// create answer), the account it belongs to, and when it was created.
type Key struct {
	AccountID string
	// Key is the public half, with its ID (the kid of the tokens it
	// signs). A store never keeps nor returns a private half.
	Key     *token.Key
	Created time.Time
	// Retired, when set, marks an account's former signing key, rotated
	// out: kept in the account's JWK set so that the tokens it signed
	// verify until they have all expired, which is Retired's time, when
	// it may be deleted (at the upstream, and here). Zero: a key kept
	// until someone deletes it.
	Retired time.Time
}

// Public returns k with the public half of its key alone.
func (k Key) Public() Key {
	if k.Key != nil && k.Key.Private != nil {
		k.Key = &token.Key{ID: k.Key.ID, Public: k.Key.Public}
	}
	return k
}

// Keys keeps the signing keys created through the keys API, per account.
// A server lists an account's keys in its JWK set, so that tokens signed
// with them verify until they are deleted. Implementations are safe for
// concurrent use.
type Keys interface {
	// AddKey keeps k's public half, unless k's account already holds max
	// keys ([ErrKeyLimit]) or any account holds a key of k's ID
	// ([ErrKeyExists]). Two servers on one store never pass max between
	// them.
	AddKey(ctx context.Context, k Key, max int) error
	// Keys returns an account's keys, oldest first (then by ID).
	Keys(ctx context.Context, accountID string) ([]Key, error)
	// DeleteKey removes an account's key, or says [ErrNoSuchKey].
	DeleteKey(ctx context.Context, accountID, keyID string) error
	// AllKeys returns every account's keys: by account ID, then oldest
	// first.
	AllKeys(ctx context.Context) ([]Key, error)
}

// AccountKeys keeps the signing key of each account that has none of the
// operator's, generated on the account's first token: so that a restart,
// or another replica on the same store, signs the account's tokens with
// the same key. Implementations are safe for concurrent use.
type AccountKeys interface {
	// AccountKey returns the account's key (private), or nil when it has
	// none.
	AccountKey(ctx context.Context, accountID string) (*token.Key, error)
	// EnsureAccountKey returns the account's key, calling generate for
	// one and keeping it when the account has none. generate runs under
	// the account's lock, which every server on the store takes: when
	// callers (or servers) race, it runs once and all get its key, so
	// that it may be a call whose every run costs (a key created at an
	// upstream API); an error of its own is returned as it is, and the
	// next caller tries again. When max accounts have a key already it is
	// [ErrAccountLimit], and generate is not called.
	EnsureAccountKey(ctx context.Context, accountID string, max int, generate func() (*token.Key, error)) (*token.Key, error)
	// ReplaceAccountKey makes k the account's key in place of the key of
	// ID old (a key deleted at the upstream, or rotated out), or says
	// [ErrNoSuchKey] when the account's key is not that one (another
	// caller replaced it first: read it again). k is checked as
	// EnsureAccountKey's are. Every server on the store reads the new
	// key from then on.
	ReplaceAccountKey(ctx context.Context, accountID, old string, k *token.Key) error
}

// RefusalReason names the refusal for room err is, as a metric's label
// would ("store_full", "account_quota", "media_limit"), or "" when it is
// none of them (nil, or any other error).
func RefusalReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrFull):
		return "store_full"
	case errors.Is(err, ErrAccountQuota):
		return "account_quota"
	case errors.Is(err, ErrMediaLimit):
		return "media_limit"
	}
	return ""
}

// KeyStore is what token issuance and its key sets need of a store: the
// keys created through the keys API and the accounts' signing keys.
type KeyStore interface {
	Keys
	AccountKeys
	// Close lets go of what the store holds (connections, a listener);
	// calling it twice is safe.
	Close() error
}

// Store is a KeyStore and a MediaStore in one: every store of this module
// is, and a server's state is in one place.
type Store interface {
	KeyStore
	MediaStore
}

// CheckID refuses an account, video, live-input or key ID that breaks the
// API's rules (what names it, then the ID, in the error): every store
// keeps only IDs that are also safe file names.
func CheckID(what, id string) error {
	if why := ids.Check(id); why != "" {
		return &invalidIDError{what: what, id: id, why: why}
	}
	return nil
}

// invalidIDError is an ID CheckID refuses; it matches ErrInvalidID.
type invalidIDError struct{ what, id, why string }

func (e *invalidIDError) Error() string {
	return fmt.Sprintf("store: %s %s: %s", e.what, strconv.Quote(e.id), e.why)
}

func (e *invalidIDError) Is(target error) bool { return target == ErrInvalidID }

// CheckKey refuses a key a store would not keep: an account or key ID
// that breaks the API's rules, or no public half.
func CheckKey(k Key) error {
	if err := CheckID("account ID", k.AccountID); err != nil {
		return err
	}
	if k.Key == nil || k.Key.Public == nil {
		return errors.New("store: a key without its public half")
	}
	return CheckID("key ID", k.Key.ID)
}

// CheckAccountKey refuses an account's signing key a store would not
// keep: no private half, or an ID that breaks the API's rules.
func CheckAccountKey(k *token.Key) error {
	if k == nil || k.Private == nil {
		return errors.New("store: an account's signing key must be private")
	}
	return CheckID("key ID", k.ID)
}
