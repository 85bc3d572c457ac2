package wire

import (
	"fmt"
	"slices"
	"strings"

	"github.com/streamtoken/streamtoken/gen"
)

// videoPrefix begins the path of a video's operations: the video's path
// without its ID.
var videoPrefix = strings.TrimSuffix(gen.GetVideoRoute.Path, "{"+gen.ParamIdentifier+"}")

// clashes are the literal segments that follow videoPrefix in the spec's
// paths (keys, live_inputs, direct_upload): the IDs whose video path is
// another operation's.
var clashes = func() []string {
	var out []string
	for _, r := range gen.Routes() {
		rest, ok := strings.CutPrefix(r.Path, videoPrefix)
		if !ok || r.Root {
			continue
		}
		seg, _, _ := strings.Cut(rest, "/")
		if !strings.HasPrefix(seg, "{") && !slices.Contains(out, seg) {
			out = append(out, seg)
		}
	}
	slices.Sort(out)
	return out
}()

// VideoPathClash says why a video of this ID cannot be read or edited
// through the API, or "" when it can: its path,
// /accounts/{account_id}/stream/ID, is also another operation's (the
// signing keys', the live inputs', the direct uploads'). The ambiguity is
// Cloudflare's own: the API routes such a path to the other operation.
// Tokens for the video are not affected.
func VideoPathClash(id string) string {
	if !slices.Contains(clashes, id) {
		return ""
	}
	return fmt.Sprintf("%q cannot be read or edited through the API: a video of this ID has the path of another operation (an ambiguity of Cloudflare's API itself)", id)
}
