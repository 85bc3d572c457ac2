package token

import "time"

// Options are what a token grants: the claims of a Stream token before
// signing, as the API's request body sets them.
type Options struct {
	// VideoID is the video the token grants access to (the sub claim; the
	// API's identifier path parameter). Required.
	VideoID string
	// ExpiresAt is when the token stops working: after now and at most
	// [MaxLifetime] later. Zero means [DefaultLifetime] from now.
	ExpiresAt time.Time
	// NotBefore is when the token starts working: before ExpiresAt. Zero
	// means [DefaultBackdate] before now.
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

// Validate reports every rule o breaks at the time now, as a
// [*ValidationError]: the video ID, exp within 24 hours after now, nbf before
// exp, and the access rules (see [Rule]). It does not check keys.
func (o Options) Validate(now time.Time) error {
	var p problems
	if problem := CheckID(o.VideoID); problem != "" {
		p.addViolation(Violation{Field: "identifier", Problem: problem})
	}
	checkTimes(&p, now, o.ExpiresAt, o.NotBefore)
	checkRules(&p, o.AccessRules)
	return p.err()
}
