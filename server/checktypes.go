package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/token"
)

// checkTypes checks the JSON types of body's values against the schema's
// types, before kin-openapi sees the body, for two reasons. Numbers: 1e18
// or 1.0 for an integer (the spec's integers are written as digits), a
// value past int64, 1e309; kin-openapi would accept some of them and the
// body would then not decode, or describe them in its own terms. Cost: a
// body of 30,000 wrong types is answered after MaxViolations described and
// the rest only counted, where kin-openapi builds an error for each. Each
// problem names its field by JSON pointer. body is valid JSON.
func checkTypes(body []byte, schema *openapi3.SchemaRef) []Problem {
	if schema == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil // reported as malformed JSON already
	}
	var out []Problem
	more := 0
	var walk func(v any, s *openapi3.Schema, path []any)
	walk = func(v any, s *openapi3.Schema, path []any) {
		if s == nil || (v == nil && s.Nullable) {
			return
		}
		why := typeProblem(v, s.Type)
		if why == "" {
			if n, ok := v.(json.Number); ok {
				why = numberProblem(string(n), s.Type)
			}
		}
		if why != "" {
			if len(out) >= token.MaxViolations {
				more++
				return
			}
			f := token.FieldViolation(why, path...)
			if len(path) == 0 {
				f.Field = "body" // the whole document: pointer ""
			}
			out = append(out, Problem{Status: http.StatusBadRequest, Code: apicode.Schema, Message: f.String(), Pointer: f.Pointer})
			return
		}
		switch v := v.(type) {
		case map[string]any:
			// In the order of the names, so that the same body always gets
			// the same answer.
			for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
				if x, ok := v[name]; ok && s.Properties[name] != nil {
					walk(x, s.Properties[name].Value, append(path, name))
				}
			}
		case []any:
			if s.Items == nil {
				return
			}
			for i, x := range v {
				walk(x, s.Items.Value, append(path, i))
			}
		}
	}
	walk(v, schema.Value, nil)
	return limit(out, more)
}

// typeProblem says what is wrong with the JSON type of v where the schema
// allows types, or "" when nothing is (or the schema names no type).
func typeProblem(v any, types *openapi3.Types) string {
	if types == nil || len(*types) == 0 {
		return ""
	}
	var got string
	switch v.(type) {
	case nil:
		got = openapi3.TypeNull
	case bool:
		got = openapi3.TypeBoolean
	case string:
		got = openapi3.TypeString
	case []any:
		got = openapi3.TypeArray
	case map[string]any:
		got = openapi3.TypeObject
	case json.Number:
		if types.Includes(openapi3.TypeNumber) || types.Includes(openapi3.TypeInteger) {
			return "" // which kind of number: numberProblem
		}
		got = openapi3.TypeNumber
	}
	if types.Includes(got) {
		return ""
	}
	return fmt.Sprintf("must be %s, got %s", article(types.Slice()[0]), article(got))
}

// article puts "a" or "an" before a JSON type's name.
func article(t string) string {
	switch t {
	case openapi3.TypeObject, openapi3.TypeArray, openapi3.TypeInteger:
		return "an " + t
	case openapi3.TypeNull:
		return "null"
	}
	return "a " + t
}

// numberProblem says what is wrong with a JSON number literal where the
// schema's type expects one, or "" when nothing is.
func numberProblem(lit string, types *openapi3.Types) string {
	switch {
	case types.Is(openapi3.TypeInteger):
		if !isDigits(lit) {
			return fmt.Sprintf("must be a whole number written in digits, got %s", cut(lit))
		}
		if _, err := strconv.ParseInt(lit, 10, 64); err != nil {
			return fmt.Sprintf("%s is out of range (at most 19 digits: -9223372036854775808 to 9223372036854775807)", cut(lit))
		}
	case types.Is(openapi3.TypeNumber):
		if _, err := strconv.ParseFloat(lit, 64); err != nil {
			return fmt.Sprintf("%s is out of range for a number", cut(lit))
		}
	}
	return ""
}

// isDigits reports whether s is an optional minus and decimal digits.
func isDigits(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cut shortens a literal for a message.
func cut(s string) string {
	const max = 32
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
