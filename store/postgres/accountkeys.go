package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

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
// under the account's lock, which every replica takes (a transaction's
// advisory lock), so that one replica makes it however many ask at once,
// and generate may be a call whose every extra run costs (a key created
// at an upstream API); the count of accounts and the insert are under a
// second lock every replica takes. The whole is bounded by the store's
// timeout, generate's run included.
func (s *Store) EnsureAccountKey(ctx context.Context, accountID string, max int, generate func() (*token.Key, error)) (*token.Key, error) {
	if k, err := s.AccountKey(ctx, accountID); k != nil || err != nil {
		return k, err
	}
	count := func(ctx context.Context, q querier) (int, error) {
		var n int
		err := q.QueryRow(ctx, "SELECT count(*) FROM streamtoken_account_keys").Scan(&n)
		return n, err
	}
	var kept *token.Key
	var genErr error // generate's own, returned as it is
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := lock(ctx, tx, "account-key/"+accountID); err != nil {
			return err
		}
		// Another replica may have made it while this one waited.
		switch other, err := s.readAccountKey(ctx, tx, accountID); {
		case err != nil:
			return err
		case other != nil:
			return editError{errKept{other}}
		}
		if n, err := count(ctx, tx); err != nil || n >= max {
			return cmp.Or(err, store.ErrAccountLimit)
		}
		made, err := generate()
		if err == nil {
			err = store.CheckAccountKey(made)
		}
		if err != nil {
			genErr = err
			return editError{err}
		}
		pemBytes, err := made.PrivatePEM()
		if err != nil {
			return editError{err}
		}
		if err := lock(ctx, tx, "accounts"); err != nil {
			return err
		}
		if n, err := count(ctx, tx); err != nil || n >= max {
			return cmp.Or(err, store.ErrAccountLimit)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO streamtoken_account_keys (account_id, key_id, sealed, created) VALUES ($1, $2, $3, $4)",
			accountID, made.ID, s.seal(pemBytes, accountKeyAAD(accountID, made.ID)), time.Now().UTC()); err != nil {
			return err
		}
		kept = made
		return notify(ctx, tx, changedAccountKey, accountID)
	})
	var was errKept
	switch {
	case genErr != nil:
		return nil, genErr
	case errors.As(err, &was):
		kept, err = was.key, nil
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.signed[accountID] = kept
	delete(s.none, accountID)
	s.mu.Unlock()
	return kept, nil
}

// ReplaceAccountKey implements [store.AccountKeys]: one UPDATE of the
// account's row, where its key is old, sealed anew; every replica hears
// of it.
func (s *Store) ReplaceAccountKey(ctx context.Context, accountID, old string, k *token.Key) error {
	if err := store.CheckID("account ID", accountID); err != nil {
		return err
	}
	if err := store.CheckAccountKey(k); err != nil {
		return err
	}
	pemBytes, err := k.PrivatePEM()
	if err != nil {
		return err
	}
	sealed := s.seal(pemBytes, accountKeyAAD(accountID, k.ID))
	err = s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE streamtoken_account_keys SET key_id = $3, sealed = $4, created = $5 WHERE account_id = $1 AND key_id = $2",
			accountID, old, k.ID, sealed, time.Now().UTC())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return editError{fmt.Errorf("%w: account %s's key is not %s", store.ErrNoSuchKey, accountID, old)}
		}
		return notify(ctx, tx, changedAccountKey, accountID)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.signed[accountID] = k
	s.mu.Unlock()
	return nil
}

// Lease implements [store.Leases]: one statement, which takes the row of
// the name where it is free at now or held by holder.
func (s *Store) Lease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	if err := store.CheckLease(name, holder, now, until); err != nil {
		return false, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	var got string
	err := s.pool.QueryRow(ctx, `INSERT INTO streamtoken_leases (name, holder, until) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE streamtoken_leases.until <= $4 OR streamtoken_leases.holder = excluded.holder
		RETURNING holder`, name, holder, until.UTC(), now.UTC()).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, unavailable(err)
	}
	return true, nil
}

// Spend implements [store.Budgets]: one statement, which refills the
// name's bucket to now and takes one where one is left.
func (s *Store) Spend(ctx context.Context, name string, burst int, per time.Duration, now time.Time) (bool, int, error) {
	if err := store.CheckBudget(name, burst, per); err != nil {
		return false, 0, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	var held float64
	err := s.pool.QueryRow(ctx, `INSERT INTO streamtoken_budgets (name, held, at) VALUES ($1, $2::double precision - 1, $3)
		ON CONFLICT (name) DO UPDATE SET
			held = LEAST($2::double precision, streamtoken_budgets.held + GREATEST(0, EXTRACT(EPOCH FROM ($3 - streamtoken_budgets.at))) * $2::double precision / $4) - 1,
			at = GREATEST($3, streamtoken_budgets.at)
		WHERE LEAST($2::double precision, streamtoken_budgets.held + GREATEST(0, EXTRACT(EPOCH FROM ($3 - streamtoken_budgets.at))) * $2::double precision / $4) >= 1
		RETURNING held`, name, burst, now.UTC(), per.Seconds()).Scan(&held)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, unavailable(err)
	}
	return true, int(held), nil
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

// errKept carries the key another replica kept out of the transaction
// that found it.
type errKept struct{ key *token.Key }

func (e errKept) Error() string { return "the account's key was kept meanwhile" }
