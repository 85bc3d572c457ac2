package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// ModeHeader is the header by which a server says what it is, on every
// answer: ModeStandIn for the Cloudflare stand-in (streamtoken serve,
// streamtokentest), whose keys and settings live in it alone.
const (
	ModeHeader  = "Streamtoken-Mode"
	ModeStandIn = "stand-in"
)

// answerHeader is h checked and copied for every answer: each name an
// HTTP token, each value free of CR, LF and NUL, each slice clipped so
// that an Add on an answer's header never writes into another's.
func answerHeader(h http.Header) (http.Header, error) {
	out := make(http.Header, len(h))
	for name, values := range h {
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
			return nil, fmt.Errorf("%q is no header name", name)
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, fmt.Errorf("%s: a value holds CR, LF or NUL", name)
			}
		}
		out[http.CanonicalHeaderKey(name)] = slices.Clip(slices.Clone(values))
	}
	return out, nil
}

// isTokenChar reports whether r may be in a header name (RFC 9110 tchar).
func isTokenChar(r rune) bool {
	return r < 0x7f && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

// withHeader sets h on every answer of next.
func withHeader(h http.Header, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := w.Header()
		for name, values := range h {
			out[name] = values
		}
		next.ServeHTTP(w, r)
	})
}
