package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/streamtoken/streamtoken/store"
)

// webhookAAD binds a sealed secret to its account: a row's secret copied
// to another account does not open.
func webhookAAD(accountID string) []byte {
	return []byte("streamtoken webhook secret\x00" + accountID)
}

// Webhook implements [store.Webhooks].
func (s *Store) Webhook(ctx context.Context, accountID string) (store.Webhook, bool, error) {
	if err := store.CheckID("account", accountID); err != nil {
		return store.Webhook{}, false, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	var w store.Webhook
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT url, secret, modified FROM streamtoken_webhooks WHERE account_id = $1`, accountID).Scan(&w.URL, &sealed, &w.Modified)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Webhook{}, false, nil
	}
	if err != nil {
		return store.Webhook{}, false, unavailable(err)
	}
	secret, err := s.open(sealed, webhookAAD(accountID))
	if err != nil {
		return store.Webhook{}, false, fmt.Errorf("account %s's webhook secret: %w", accountID, err)
	}
	w.Secret = string(secret)
	return w, true, nil
}

// SetWebhook implements [store.Webhooks]: the secret is sealed under the
// key-encryption key.
func (s *Store) SetWebhook(ctx context.Context, accountID string, w store.Webhook) error {
	if err := store.CheckWebhook(accountID, w); err != nil {
		return err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO streamtoken_webhooks (account_id, url, secret, modified) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, modified = excluded.modified`,
		accountID, w.URL, s.seal([]byte(w.Secret), webhookAAD(accountID)), w.Modified.UTC())
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// DeleteWebhook implements [store.Webhooks].
func (s *Store) DeleteWebhook(ctx context.Context, accountID string) (bool, error) {
	if err := store.CheckID("account", accountID); err != nil {
		return false, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `DELETE FROM streamtoken_webhooks WHERE account_id = $1`, accountID)
	if err != nil {
		return false, unavailable(err)
	}
	return tag.RowsAffected() == 1, nil
}
