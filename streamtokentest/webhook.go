package streamtokentest

import (
	"context"

	"github.com/streamtoken/streamtoken/gen"
)

// MarkVideoReady ends a video's processing as ready, as Cloudflare's
// would once its upload is processed (readyToStream true), and sends the
// account's webhook, if it has one, its notification: for tests of a
// webhook receiver. The server sends notifications to loopback addresses
// (unlike Cloudflare and serve), and tries a failed one again after 100
// ms, then 200, 400 and 800. A direct upload's upload marks its video
// ready too.
func (s *Server) MarkVideoReady(accountID, videoID string) error {
	return s.media.SetVideoStatus(context.Background(), accountID, videoID, gen.VideoStatus{State: gen.VideoStateReady})
}

// MarkVideoFailed ends a video's processing as failed, with the reason
// Cloudflare would give (code "ERR_NON_VIDEO", text "The upload is not a
// video"), and notifies the account's webhook as MarkVideoReady does.
func (s *Server) MarkVideoFailed(accountID, videoID, reasonCode, reasonText string) error {
	return s.media.SetVideoStatus(context.Background(), accountID, videoID, gen.VideoStatus{
		State: gen.VideoStateError, ErrorReasonCode: &reasonCode, ErrorReasonText: &reasonText})
}

// WaitForWebhooks returns once every notification sent so far is
// delivered or given up (each tried up to five times), or when ctx ends.
func (s *Server) WaitForWebhooks(ctx context.Context) error {
	return s.media.WebhookDeliveries().Wait(ctx)
}

// WebhookDeliveries counts the notifications' outcomes so far:
// "delivered", "retried" (an attempt failed), "failed" (every attempt),
// "dropped", "no_webhook".
func (s *Server) WebhookDeliveries() map[string]int {
	return s.media.WebhookDeliveries().Counts()
}
