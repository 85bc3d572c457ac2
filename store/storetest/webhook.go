package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/store"
)

// webhooks: one webhook per account, replaced whole, deleted once, kept
// across a restart and seen by another instance on the same backing
// store; bad URLs, secrets and IDs refused before anything is kept.
func (s *suite) webhooks(t *testing.T) {
	ctx := context.Background()
	st, open := s.open(t)
	if _, ok, err := st.Webhook(ctx, accountA); ok || err != nil {
		t.Fatalf("Webhook(A) of an empty store = %v, %v", ok, err)
	}
	if had, err := st.DeleteWebhook(ctx, accountA); had || err != nil {
		t.Fatalf("DeleteWebhook(A) of an empty store = %v, %v", had, err)
	}
	at := day.Add(time.Hour)
	first := store.Webhook{URL: "https://a.example/hook", Secret: "secret-1", Modified: at}
	if err := st.SetWebhook(ctx, accountA, first); err != nil {
		t.Fatal(err)
	}
	second := store.Webhook{URL: "https://a.example/other?x=1", Secret: "secret-2", Modified: at.Add(time.Minute)}
	if err := st.SetWebhook(ctx, accountA, second); err != nil {
		t.Fatal(err)
	}
	same := func(got, want store.Webhook) bool {
		return got.URL == want.URL && got.Secret == want.Secret && got.Modified.Equal(want.Modified)
	}
	if got, ok, err := st.Webhook(ctx, accountA); !ok || err != nil || !same(got, second) {
		t.Errorf("Webhook(A) after two sets = %v, %v, %v; want the second", got, ok, err)
	}
	if _, ok, err := st.Webhook(ctx, accountB); ok || err != nil {
		t.Errorf("Webhook(B) = %v, %v: accounts are apart", ok, err)
	}

	for name, c := range map[string]struct {
		account string
		w       store.Webhook
		want    error
	}{
		"bad account":     {"a/b", first, store.ErrInvalidID},
		"no scheme":       {accountB, store.Webhook{URL: "a.example/hook", Secret: "s", Modified: at}, store.ErrInvalidWebhook},
		"ftp":             {accountB, store.Webhook{URL: "ftp://a.example/hook", Secret: "s", Modified: at}, store.ErrInvalidWebhook},
		"user":            {accountB, store.Webhook{URL: "https://u:p@a.example/hook", Secret: "s", Modified: at}, store.ErrInvalidWebhook},
		"no host":         {accountB, store.Webhook{URL: "https:///hook", Secret: "s", Modified: at}, store.ErrInvalidWebhook},
		"URL too long":    {accountB, store.Webhook{URL: "https://a.example/" + strings.Repeat("x", store.MaxWebhookURL), Secret: "s", Modified: at}, store.ErrTooLarge},
		"no secret":       {accountB, store.Webhook{URL: "https://a.example/hook", Modified: at}, store.ErrTooLarge},
		"secret too long": {accountB, store.Webhook{URL: "https://a.example/hook", Secret: strings.Repeat("s", store.MaxWebhookSecret+1), Modified: at}, store.ErrTooLarge},
	} {
		err := st.SetWebhook(ctx, c.account, c.w)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: SetWebhook = %v, want %v", name, err, c.want)
		}
		if err != nil && c.w.Secret != "" && strings.Contains(err.Error(), c.w.Secret) && len(c.w.Secret) > 1 {
			t.Errorf("%s: the error quotes the secret", name)
		}
	}
	if _, ok, _ := st.Webhook(ctx, accountB); ok {
		t.Error("a refused webhook was kept")
	}
	if _, _, err := st.Webhook(ctx, ".."); !errors.Is(err, store.ErrInvalidID) {
		t.Errorf("Webhook(..) = %v", err)
	}
	if _, err := st.DeleteWebhook(ctx, ".."); !errors.Is(err, store.ErrInvalidID) {
		t.Errorf("DeleteWebhook(..) = %v", err)
	}

	if open != nil {
		again := another(t, open)
		if got, ok, err := again.Webhook(ctx, accountA); !ok || err != nil || !same(got, second) {
			t.Errorf("Webhook(A) from another instance = %v, %v, %v; want the second", got, ok, err)
		}
	}
	if had, err := st.DeleteWebhook(ctx, accountA); !had || err != nil {
		t.Errorf("DeleteWebhook(A) = %v, %v", had, err)
	}
	if had, err := st.DeleteWebhook(ctx, accountA); had || err != nil {
		t.Errorf("DeleteWebhook(A) twice = %v, %v", had, err)
	}
	if _, ok, err := st.Webhook(ctx, accountA); ok || err != nil {
		t.Errorf("Webhook(A) after the delete = %v, %v", ok, err)
	}
}
