package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// KeyService is the service of the signing-keys operations
// ([gen.KeyOperations]): create (an RSA-2048 key, answered once with its
// private half), list and delete, per account, on a [store.Keys], which
// keeps the public halves alone. A server of one's own embeds it, as
// [Server] does. Like [TokenService], it fails closed: no [Caller] in
// the context is a 401, a caller not allowed for the account a 403.
type KeyService struct {
	// Store keeps the keys' public halves. Required.
	Store store.Keys
	// Now dates created keys. Nil: time.Now.
	Now func() time.Time
	// Generate makes a key. Nil: token.GenerateKey.
	Generate func() (*token.Key, error)
	// MaxPerAccount caps the keys of an account. Zero:
	// store.MaxKeysPerAccount.
	MaxPerAccount int
	// Queue, when set, gives each generation its turn among the
	// signatures (a key costs dozens of them): a flood of creates then
	// waits in line, or is answered 429 with Retry-After, rather than
	// slow every token down. Nil: keys are generated at once.
	Queue *SigningQueue

	mu       sync.Mutex              // guards accounts alone: never held across the store's I/O
	accounts map[string]*accountKeys // while in use: what one account's creates share
}

// accountKeys is one account's lock on its key count, and its creates
// under way: an account's creates wait for each other, never for
// another account's.
type accountKeys struct {
	sync.Mutex
	reserved int // creates under way; with the lock held
	users    int // holders, waiters and reservations; with KeyService.mu held
}

// lock takes the account's lock, as one more user.
func (ks *KeyService) lock(accountID string) *accountKeys {
	ks.mu.Lock()
	if ks.accounts == nil {
		ks.accounts = map[string]*accountKeys{}
	}
	a := ks.accounts[accountID]
	if a == nil {
		a = &accountKeys{}
		ks.accounts[accountID] = a
	}
	a.users++
	ks.mu.Unlock()
	a.Lock()
	return a
}

// unlock lets the account's lock go, as a user.
func (ks *KeyService) unlock(accountID string, a *accountKeys) {
	a.Unlock()
	ks.drop(accountID, a, 1)
}

// drop counts n users fewer, and forgets the account's entry when none
// is left.
func (ks *KeyService) drop(accountID string, a *accountKeys, n int) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if a.users -= n; a.users == 0 {
		delete(ks.accounts, accountID)
	}
}

// ListSigningKeys answers the account's keys, oldest first, without their
// private halves.
func (ks *KeyService) ListSigningKeys(ctx context.Context, req gen.ListSigningKeysRequestObject) (gen.ListSigningKeysResponseObject, error) {
	if p := Refuse(ctx, req.AccountID); p != nil {
		return gen.ListSigningKeys4XXJSONResponse{Body: Envelope([]Problem{*p}), StatusCode: p.Status}, nil
	}
	keys, err := ks.Store.Keys(ctx, req.AccountID)
	if err != nil {
		return nil, fmt.Errorf("listing the keys of account %s: %w", req.AccountID, err)
	}
	result := make([]gen.SigningKeyInfo, len(keys))
	for i, k := range keys {
		result[i] = gen.SigningKeyInfo{ID: k.Key.ID, KeyID: &k.Key.ID, Created: k.Created.UTC()}
	}
	return gen.ListSigningKeys200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: result}, nil
}

// CreateSigningKey makes a key, keeps its public half, and answers it in
// the API's forms: base64 of its PEM and of its JWK (whose kid is its ID).
// It is the only answer that holds the private half: the server keeps
// none, as Cloudflare keeps none.
func (ks *KeyService) CreateSigningKey(ctx context.Context, req gen.CreateSigningKeyRequestObject) (gen.CreateSigningKeyResponseObject, error) {
	fail := func(ps ...Problem) gen.CreateSigningKeyResponseObject {
		return gen.CreateSigningKey4XXJSONResponse{Body: Envelope(ps), StatusCode: ps[0].Status}
	}
	if p := Refuse(ctx, req.AccountID); p != nil {
		return fail(*p), nil
	}
	max := ks.MaxPerAccount
	if max <= 0 {
		max = store.MaxKeysPerAccount
	}
	// The generation's turn first: while another key is made, or the
	// signatures' line is too long, the answer is a 429.
	release, err := ks.turn(ctx)
	var overload *OverloadError
	switch {
	case errors.As(err, &overload):
		return overloaded{retryAfter: overload.RetryAfter}, nil
	case err != nil:
		return clientGone{}, nil
	}
	// The turn is the key's making alone: the store's I/O after it holds
	// no other create, of any account, back.
	release = sync.OnceFunc(release)
	defer release()
	// Counted before the key is made, with the creates under way: a full
	// account costs no RSA work, however many creates arrive at once.
	switch full, err := ks.reserve(ctx, req.AccountID, max); {
	case err != nil:
		return nil, err
	case full:
		return fail(keyLimit(max)), nil
	}
	generate := token.GenerateKey
	if ks.Generate != nil {
		generate = ks.Generate
	}
	key, err := generate()
	release()
	if err != nil {
		ks.unreserve(req.AccountID)
		return nil, fmt.Errorf("generating a key: %w", err)
	}
	now := time.Now
	if ks.Now != nil {
		now = ks.Now
	}
	created := now().UTC().Truncate(time.Second)
	switch err := ks.keep(ctx, store.Key{AccountID: req.AccountID, Key: key, Created: created}, max); {
	case errors.Is(err, store.ErrKeyLimit):
		return fail(keyLimit(max)), nil
	case errors.Is(err, store.ErrFull):
		return fail(storeFull()), nil
	case err != nil:
		return nil, fmt.Errorf("keeping a key of account %s: %w", req.AccountID, err)
	}
	result, err := apiKey(key, created)
	if err != nil {
		return nil, err
	}
	return gen.CreateSigningKey200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: result}, nil
}

// reserve counts the account's keys and the creates under way, and
// reserves a place for one more unless that makes max: then full. Only
// the account's own creates wait for it.
func (ks *KeyService) reserve(ctx context.Context, accountID string, max int) (full bool, err error) {
	a := ks.lock(accountID)
	defer ks.unlock(accountID, a)
	held, err := ks.Store.Keys(ctx, accountID)
	if err != nil {
		return false, fmt.Errorf("listing the keys of account %s: %w", accountID, err)
	}
	if len(held)+a.reserved >= max {
		return true, nil
	}
	a.reserved++
	ks.mu.Lock()
	a.users++ // the reservation keeps the entry until keep or unreserve
	ks.mu.Unlock()
	return false, nil
}

// unreserve gives a reserved place back.
func (ks *KeyService) unreserve(accountID string) {
	a := ks.lock(accountID)
	a.reserved--
	a.Unlock()
	ks.drop(accountID, a, 2) // this call's use, and the reservation's
}

// keep adds a created key to the store in the place reserved for it, in
// one step under the account's lock: a count never sees both the key and
// its reservation.
func (ks *KeyService) keep(ctx context.Context, k store.Key, max int) error {
	a := ks.lock(k.AccountID)
	err := ks.Store.AddKey(ctx, k, max)
	a.reserved--
	a.Unlock()
	ks.drop(k.AccountID, a, 2)
	return err
}

// turn waits for a generation's turn in the queue, when there is one: an
// *OverloadError, or ctx's error, when there is none to have.
func (ks *KeyService) turn(ctx context.Context) (release func(), err error) {
	if ks.Queue == nil {
		return func() {}, nil
	}
	return ks.Queue.AcquireKeyGeneration(ctx)
}

// apiKey is a key as the create-key operation answers it: base64 of its
// PEM and of its JWK (whose kid is its ID), and when it was created.
func apiKey(k *token.Key, created time.Time) (gen.SigningKey, error) {
	pemBytes, err := k.PrivatePEM()
	if err != nil {
		return gen.SigningKey{}, err
	}
	jwkBytes, err := k.PrivateJWK()
	if err != nil {
		return gen.SigningKey{}, err
	}
	return gen.SigningKey{
		ID:      k.ID,
		PEM:     base64.StdEncoding.EncodeToString(pemBytes),
		JWK:     base64.StdEncoding.EncodeToString(jwkBytes),
		Created: created.UTC(),
	}, nil
}

// DeleteSigningKey deletes an account's key: it leaves the JWK set at once.
func (ks *KeyService) DeleteSigningKey(ctx context.Context, req gen.DeleteSigningKeyRequestObject) (gen.DeleteSigningKeyResponseObject, error) {
	fail := func(ps ...Problem) gen.DeleteSigningKeyResponseObject {
		return gen.DeleteSigningKey4XXJSONResponse{Body: Envelope(ps), StatusCode: ps[0].Status}
	}
	if p := Refuse(ctx, req.AccountID); p != nil {
		return fail(*p), nil
	}
	switch err := ks.Store.DeleteKey(ctx, req.AccountID, req.Identifier); {
	case errors.Is(err, store.ErrNoSuchKey):
		return fail(Problem{Status: http.StatusNotFound, Code: apicode.NoSuchKey,
			Message: fmt.Sprintf("account %s has no signing key %s", req.AccountID, req.Identifier)}), nil
	case err != nil:
		return nil, fmt.Errorf("deleting a key of account %s: %w", req.AccountID, err)
	}
	return gen.DeleteSigningKey200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: "ok"}, nil
}

func keyLimit(max int) Problem {
	return Problem{Status: http.StatusBadRequest, Code: apicode.KeyLimit,
		Message: fmt.Sprintf("the account holds %d signing keys, the most it may: delete one first", max)}
}
