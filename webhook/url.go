package webhook

import (
	"fmt"
	"net/url"
)

// MaxURLBytes is the longest notification URL a webhook may have.
const MaxURLBytes = 2048

// CheckURL says what is wrong with a notification URL, or "" when it is
// one notifications can be sent to: an absolute http or https URL with a
// host, no user or password (a receiver checks the signature instead), no
// fragment (never sent), of at most MaxURLBytes. The client, the stand-in
// and the stores check by it; the answer reads after the field's name
// ("notificationUrl is not an http or https URL").
func CheckURL(raw string) string {
	switch {
	case raw == "":
		return "is required"
	case len(raw) > MaxURLBytes:
		return fmt.Sprintf("is %d bytes, over %d", len(raw), MaxURLBytes)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "is not an http or https URL"
	case u.Hostname() == "":
		return "has no host"
	case u.User != nil:
		return "has a user or password: a receiver checks the signature instead"
	case u.Fragment != "" || u.RawFragment != "":
		return "has a fragment, which is never sent"
	}
	return ""
}
