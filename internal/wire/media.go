package wire

import "time"

// The API's bounds on listing videos and creating direct uploads, beyond
// what the spec's schema says: the client checks them before it sends, the
// server when it answers.
const (
	// MaxPageSize is the most videos one list answer holds (limit).
	MaxPageSize = 1000
	// MaxListedIDs is the most entries of the id and name filters.
	MaxListedIDs = 100
	// MaxCreatorBytes bounds a creator; MaxNameBytes a name searched for
	// (search, video_name).
	MaxCreatorBytes = 64
	MaxNameBytes    = 1024
	// MaxDurationSeconds is the longest video an upload takes (6 hours).
	MaxDurationSeconds = 21600
	// DefaultUploadExpiry is how long an upload URL works when the direct
	// upload gives no expiry; MinUploadExpiry and MaxUploadExpiry bound one
	// it gives, from the time it is asked.
	DefaultUploadExpiry = 30 * time.Minute
	MinUploadExpiry     = 2 * time.Minute
	MaxUploadExpiry     = 6 * time.Hour
	// UploadExpiryRoom is what a caller adds to an expiry at the minimum,
	// and what the server forgives under it: the time between the
	// caller's clock reading and the server's, the request's transit
	// included, so that "2 minutes from now" measured at the caller is
	// not under 2 minutes when the server measures it.
	UploadExpiryRoom = 15 * time.Second
)
