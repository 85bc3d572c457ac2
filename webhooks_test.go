package streamtoken_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
	"github.com/streamtoken/streamtoken/webhook"
)

func TestClientWebhook(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	const account = "023e105f4ecef8ad9ca31a8372d0c353"
	if _, err := c.Webhook(ctx, account); !errors.Is(err, streamtoken.ErrNotFound) {
		t.Errorf("Webhook() without one = %v, want ErrNotFound", err)
	}
	w, err := c.SetWebhook(ctx, account, "https://example.com/hook")
	if err != nil || w.NotificationURL != "https://example.com/hook" || len(w.Secret.Reveal()) != 32 || w.Modified.IsZero() {
		t.Fatalf("SetWebhook() = %v, %v", w, err)
	}
	again, err := c.Webhook(ctx, account)
	if err != nil || again.Secret != w.Secret || again.NotificationURL != w.NotificationURL {
		t.Errorf("Webhook() = %v, %v; want the one set", again, err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("webhook", "w", w)
	for _, printed := range []string{fmt.Sprint(w), fmt.Sprintf("%+v %#v", *w, *w), logged.String()} {
		if strings.Contains(printed, w.Secret.Reveal()) {
			t.Errorf("a printed Webhook shows its secret: %s", printed)
		}
	}
	for _, bad := range []string{"", "example.com/hook", "ftp://example.com/", "https://u:p@example.com/", "https://" + strings.Repeat("a", 2050)} {
		var v *token.ValidationError
		if _, err := c.SetWebhook(ctx, account, bad); !errors.As(err, &v) || v.Violations[0].Field != "notificationUrl" {
			t.Errorf("SetWebhook(%.30q) = %v; want a ValidationError of notificationUrl", bad, err)
		}
	}
	if err := c.DeleteWebhook(ctx, account); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteWebhook(ctx, account); !errors.Is(err, streamtoken.ErrNotFound) {
		t.Errorf("DeleteWebhook() twice = %v, want ErrNotFound", err)
	}
}

// A test of one's own webhook handler: the fake makes a video ready and
// sends the signed notification to the handler on loopback.
func TestFakeNotifiesAWebhookHandler(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	const account, video = "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a"
	var mu sync.Mutex
	var secret webhook.Secret
	var got []*webhook.Notification
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := secret
		mu.Unlock()
		webhook.Handler(s, func(_ context.Context, n *webhook.Notification) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, n)
			return nil
		}).ServeHTTP(w, r)
	}))
	defer receiver.Close()
	hook, err := srv.NewClient().SetWebhook(ctx, account, receiver.URL)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = hook.Secret
	mu.Unlock()
	if err := srv.MarkVideoReady(account, video); err != nil {
		t.Fatal(err)
	}
	if err := srv.MarkVideoFailed(account, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "ERR_NON_VIDEO", "The upload is not a video"); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitForWebhooks(wait); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || srv.WebhookDeliveries()["delivered"] != 2 {
		t.Fatalf("%d notifications handled, deliveries %v", len(got), srv.WebhookDeliveries())
	}
	states := map[string]string{got[0].UID: got[0].Status.State, got[1].UID: got[1].Status.State}
	if states[video] != "ready" || states["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"] != "error" {
		t.Errorf("notified states %v", states)
	}
}
