package standin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
	"github.com/streamtoken/streamtoken/webhook"
)

// GetWebhook answers the account's webhook, its secret among it (as
// Cloudflare's does), or a 404 (1022).
func (ms *Service) GetWebhook(ctx context.Context, req gen.GetWebhookRequestObject) (gen.GetWebhookResponseObject, error) {
	if p := server.Refuse(ctx, req.AccountID); p != nil {
		return gen.GetWebhook4XXJSONResponse{Body: server.Envelope([]server.Problem{*p}), StatusCode: p.Status}, nil
	}
	w, ok, err := ms.webhookStore().Webhook(ctx, req.AccountID)
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading the webhook of account %s: %w", req.AccountID, err)
	case !ok:
		p := noWebhook(req.AccountID)
		return gen.GetWebhook4XXJSONResponse{Body: server.Envelope([]server.Problem{p}), StatusCode: p.Status}, nil
	}
	return gen.GetWebhook200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: wireWebhook(w)}, nil
}

// SetWebhook sets the account's webhook with a new secret, and answers it.
func (ms *Service) SetWebhook(ctx context.Context, req gen.SetWebhookRequestObject) (gen.SetWebhookResponseObject, error) {
	fail := func(ps ...server.Problem) gen.SetWebhookResponseObject {
		return gen.SetWebhook4XXJSONResponse{Body: server.Envelope(ps), StatusCode: ps[0].Status}
	}
	if p := server.Refuse(ctx, req.AccountID); p != nil {
		return fail(*p), nil
	}
	raw, field, vs := notificationURL(req.Body)
	if vs == nil {
		if why := refusedURL(raw, ms.deliveries != nil && ms.deliveries.AllowPrivate); why != "" {
			vs = []token.Violation{token.FieldViolation(why, field)}
		}
	}
	if vs != nil {
		return fail(server.Violations(vs, 0)...), nil
	}
	w := store.Webhook{URL: raw, Secret: newWebhookSecret(), Modified: ms.now()}
	switch err := ms.webhookStore().SetWebhook(ctx, req.AccountID, w); {
	case errors.Is(err, store.ErrFull) || errors.Is(err, store.ErrAccountQuota):
		p, _ := server.StoreRefusal(err)
		return fail(p), nil
	case err != nil:
		return nil, fmt.Errorf("setting the webhook of account %s: %w", req.AccountID, err)
	}
	return gen.SetWebhook200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: wireWebhook(w)}, nil
}

// DeleteWebhook deletes the account's webhook, or answers a 404 (1022).
func (ms *Service) DeleteWebhook(ctx context.Context, req gen.DeleteWebhookRequestObject) (gen.DeleteWebhookResponseObject, error) {
	if p := server.Refuse(ctx, req.AccountID); p != nil {
		return gen.DeleteWebhook4XXJSONResponse{Body: server.Envelope([]server.Problem{*p}), StatusCode: p.Status}, nil
	}
	had, err := ms.webhookStore().DeleteWebhook(ctx, req.AccountID)
	switch {
	case err != nil:
		return nil, fmt.Errorf("deleting the webhook of account %s: %w", req.AccountID, err)
	case !had:
		p := noWebhook(req.AccountID)
		return gen.DeleteWebhook4XXJSONResponse{Body: server.Envelope([]server.Problem{p}), StatusCode: p.Status}, nil
	}
	return gen.DeleteWebhook200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: "ok"}, nil
}

// webhookStore is where the webhooks are kept: the one Mount chose, or,
// for a Service used without being mounted, Webhooks or the Store's.
func (ms *Service) webhookStore() store.Webhooks {
	switch {
	case ms.webhooks != nil:
		return ms.webhooks
	case ms.Webhooks != nil:
		return ms.Webhooks
	}
	if w, ok := ms.Store.(store.Webhooks); ok {
		return w
	}
	return noWebhooks{}
}

// noWebhooks keeps none: a Service neither mounted nor given a store
// that keeps webhooks.
type noWebhooks struct{}

var errNoWebhookStore = errors.New("standin: this Service keeps no webhooks: mount it on a server, or give it Webhooks")

func (noWebhooks) Webhook(context.Context, string) (store.Webhook, bool, error) {
	return store.Webhook{}, false, nil
}
func (noWebhooks) SetWebhook(context.Context, string, store.Webhook) error { return errNoWebhookStore }
func (noWebhooks) DeleteWebhook(context.Context, string) (bool, error)     { return false, nil }

func noWebhook(accountID string) server.Problem {
	return server.Problem{Status: http.StatusNotFound, Code: apicode.NoWebhook, Message: "account " + accountID + " has no webhook"}
}

// wireWebhook is a webhook as the API answers it: the URL under both
// names.
func wireWebhook(w store.Webhook) gen.Webhook {
	return gen.Webhook{NotificationURL: w.URL, NotificationURLSnake: w.URL, Modified: w.Modified, Secret: w.Secret}
}

// newWebhookSecret is 16 random bytes in hex, the form of Cloudflare's.
func newWebhookSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// notificationURL is the body's URL and the field that gave it:
// notificationUrl or notification_url, the same URL when both are given.
func notificationURL(body *gen.WebhookRequest) (string, string, []token.Violation) {
	var camel, snake string
	if body != nil && body.NotificationURL != nil {
		camel = *body.NotificationURL
	}
	if body != nil && body.NotificationURLSnake != nil {
		snake = *body.NotificationURLSnake
	}
	raw, field := camel, "notificationUrl"
	switch {
	case camel == "" && snake == "":
		return "", "", []token.Violation{token.FieldViolation("is required (or notification_url)", "notificationUrl")}
	case camel == "":
		raw, field = snake, "notification_url"
	case snake != "" && snake != camel:
		return "", "", []token.Violation{token.FieldViolation("is not the URL notificationUrl gives: give one of the two", "notification_url")}
	}
	if why := webhook.CheckURL(raw); why != "" {
		return "", "", []token.Violation{token.FieldViolation(why, field)}
	}
	return raw, field, nil
}

// refusedURL says why a notification URL is refused before any
// delivery: a host that is loopback or a private address by its name or
// its literal IP, unless private addresses are allowed. Names are not
// resolved here: every delivery checks the address it connects to.
func refusedURL(raw string, allowPrivate bool) string {
	if allowPrivate {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "does not parse"
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return "is on localhost, where notifications are not sent (serve --allow-private-webhooks allows it, for tests and demos)"
	}
	if ip, err := netip.ParseAddr(host); err == nil && !publicAddr(ip) {
		return "is on a loopback or private address, where notifications are not sent (serve --allow-private-webhooks allows it, for tests and demos)"
	}
	return ""
}

// SetVideoStatus sets a video's processing status as Cloudflare's
// processing would end it, ready (readyToStream) or error (with its reason
// code and text), and notifies the account's webhook. The API has no such
// operation: it is for tests of a webhook receiver
// (streamtokentest.Server's MarkVideoReady and MarkVideoFailed).
func (ms *Service) SetVideoStatus(ctx context.Context, accountID, videoID string, status gen.VideoStatus) error {
	if err := store.CheckMedium(store.Video, accountID, videoID); err != nil {
		return err
	}
	switch {
	case status.State != gen.VideoStateReady && status.State != gen.VideoStateError:
		return fmt.Errorf("standin: a video's processing ends ready or error, not %q", status.State)
	case status.State == gen.VideoStateReady && (status.ErrorReasonCode != nil || status.ErrorReasonText != nil):
		return errors.New("standin: a ready video has no error reason")
	case status.ErrorReasonCode != nil && len(*status.ErrorReasonCode) > 64, status.ErrorReasonText != nil && len(*status.ErrorReasonText) > 1024:
		return errors.New("standin: an error reason's code is at most 64 bytes, its text 1,024")
	}
	if ms.Videos != nil && !ms.Videos(accountID, videoID) {
		return fmt.Errorf("standin: video %s of account %s does not exist here", videoID, accountID)
	}
	now := ms.now()
	v, p, err := editMedium(ctx, ms, store.Video, accountID, videoID, func() gen.Video { return firstVideo(videoID, now) }, func(v *gen.Video) {
		v.Status = &status
		v.ReadyToStream = new(status.State == gen.VideoStateReady)
		v.Modified = now
	})
	switch {
	case p != nil:
		return fmt.Errorf("standin: %s", p.Message)
	case err != nil:
		return err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ms.deliveries.notify(context.WithoutCancel(ctx), accountID, videoID, body)
	return nil
}

// WebhookDeliveries are the Service's deliveries of notifications, once
// it is mounted: to wait for them ([Deliveries.Wait]) or count them.
func (ms *Service) WebhookDeliveries() *Deliveries { return ms.deliveries }

// Close stops the deliveries of notifications (see [Deliveries.Close]).
func (ms *Service) Close() {
	if ms.deliveries != nil {
		ms.deliveries.Close()
	}
}
