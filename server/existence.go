package server

import "context"

// Existence is what a [VideoChecker] knows of a video.
type Existence int

const (
	// ExistenceUnknown: the checker cannot tell (a gateway that does not
	// ask its upstream on the token's path): the token is signed.
	ExistenceUnknown Existence = iota
	// VideoExists: the video exists; the token is signed.
	VideoExists
	// VideoMissing: no such video; the token operation answers a 404
	// envelope (1011), as the video's details do.
	VideoMissing
)

// VideoChecker tells the token operation whether a video exists: the one
// thing token issuance asks of the videos, so that what keeps them (the
// stand-in's store, a set a test gives, an upstream) stays outside the
// core. An error is the checker's fault, not the caller's (a 5xx).
type VideoChecker interface {
	VideoExists(ctx context.Context, accountID, videoID string) (Existence, error)
}

// VideoSet is a VideoChecker of a set of videos known in full: a video is
// in it or missing, never unknown.
type VideoSet func(accountID, videoID string) bool

// VideoExists implements VideoChecker.
func (set VideoSet) VideoExists(_ context.Context, accountID, videoID string) (Existence, error) {
	if set(accountID, videoID) {
		return VideoExists, nil
	}
	return VideoMissing, nil
}
