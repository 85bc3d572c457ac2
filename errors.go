package streamtoken

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/token"
)

// Classes of failure a caller acts on, for errors.Is. An [*APIError] matches
// the class of its status; a request refused before sending matches
// ErrInvalid.
var (
	// ErrAuthentication: the credentials are missing, wrong, or not allowed
	// for the account (401, 403, or error code 10000).
	ErrAuthentication = errors.New("streamtoken: authentication failed")
	// ErrNotFound: a 404: no such account or video, or no such route when
	// the base URL is not the API's (then [APIError.Hint] says so).
	ErrNotFound = errors.New("streamtoken: not found")
	// ErrRateLimited: too many requests: a 429 the client did not wait
	// out (see [WithMaxRateLimitWait]), or still one after the retries; or
	// no room in the client's own budget before the context's deadline
	// ([WithRequestBudget]).
	ErrRateLimited = errors.New("streamtoken: rate limited")
	// ErrInvalid: the request breaks the API's rules, found by the client
	// before sending (a *token.ValidationError) or by the server (400, 413,
	// 415, 422). It is [token.ErrInvalid].
	ErrInvalid = token.ErrInvalid
)

// ResponseInfo is one entry of a response envelope's errors or messages.
type ResponseInfo struct {
	Code             Code   `json:"code"`
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url,omitempty"`
	// Pointer is source.pointer: the JSON pointer of the request field at
	// fault, such as "/accessRules/0/ip/1".
	Pointer string `json:"pointer,omitempty"`
}

// String is the entry as "CODE MESSAGE", with the pointer when the message
// does not already name it.
func (r ResponseInfo) String() string {
	s := r.Code.String() + " " + r.Message
	if r.Pointer != "" && !strings.Contains(r.Message, r.Pointer) {
		s += " (at " + r.Pointer + ")"
	}
	return s
}

// APIError is a call the API answered with a failure: a non-2xx status, or
// a 2xx whose envelope says success: false or holds no token.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Errors and Messages are the envelope's errors[] and messages[].
	Errors   []ResponseInfo
	Messages []ResponseInfo
	// RayID is the cf-ray header, which Cloudflare support asks for.
	RayID string
	// Excerpt is the start of a body that was no Cloudflare envelope, such
	// as a proxy's HTML error page: at most 200 bytes, one line.
	Excerpt string
	// Method and URL are the request's, the URL without credentials.
	Method, URL string
	// Attempts is how many times the request was sent, retries included.
	Attempts int
	// Hint, when set, names a likely cause the client can see, such as a
	// 404 from a base URL that lacks the API's /client/v4.
	Hint string
	// RateLimit is what the answer stated of the caller's rate limit; nil
	// when it stated nothing. On a 429, its Reset is when the limit lifts.
	RateLimit *RateLimit
}

// Error describes the failure on one line: method, URL (without
// credentials), status, the envelope's errors and the cf-ray. It never
// holds a credential or a token.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "streamtoken: %s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	for i, info := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(info.String())
	}
	if len(e.Errors) == 0 && e.Excerpt != "" {
		fmt.Fprintf(&b, ": %q", e.Excerpt)
	}
	if e.Hint != "" {
		b.WriteString(" (hint: " + e.Hint + ")")
	}
	if e.StatusCode == http.StatusTooManyRequests && e.RateLimit != nil && !e.RateLimit.Reset.IsZero() {
		b.WriteString(" (the limit lifts at " + e.RateLimit.Reset.UTC().Format(time.RFC3339) + ")")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.RayID != "" {
		b.WriteString(" (cf-ray " + e.RayID + ")")
	}
	return b.String()
}

// Is matches the class of the failure: [ErrAuthentication], [ErrNotFound],
// [ErrRateLimited] or [ErrInvalid].
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrAuthentication:
		if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
			return true
		}
		for _, info := range e.Errors {
			if info.Code == apicode.Authentication {
				return true
			}
		}
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrInvalid:
		switch e.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
			return true
		}
	}
	return false
}

// printable is s as a server sent it, with each control or other
// unprintable character (an escape sequence that would rewrite a
// terminal, a line break that would forge a line of output) replaced by
// U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r != ' ' && !unicode.IsPrint(r) {
			return unicode.ReplacementChar
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// excerpt makes a short, printable, one-line excerpt of a body.
func excerpt(body []byte) string {
	const max = 200
	s := strings.ToValidUTF8(string(body[:min(len(body), max)]), "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(body) > max {
		s += "…"
	}
	return s
}
