package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// dirWebhook is a webhook's file.
type dirWebhook struct {
	URL      string    `json:"notificationUrl"`
	Secret   string    `json:"secret"`
	Modified time.Time `json:"modified"`
}

// maxWebhookFile bounds a webhook file read: its URL and secret, and the
// JSON around them.
const maxWebhookFile = MaxWebhookURL + MaxWebhookSecret + 1024

func (d *Dir) webhookPath(accountID string) string {
	return filepath.Join(d.dir, webhooksDir, accountID+".json")
}

// Webhook implements [Webhooks].
func (d *Dir) Webhook(_ context.Context, accountID string) (Webhook, bool, error) {
	if err := CheckID("account", accountID); err != nil {
		return Webhook{}, false, err
	}
	mu := d.lock(accountID)
	mu.Lock()
	defer mu.Unlock()
	f, err := os.Open(d.webhookPath(accountID))
	if errors.Is(err, fs.ErrNotExist) {
		return Webhook{}, false, nil
	}
	if err != nil {
		return Webhook{}, false, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxWebhookFile+1))
	if err != nil {
		return Webhook{}, false, err
	}
	var w dirWebhook
	if len(data) > maxWebhookFile || json.Unmarshal(data, &w) != nil {
		return Webhook{}, false, fmt.Errorf("account %s's webhook file is not one this store wrote", accountID)
	}
	return Webhook(w), true, nil
}

// SetWebhook implements [Webhooks]: the file is replaced whole, mode 0600.
func (d *Dir) SetWebhook(_ context.Context, accountID string, w Webhook) error {
	if err := CheckWebhook(accountID, w); err != nil {
		return err
	}
	data, err := json.Marshal(dirWebhook(w))
	if err != nil {
		return err
	}
	mu := d.lock(accountID)
	mu.Lock()
	defer mu.Unlock()
	return writeReplace(filepath.Join(d.dir, webhooksDir), accountID+".json", data)
}

// DeleteWebhook implements [Webhooks].
func (d *Dir) DeleteWebhook(_ context.Context, accountID string) (bool, error) {
	if err := CheckID("account", accountID); err != nil {
		return false, err
	}
	mu := d.lock(accountID)
	mu.Lock()
	defer mu.Unlock()
	err := os.Remove(d.webhookPath(accountID))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
