package streamtoken

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/token"
)

// SigningKey is a signing key the API created, private half included: the
// one time the API shows it. Key signs with it directly
// (token.NewSigner(k.Key)); Export keeps it in the API's own form. Printing
// or logging a SigningKey never shows its private half.
type SigningKey struct {
	// ID is the key's ID, the kid of the tokens it signs.
	ID string
	// Created is when the API created it.
	Created time.Time
	// Key is the private key, with ID as its ID.
	Key *token.Key

	result []byte // the API's result object, as it came
}

// Export returns the key as the API handed it out, {"id", "pem", "jwk",
// "created"}: what "streamtoken keys create --out" saves, and what
// token.ParseKey and "streamtoken sign --key" read back with its kid. It
// holds the private key: write it only to a file of mode 0600.
func (k *SigningKey) Export() []byte { return append([]byte(nil), k.result...) }

// String describes the key without its private half.
func (k SigningKey) String() string {
	return fmt.Sprintf("streamtoken.SigningKey{ID: %q, Created: %s, Key: [redacted]}", k.ID, k.Created.UTC().Format(time.RFC3339))
}

// GoString is String, for %#v.
func (k SigningKey) GoString() string { return k.String() }

// LogValue keeps the private half out of log/slog output.
func (k SigningKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.Time("created", k.Created))
}

// MarshalJSON writes the key without its private half; Export writes it
// whole.
func (k SigningKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(SigningKeyInfo{ID: k.ID, Created: k.Created})
}

// SigningKeyInfo is a signing key as the API lists it: no private half.
type SigningKeyInfo struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// CreateSigningKey asks the API for a new signing key for the account.
// The answer is the only time the private half is shown: keep Export's
// bytes (or Key) then. The account ID is checked before sending. A create
// is retried only when it cannot have reached the API (the connection was
// refused) or the API refused it unprocessed (429), so that one call never
// makes two keys.
func (c *Client) CreateSigningKey(ctx context.Context, accountID string) (*SigningKey, error) {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}); err != nil {
		return nil, err
	}
	var key *SigningKey
	var parseErr error
	err := c.exchange(withoutReplay(ctx),
		func(ctx context.Context) (*http.Response, error) {
			return c.gen.CreateSigningKeyWithBody(ctx, accountID, "application/json", http.NoBody)
		},
		func(raw []byte) bool {
			var env struct {
				Success bool            `json:"success"`
				Result  json.RawMessage `json:"result"`
			}
			var result gen.SigningKey
			if json.Unmarshal(raw, &env) != nil || !env.Success || json.Unmarshal(env.Result, &result) != nil || result.ID == "" {
				return false
			}
			k, err := token.ParsePrivateKey(env.Result)
			if err != nil || k.ID != result.ID {
				// Created, but unusable: say which key, to delete it.
				parseErr = fmt.Errorf("streamtoken: %s %s: the API created key %s, but its private key does not parse: %v", gen.CreateSigningKeyRoute.Method, c.redactedBase()+gen.CreateSigningKeyPath(accountID), result.ID, err)
				return true
			}
			key = &SigningKey{ID: result.ID, Created: result.Created, Key: k, result: env.Result}
			return true
		})
	if err != nil {
		return nil, err
	}
	if parseErr != nil {
		return nil, parseErr
	}
	return key, nil
}

// ListSigningKeys lists the account's signing keys, as the API orders
// them.
func (c *Client) ListSigningKeys(ctx context.Context, accountID string) ([]SigningKeyInfo, error) {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}); err != nil {
		return nil, err
	}
	var keys []SigningKeyInfo
	err := c.exchange(ctx,
		func(ctx context.Context) (*http.Response, error) {
			return c.gen.ListSigningKeys(ctx, accountID)
		},
		func(raw []byte) bool {
			var env gen.SigningKeyListResponse
			if json.Unmarshal(raw, &env) != nil || !env.Success {
				return false
			}
			keys = make([]SigningKeyInfo, len(env.Result))
			for i, k := range env.Result {
				keys[i] = SigningKeyInfo{ID: k.ID, Created: k.Created}
			}
			return true
		})
	return keys, err
}

// DeleteSigningKey deletes one of the account's signing keys: tokens it
// signed stop working. An unknown key is an *APIError matching
// ErrNotFound. Like a create, a delete is retried only when it cannot have
// been processed, so that a retry never reports as missing the key its
// first try deleted.
func (c *Client) DeleteSigningKey(ctx context.Context, accountID, keyID string) error {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}, pathID{gen.ParamIdentifier, keyID}); err != nil {
		return err
	}
	return c.exchange(withoutReplay(ctx),
		func(ctx context.Context) (*http.Response, error) {
			return c.gen.DeleteSigningKeyWithBody(ctx, accountID, keyID, "application/json", http.NoBody)
		},
		func(raw []byte) bool {
			var env gen.DeletedResponse
			return json.Unmarshal(raw, &env) == nil && bool(env.Success)
		})
}

// pathID is a path parameter of an operation: its name and value.
type pathID struct{ name, id string }

// checkIDs checks path IDs by the API's rules: a *token.ValidationError
// listing every problem, or nil.
func checkIDs(path ...pathID) error {
	var v token.ValidationError
	for _, p := range path {
		if why := ids.Check(p.id); why != "" {
			v.Violations = append(v.Violations, token.Violation{Field: p.name, Problem: why})
		}
	}
	if len(v.Violations) > 0 {
		return fmt.Errorf("streamtoken: %w", &v)
	}
	return nil
}
