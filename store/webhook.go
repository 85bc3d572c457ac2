package store

import (
	"context"
	"fmt"
	"time"

	"github.com/streamtoken/streamtoken/webhook"
)

// Webhook is an account's webhook, as the stand-in keeps it: where its
// notifications go, and the secret they are signed with. String redacts
// the secret.
type Webhook struct {
	URL      string
	Secret   string
	Modified time.Time
}

// String describes the webhook without its secret.
func (w Webhook) String() string {
	return fmt.Sprintf("store.Webhook{URL: %q, Modified: %s, Secret: [redacted]}", w.URL, w.Modified.UTC().Format(time.RFC3339))
}

// GoString is String, for %#v.
func (w Webhook) GoString() string { return w.String() }

// Webhooks keep each account's one webhook: the stand-in's (a gateway
// forwards the webhook's operations to its upstream). The secret is kept
// as a secret (sealed under the key-encryption key in PostgreSQL).
// Implementations are safe for concurrent use.
type Webhooks interface {
	// Webhook returns the account's webhook, and whether it has one.
	Webhook(ctx context.Context, accountID string) (Webhook, bool, error)
	// SetWebhook sets the account's webhook, replacing any it had.
	SetWebhook(ctx context.Context, accountID string, w Webhook) error
	// DeleteWebhook deletes the account's webhook, and reports whether it
	// had one.
	DeleteWebhook(ctx context.Context, accountID string) (bool, error)
}

// Bounds of a webhook.
const (
	MaxWebhookURL    = webhook.MaxURLBytes
	MaxWebhookSecret = 256
)

// CheckWebhook checks what every store checks of a webhook before it
// keeps it: the account's ID, a URL webhook.CheckURL takes, and a secret
// of 1 to MaxWebhookSecret bytes. Errors never hold the secret.
func CheckWebhook(accountID string, w Webhook) error {
	if err := CheckID("account", accountID); err != nil {
		return err
	}
	if err := checkWebhookURL(w.URL); err != nil {
		return err
	}
	if w.Secret == "" || len(w.Secret) > MaxWebhookSecret {
		return fmt.Errorf("%w: a webhook's secret is 1 to %d bytes", ErrTooLarge, MaxWebhookSecret)
	}
	return nil
}

// checkWebhookURL checks a notification URL by webhook.CheckURL, its
// length first.
func checkWebhookURL(raw string) error {
	if len(raw) > MaxWebhookURL {
		return fmt.Errorf("%w: a notification URL is at most %d bytes, not %d", ErrTooLarge, MaxWebhookURL, len(raw))
	}
	if why := webhook.CheckURL(raw); why != "" {
		return fmt.Errorf("%w: the notification URL %s", ErrInvalidWebhook, why)
	}
	return nil
}
