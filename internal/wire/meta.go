package wire

import (
	"encoding/json"
	"strconv"

	"github.com/streamtoken/streamtoken/token"
)

// Bounds of a video's or live input's meta, which Cloudflare documents
// none of: far past what a real user keeps there (a name, a few labels),
// far short of what would let one account's edits fill a server, or nest
// deeper than a JSON decoder reads back (Go's refuses 10,000 levels).
const (
	// MaxMetaBytes is the most bytes meta takes as JSON.
	MaxMetaBytes = 16 << 10
	// MaxMetaDepth is how deep objects and arrays may nest in meta, meta
	// itself the first level.
	MaxMetaDepth = 32
)

// CheckMeta checks a meta object, found at path in a body: at most
// MaxMetaDepth levels deep and MaxMetaBytes as JSON. Depth is checked
// first, so that a deep value is never encoded.
func CheckMeta(meta map[string]any, path ...any) []token.Violation {
	if depth(meta, 1) > MaxMetaDepth {
		return []token.Violation{token.FieldViolation("nests objects and arrays more than "+strconv.Itoa(MaxMetaDepth)+" levels deep", path...)}
	}
	b, err := json.Marshal(meta)
	switch {
	case err != nil:
		return []token.Violation{token.FieldViolation("does not encode as JSON", path...)}
	case len(b) > MaxMetaBytes:
		return []token.Violation{token.FieldViolation("is "+strconv.Itoa(len(b))+" bytes as JSON, over "+strconv.Itoa(MaxMetaBytes), path...)}
	}
	return nil
}

// depth is how deep v nests, at level; it stops counting past
// MaxMetaDepth.
func depth(v any, level int) int {
	switch v.(type) {
	case map[string]any, []any:
	default:
		return level - 1 // a scalar adds no level, however deep it sits
	}
	if level > MaxMetaDepth {
		return level
	}
	deepest := level
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			deepest = max(deepest, depth(e, level+1))
		}
	case []any:
		for _, e := range v {
			deepest = max(deepest, depth(e, level+1))
		}
	}
	return deepest
}
