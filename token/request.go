package token

import "time"

// Request is what a token is asked to grant, as the API's request body and
// path carry it: the claims of a Stream token before signing. Every field
// but VideoID is optional, and its zero value takes the API's default.
type Request struct {
	// VideoID is the video the token grants access to: its sub claim.
	// Required; at most [MaxVideoIDLength] printable ASCII characters.
	VideoID string
	// ExpiresAt is when the token stops working: after now and at most
	// [MaxLifetime] later. Zero means [DefaultLifetime] from now.
	ExpiresAt time.Time
	// NotBefore is when the token starts working: before ExpiresAt and
	// not before 1970. Zero means [DefaultBackdate] before now.
	NotBefore time.Time
	// Downloadable grants the video's MP4 download links too.
	Downloadable bool
	// AccessRules restrict who may use the token; the first rule that
	// matches a viewer decides, and a viewer no rule matches is allowed.
	AccessRules []Rule
	// Original is the API's flags.original: serve the original video,
	// without transformations. It is carried in the claims as flags.
	Original bool
}

// Validate reports every rule r breaks at the time now, as a
// [*ValidationError]: the video ID, exp within 24 hours after now, nbf before
// exp, and the access rules (see [Rule]). It does not check keys.
func (r Request) Validate(now time.Time) error {
	var p problems
	if problem := checkVideoID(r.VideoID); problem != "" {
		p.addViolation(Violation{Field: "VideoID", Pointer: "/sub", Problem: problem})
	}
	checkTimes(&p, now, r.ExpiresAt, r.NotBefore)
	checkRules(&p, r.AccessRules)
	return p.err()
}

// checkVideoID checks a sub claim: 1 to MaxVideoIDLength printable ASCII
// characters other than space. Where the ID also sits in a URL path, the
// API's rules add more (see the client and the server).
func checkVideoID(id string) string { return checkPrintable(id, MaxVideoIDLength) }
