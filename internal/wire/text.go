package wire

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/streamtoken/streamtoken/token"
)

// CheckNoNUL finds the strings of a request body, member names and values
// alike, that hold U+0000: PostgreSQL's jsonb cannot keep one, and a
// value that one store keeps and another refuses would make the stores
// answer differently. Each is a violation at its place in the body.
func CheckNoNUL(body any) []token.Violation {
	raw, err := json.Marshal(body)
	if err != nil || !strings.Contains(string(raw), `\u0000`) { // how encoding/json writes U+0000
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var vs []token.Violation
	var walk func(v any, path []any)
	walk = func(v any, path []any) {
		switch v := v.(type) {
		case string:
			if strings.ContainsRune(v, 0) {
				vs = append(vs, token.FieldViolation("must not hold U+0000", path...))
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) { // one body, one envelope, every time
				e, p := v[k], append(path[:len(path):len(path)], k)
				if strings.ContainsRune(k, 0) {
					vs = append(vs, token.FieldViolation("must not hold U+0000 in a member's name", path...))
					continue
				}
				walk(e, p)
			}
		case []any:
			for i, e := range v {
				walk(e, append(path[:len(path):len(path)], i))
			}
		}
	}
	walk(v, nil)
	return vs
}
