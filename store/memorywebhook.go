package store

import "context"

// webhookBytes is what a webhook costs the memory store's media budget:
// its strings and a map entry's share.
func webhookBytes(accountID string, w Webhook) int64 {
	return int64(len(accountID) + len(w.URL) + len(w.Secret) + 64)
}

// Webhook implements [Webhooks].
func (m *Memory) Webhook(_ context.Context, accountID string) (Webhook, bool, error) {
	if err := CheckID("account", accountID); err != nil {
		return Webhook{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.webhooks[accountID]
	return w, ok, nil
}

// SetWebhook implements [Webhooks]: its bytes count against the media's
// budget, and the account's.
func (m *Memory) SetWebhook(_ context.Context, accountID string, w Webhook) error {
	if err := CheckWebhook(accountID, w); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var had int64
	if old, ok := m.webhooks[accountID]; ok {
		had = webhookBytes(accountID, old)
	}
	if err := m.takeMedia(accountID, webhookBytes(accountID, w)-had); err != nil {
		return err
	}
	if m.webhooks == nil {
		m.webhooks = map[string]Webhook{}
	}
	m.webhooks[accountID] = w
	return nil
}

// DeleteWebhook implements [Webhooks].
func (m *Memory) DeleteWebhook(_ context.Context, accountID string) (bool, error) {
	if err := CheckID("account", accountID); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.webhooks[accountID]
	if !ok {
		return false, nil
	}
	delete(m.webhooks, accountID)
	_ = m.takeMedia(accountID, -webhookBytes(accountID, old)) // giving back never fails
	return true, nil
}
