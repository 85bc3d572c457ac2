package wire

import (
	"strconv"
	"strings"

	"github.com/streamtoken/streamtoken/token"
)

// The bounds of allowedOrigins: a list the spec caps, of host names as DNS
// has them, with a "*." prefix and a port.
const (
	MaxAllowedOrigins = 100
	maxHostLength     = 253
	maxLabelLength    = 63
)

// CheckOrigin says what is wrong with one entry of allowedOrigins, or ""
// when nothing is: a host name (letters, digits and hyphens in dot-separated
// labels, as DNS has them), optionally prefixed by "*." for its
// subdomains and followed by ":port". A scheme, a path, a bare "*" or
// anything else that would never match a page's origin is refused, so that
// a setting meant to restrict a video does not silently fail to.
func CheckOrigin(origin string) string {
	switch {
	case origin == "":
		return "must not be empty"
	case strings.Contains(origin, "://"):
		return "must be a host name, without a scheme (example.com, not https://example.com)"
	case strings.ContainsAny(origin, "/?#"):
		return "must be a host name, without a path"
	}
	host := strings.TrimPrefix(origin, "*.")
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		port := host[i+1:]
		host = host[:i]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
			return "the port after ':' must be a number from 1 to 65535"
		}
	}
	switch {
	case host == "" || host == "*":
		return `must name a host: "*." goes before one, as in *.example.com`
	case len(host) > maxHostLength:
		return "the host name is over " + strconv.Itoa(maxHostLength) + " characters"
	}
	for _, label := range strings.Split(host, ".") {
		if why := checkLabel(label); why != "" {
			return why
		}
	}
	return ""
}

// checkLabel checks one label of a host name.
func checkLabel(label string) string {
	switch {
	case label == "":
		return "the host name has an empty label (two dots in a row, or a dot at an end)"
	case len(label) > maxLabelLength:
		return "a label of the host name is over " + strconv.Itoa(maxLabelLength) + " characters"
	case label[0] == '-' || label[len(label)-1] == '-':
		return "a label of the host name starts or ends with '-'"
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return "a host name holds only letters, digits, '-' and '.' (and '*.' first)"
		}
	}
	return ""
}

// CheckOrigins checks a list of allowedOrigins, found at path in a body:
// at most MaxAllowedOrigins entries, each as [CheckOrigin] says.
func CheckOrigins(origins []string, path ...any) []token.Violation {
	if len(origins) > MaxAllowedOrigins {
		return []token.Violation{token.FieldViolation("at most "+strconv.Itoa(MaxAllowedOrigins)+" origins", path...)}
	}
	var out []token.Violation
	for i, o := range origins {
		if why := CheckOrigin(o); why != "" {
			out = append(out, token.FieldViolation(why, append(append([]any{}, path...), i)...))
		}
	}
	return out
}
