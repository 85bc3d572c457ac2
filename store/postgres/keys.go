package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

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
		var retired *time.Time
		if !k.Retired.IsZero() {
			r := k.Retired.UTC()
			retired = &r
		}
		_, err := tx.Exec(ctx, "INSERT INTO streamtoken_keys (key_id, account_id, public_jwk, created, retired) VALUES ($1, $2, $3, $4, $5)",
			k.Key.ID, k.AccountID, string(k.Key.PublicJWK()), k.Created.UTC(), retired)
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
	rows, err := s.pool.Query(ctx, "SELECT account_id, public_jwk, created, retired FROM streamtoken_keys "+where+" ORDER BY account_id, created, key_id", args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var keys []store.Key
	for rows.Next() {
		var k store.Key
		var jwk string
		var retired *time.Time
		if err := rows.Scan(&k.AccountID, &jwk, &k.Created, &retired); err != nil {
			return nil, unavailable(err)
		}
		if retired != nil {
			k.Retired = retired.UTC()
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
