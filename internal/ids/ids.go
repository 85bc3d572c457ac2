// Package ids holds the API's rule for the IDs in a request's path
// (accounts, videos, live inputs, keys): the one check that the client,
// the server and the stores share, so that an ID that passes it is also a
// safe file name.
package ids

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest account or video ID the API takes.
const MaxLength = 32

// Check reports what is wrong with an account or video ID in a request's
// path, or "" when nothing is: 1 to MaxLength printable ASCII characters
// (no space, no control character), no "/", and neither "." nor "..",
// which would move the request to another path. It is stricter than the
// token package's rule for a video ID, which it includes.
func Check(id string) string {
	switch n := utf8.RuneCountInString(id); {
	case id == "":
		return "is required"
	case n > MaxLength:
		return fmt.Sprintf("must be at most %d characters, got %d", MaxLength, n)
	}
	for i, r := range id {
		if r < '!' || r > '~' {
			return fmt.Sprintf("must be printable ASCII without spaces, got %s at character %d", strconv.Quote(string(r)), utf8.RuneCountInString(id[:i])+1)
		}
	}
	switch {
	case strings.Contains(id, "/"):
		return `must not contain "/"`
	case id == "." || id == "..":
		return fmt.Sprintf("must not be %q", id)
	}
	return ""
}
