package webhook

import (
	"encoding/json"
	"log/slog"
)

// Secret is a webhook's signing secret, as the API gives it when the
// webhook is set. It redacts itself wherever it could be printed or
// logged: Reveal is the one way to its value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret itself: for a file of mode 0600 or a
// secret store, never for a log.
func (s Secret) Reveal() string { return string(s) }

// String is "[redacted]" (or "" for no secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps the secret out of log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes "[redacted]": a struct holding a Secret may be
// written as JSON without giving it away.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
