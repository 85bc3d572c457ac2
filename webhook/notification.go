package webhook

import (
	"encoding/json"
	"time"
)

// States of [Notification].Status.State that Cloudflare sends a
// notification for.
const (
	StateReady = "ready"
	StateError = "error"
)

// Notification is what a verified notification says: the video object as
// the API describes it, the fields a receiver acts on typed, and the body
// whole in Raw.
type Notification struct {
	// UID is the video's ID.
	UID string `json:"uid"`
	// ReadyToStream is true once the video can be played.
	ReadyToStream bool `json:"readyToStream"`
	// Status is its processing state: "ready", or "error" with a reason.
	Status Status `json:"status"`
	// RequireSignedURLs: the video plays only with a signed token.
	RequireSignedURLs bool `json:"requireSignedURLs"`
	// AllowedOrigins are the origins that may show it; none means any.
	AllowedOrigins []string `json:"allowedOrigins"`
	// Creator is the creator ID the upload carried, if any.
	Creator string `json:"creator"`
	// Meta is the video's meta object (its "name" among it).
	Meta map[string]any `json:"meta"`
	// Created and Modified are as the API dates them.
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`

	// SentAt is the time the Webhook-Signature header gave.
	SentAt time.Time `json:"-"`
	// Raw is the body as it was signed.
	Raw json.RawMessage `json:"-"`
}

// Status is a video's processing state in a notification.
type Status struct {
	State           string `json:"state"`
	ErrorReasonCode string `json:"errorReasonCode,omitempty"`
	ErrorReasonText string `json:"errorReasonText,omitempty"`
}

// Name is the video's meta.name, or "".
func (n *Notification) Name() string {
	name, _ := n.Meta["name"].(string)
	return name
}

// Ready reports whether the notification says the video is ready to play.
func (n *Notification) Ready() bool { return n.Status.State == StateReady || n.ReadyToStream }
