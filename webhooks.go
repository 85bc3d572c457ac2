package streamtoken

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/token"
	"github.com/streamtoken/streamtoken/webhook"
)

// Webhook is an account's webhook: where Stream sends a notification
// when a video is ready to stream or has failed, and the secret that
// signs them (verify them with package webhook). Printed or logged, it
// shows no secret.
type Webhook struct {
	// NotificationURL is where notifications go.
	NotificationURL string
	// Modified is when the webhook was last set.
	Modified time.Time
	// Secret signs the notifications. It redacts itself; Secret.Reveal()
	// is its value.
	Secret webhook.Secret
}

// String describes the webhook without its secret.
func (w Webhook) String() string {
	return fmt.Sprintf("streamtoken.Webhook{NotificationURL: %q, Modified: %s, Secret: %s}", w.NotificationURL, w.Modified.UTC().Format(time.RFC3339), w.Secret)
}

// GoString is String, for %#v.
func (w Webhook) GoString() string { return w.String() }

// LogValue keeps the secret out of log/slog output.
func (w Webhook) LogValue() slog.Value {
	return slog.GroupValue(slog.String("notification_url", w.NotificationURL), slog.Time("modified", w.Modified))
}

// SetWebhook sets the account's webhook to notificationURL (an absolute
// http or https URL), replacing any it had, and returns it with its new
// secret: every call makes another, so keep the last one's. The URL is
// checked before sending. Like a key's create, it is retried only when it
// cannot have been processed, so that a retry never hands back a secret
// that an earlier try already replaced.
func (c *Client) SetWebhook(ctx context.Context, accountID, notificationURL string) (*Webhook, error) {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}); err != nil {
		return nil, err
	}
	if why := webhook.CheckURL(notificationURL); why != "" {
		return nil, fmt.Errorf("streamtoken: %w", &token.ValidationError{Violations: []token.Violation{{Field: "notificationUrl", Problem: why}}})
	}
	var w *Webhook
	err := c.exchange(withoutReplay(ctx),
		func(ctx context.Context) (*http.Response, error) {
			return c.gen.SetWebhook(ctx, accountID, gen.WebhookRequest{NotificationURL: &notificationURL})
		},
		func(raw []byte) bool { w = decodeWebhook(raw); return w != nil })
	return w, err
}

// Webhook returns the account's webhook, its secret among it. An account
// without one is an *APIError matching ErrNotFound.
func (c *Client) Webhook(ctx context.Context, accountID string) (*Webhook, error) {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}); err != nil {
		return nil, err
	}
	var w *Webhook
	err := c.exchange(ctx,
		func(ctx context.Context) (*http.Response, error) { return c.gen.GetWebhook(ctx, accountID) },
		func(raw []byte) bool { w = decodeWebhook(raw); return w != nil })
	return w, err
}

// DeleteWebhook deletes the account's webhook: no notification is sent
// after it. An account without one is an *APIError matching ErrNotFound.
// It is retried only when it cannot have been processed.
func (c *Client) DeleteWebhook(ctx context.Context, accountID string) error {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}); err != nil {
		return err
	}
	return c.exchange(withoutReplay(ctx),
		func(ctx context.Context) (*http.Response, error) {
			return c.gen.DeleteWebhookWithBody(ctx, accountID, "application/json", http.NoBody)
		},
		func(raw []byte) bool {
			var env gen.DeletedResponse
			return json.Unmarshal(raw, &env) == nil && bool(env.Success)
		})
}

// decodeWebhook reads a webhook's envelope, taking the URL by either of
// its names; nil when it is not one.
func decodeWebhook(raw []byte) *Webhook {
	var env struct {
		Success bool `json:"success"`
		Result  struct {
			Camel    string    `json:"notificationUrl"`
			Snake    string    `json:"notification_url"`
			Modified time.Time `json:"modified"`
			Secret   string    `json:"secret"`
		} `json:"result"`
	}
	if json.Unmarshal(raw, &env) != nil || !env.Success {
		return nil
	}
	r := env.Result
	u := r.Camel
	if u == "" {
		u = r.Snake
	}
	if u == "" {
		return nil
	}
	return &Webhook{NotificationURL: u, Modified: r.Modified, Secret: webhook.Secret(r.Secret)}
}
