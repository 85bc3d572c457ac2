package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/token"
)

// MaxBodyBytes is the largest request body a [RequestChecker] reads.
const MaxBodyBytes = 64 << 10

// RequestChecker checks requests against an OpenAPI spec before a handler
// sees them: the body's size (at most MaxBodyBytes), its content type and
// JSON syntax, the JSON types and integer literals of its fields, then the
// operation's path parameters and body schema through kin-openapi (unknown
// fields, wrong types, bad enums, patterns and lengths), every violation at
// once, each as an envelope entry with its JSON pointer.
//
// It finds a request's operation from the spec itself: the generated
// std-http server registers one http.ServeMux pattern per operation
// ("POST /client/v4/accounts/{account_id}/stream/{identifier}/token"), and
// the checker maps that pattern back to the spec's path and method. A new
// operation in the spec is checked with no new code. It does not
// authenticate: see [Authenticator].
type RequestChecker struct {
	base       string
	operations map[string]*operation // by "METHOD /path" as in the spec
}

// operation is what the checker needs of one of the spec's operations.
type operation struct {
	route      *routers.Route
	params     []*openapi3.Parameter // the path item's and the operation's, the latter overriding
	pathParams []string
	body       *openapi3.RequestBody // nil when the operation takes none
	bodySchema *openapi3.SchemaRef   // the JSON body's, or nil
	bodies     passed                // bodies that passed the checks
	pathValues map[string]*passed    // by name: path parameters' values that passed
	// idParams are the path parameters whose schema is the API's ID rule
	// (isIDSchema): checked once, by ids.Check, before anything else, and
	// not again by their schema. Other path parameters are their schema's.
	idParams map[string]bool
}

// NewRequestChecker returns a checker of the operations of spec, served
// under basePath (such as [BasePath]).
func NewRequestChecker(spec *openapi3.T, basePath string) (*RequestChecker, error) {
	if spec == nil || spec.Paths == nil {
		return nil, errors.New("no spec")
	}
	c := &RequestChecker{base: strings.TrimSuffix(basePath, "/"), operations: map[string]*operation{}}
	for path, item := range spec.Paths.Map() {
		if len(item.Servers) > 0 {
			continue // served elsewhere than under basePath: none of the API's
		}
		for method, op := range item.Operations() {
			o := &operation{route: &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op},
				pathValues: map[string]*passed{}, idParams: map[string]bool{}}
			for _, p := range item.Parameters {
				if p.Value != nil && op.Parameters.GetByInAndName(p.Value.In, p.Value.Name) == nil {
					o.params = append(o.params, p.Value)
				}
			}
			for _, p := range op.Parameters {
				if p.Value != nil {
					o.params = append(o.params, p.Value)
				}
			}
			for _, p := range o.params {
				if p.In == openapi3.ParameterInPath {
					o.pathParams = append(o.pathParams, p.Name)
					o.pathValues[p.Name] = &passed{}
					o.idParams[p.Name] = isIDSchema(p.Schema)
				}
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				o.body = rb.Value
				if mt := rb.Value.Content.Get("application/json"); mt != nil {
					o.bodySchema = mt.Schema
				}
			}
			c.operations[method+" "+path] = o
		}
	}
	if len(c.operations) == 0 {
		return nil, errors.New("the spec has no operations")
	}
	return c, nil
}

// operationOf finds r's operation from the ServeMux pattern that matched
// it, or nil when the pattern is none of the spec's.
func (c *RequestChecker) operationOf(r *http.Request) *operation {
	method, path, ok := strings.Cut(r.Pattern, " ")
	if !ok {
		return nil
	}
	if i := strings.IndexByte(path, '/'); i > 0 { // a pattern with a host
		path = path[i:]
	}
	path, ok = strings.CutPrefix(path, c.base)
	if !ok {
		return nil
	}
	return c.operations[method+" "+path]
}

// Middleware checks each request of one of the spec's operations and
// answers a bad one with an envelope (400, 413 or 415); the handler gets
// the body back intact. Mount it inside the http.ServeMux, as
// gen.StdHTTPServerOptions.Middlewares does: it reads the matched pattern
// and the path values. A request of a pattern the spec does not describe
// passes unchecked; a request no ServeMux routed (no pattern: the checker
// mounted outside one) is refused with a 500 whose message says so,
// rather than let through unchecked.
func (c *RequestChecker) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Pattern == "" {
			// A mistake of the mount, not of the request: said in the
			// answer, as the checker has no logger (none is a default).
			WriteProblems(w, Problem{Status: http.StatusInternalServerError, Code: apicode.Internal,
				Message: "server.RequestChecker: the request has no ServeMux pattern: mount the checker inside an http.ServeMux (gen.StdHTTPServerOptions.Middlewares)"})
			return
		}
		op := c.operationOf(r)
		if op == nil {
			next.ServeHTTP(w, r)
			return
		}
		// The path's IDs first, by the API's rule: the one place they are
		// checked on their way in (a store refuses one it is handed anyway).
		var bad []Problem
		for _, name := range op.pathParams {
			if !op.idParams[name] {
				continue // its schema's, below
			}
			if why := ids.Check(r.PathValue(name)); why != "" {
				bad = append(bad, badPathID(name, why))
			}
		}
		if bad != nil {
			WriteProblems(w, bad...)
			return
		}
		if ps := op.unknownQuery(r.URL.RawQuery); ps != nil {
			WriteProblems(w, ps...)
			return
		}
		if r.Body == nil { // a client's request handed to the handler directly
			r.Body = http.NoBody
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				WriteProblems(w, Problem{Status: http.StatusRequestEntityTooLarge, Code: apicode.BodyTooLarge,
					Message: fmt.Sprintf("request body is over %d KiB", MaxBodyBytes>>10)})
				return
			}
			WriteProblems(w, Problem{Status: http.StatusBadRequest, Code: apicode.MalformedJSON, Message: "request body could not be read"})
			return
		}
		known := false // the body passed every check before
		if len(bytes.TrimSpace(body)) == 0 {
			body = nil // an empty body means the defaults, whatever its type
		} else {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				WriteProblems(w, Problem{Status: http.StatusUnsupportedMediaType, Code: apicode.UnsupportedType,
					Message: "request body must be application/json"})
				return
			}
			known = op.bodies.has(body)
		}
		if body != nil && !known {
			if why := jsonProblem(body); why != "" {
				WriteProblems(w, Problem{Status: http.StatusBadRequest, Code: apicode.MalformedJSON, Message: "request body is not valid JSON: " + why})
				return
			}
			if errs := checkTypes(body, op.bodySchema); len(errs) > 0 {
				WriteProblems(w, errs...)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		params := make(map[string]string, len(op.pathParams))
		for _, name := range op.pathParams {
			params[name] = r.PathValue(name)
		}
		input := &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      op.route,
			Options:    &validationOptions,
		}
		if err := op.validate(r.Context(), input, known); err != nil {
			WriteProblems(w, schemaErrors(err)...)
			return
		}
		if body != nil && !known {
			op.bodies.add(body)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// unknownQuery refuses the query parameters the operation does not take,
// so that a misspelt filter (creater=) is an error, not a listing of
// everything. A name that is not a plain word is not repeated.
func (op *operation) unknownQuery(raw string) []Problem {
	if raw == "" {
		return nil
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return []Problem{{Status: http.StatusBadRequest, Code: apicode.Schema, Message: "the query string could not be read"}}
	}
	var out []Problem
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if slices.ContainsFunc(op.params, func(p *openapi3.Parameter) bool { return p.In == openapi3.ParameterInQuery && p.Name == name }) {
			continue
		}
		shown := "a query parameter"
		if plainWord.MatchString(name) {
			shown = name
		}
		out = append(out, Problem{Status: http.StatusBadRequest, Code: apicode.Schema, Message: shown + ": not a parameter of this operation"})
	}
	if out == nil {
		return nil
	}
	return limit(out, 0)
}

// plainWord is a query parameter's name that an error may repeat.
var plainWord = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,31}$`)

// validationOptions are kin-openapi's options for every request: all
// violations at once, the body left as sent, authentication already done.
var validationOptions = openapi3filter.Options{
	AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
	MultiError:          true,
	SkipSettingDefaults: true,
}

// validate is kin-openapi's ValidateRequest without what the checker knows
// already: the security requirements (the Authenticator's), the values of
// path parameters that passed before, and a body that passed before
// (known). Every violation is returned at once, as a MultiError.
func (op *operation) validate(ctx context.Context, input *openapi3filter.RequestValidationInput, known bool) error {
	var me openapi3.MultiError
	for _, p := range op.params {
		var seen *passed
		if p.In == openapi3.ParameterInPath {
			if op.idParams[p.Name] {
				continue // checked by the ID rule, at the edge
			}
			seen = op.pathValues[p.Name]
			if seen.has([]byte(input.PathParams[p.Name])) {
				continue
			}
		}
		if err := openapi3filter.ValidateParameter(ctx, input, p); err != nil {
			me = append(me, err)
			continue
		}
		if seen != nil {
			seen.add([]byte(input.PathParams[p.Name]))
		}
	}
	if !known && op.body != nil {
		if err := openapi3filter.ValidateRequestBody(ctx, input, op.body); err != nil {
			me = append(me, err)
		}
	}
	if len(me) > 0 {
		return me
	}
	return nil
}

// idPattern is the spec's pattern of the API's IDs: printable ASCII
// without a space or "/".
const idPattern = "^[!-.0-~]+$"

// isIDSchema reports whether a path parameter's schema is the API's ID
// rule, as the spec writes it for every ID: a string of 1 to
// ids.MaxLength characters of the IDs' pattern, and nothing more. Then
// ids.Check, which says the same (and refuses "." and "..", which would
// move the request), checks it alone. A parameter of any other schema,
// looser or stricter, is left to that schema.
func isIDSchema(ref *openapi3.SchemaRef) bool {
	if ref == nil || ref.Value == nil {
		return false
	}
	s := ref.Value
	return s.Type != nil && s.Type.Is(openapi3.TypeString) && len(s.Enum) == 0 && s.Format == "" &&
		s.Not == nil && len(s.AllOf) == 0 && len(s.AnyOf) == 0 && len(s.OneOf) == 0 &&
		s.MinLength == 1 && s.MaxLength != nil && *s.MaxLength == ids.MaxLength && s.Pattern == idPattern
}

// jsonProblem describes what makes body invalid JSON, without quoting it.
func jsonProblem(body []byte) string {
	if json.Valid(body) {
		return ""
	}
	var v any
	err := json.Unmarshal(body, &v)
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return "syntax error at byte " + strconv.FormatInt(syntax.Offset, 10)
	}
	return "unexpected end of input"
}

var unsupportedProperty = regexp.MustCompile(`^property ("(?:[^"\\]|\\.)*") is unsupported$`)

// schemaErrors turns kin-openapi's validation errors into envelope errors:
// one per violation, each with the field's JSON pointer.
func schemaErrors(err error) []Problem {
	var out []Problem
	more := 0
	// paramProblem is the problem with a parameter: a path parameter is
	// apicode.InvalidPath, a query or header parameter apicode.Schema.
	paramProblem := func(p *openapi3.Parameter, reason string) Problem {
		code := apicode.Schema
		if p.In == openapi3.ParameterInPath {
			code = apicode.InvalidPath
		}
		return Problem{Status: http.StatusBadRequest, Code: code, Message: p.Name + ": " + reason}
	}
	var walk func(err error, param *openapi3.Parameter)
	walk = func(err error, param *openapi3.Parameter) {
		if len(out) >= token.MaxViolations {
			// Counted, not described: describing costs more than finding.
			switch err.(type) {
			case openapi3.MultiError, *openapi3filter.RequestError: // hold the ones to count
			default:
				more++
				return
			}
		}
		// Match the outermost error first: a RequestError unwraps to a
		// MultiError, and must be seen as itself to keep its parameter.
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, inner := range e {
				walk(inner, param)
			}
		case *openapi3filter.RequestError:
			if e.Parameter != nil {
				param = e.Parameter
			}
			if e.Err != nil {
				walk(e.Err, param)
				return
			}
			if param != nil {
				out = append(out, paramProblem(param, e.Reason))
				return
			}
			out = append(out, Problem{Status: http.StatusBadRequest, Code: apicode.Schema, Message: "request body: " + e.Reason})
		case *openapi3.SchemaError:
			if param != nil {
				out = append(out, paramProblem(param, e.Reason))
				return
			}
			path := e.JSONPointer()
			reason := e.Reason
			if m := unsupportedProperty.FindStringSubmatch(reason); m != nil {
				if name, err := strconv.Unquote(m[1]); err == nil {
					path = append(path, name)
					reason = "unknown field"
				}
			}
			v := token.FieldViolation(reason, pointerSegments(path)...)
			if v.Field == "" {
				v.Field = "request body"
			}
			out = append(out, Problem{Status: http.StatusBadRequest, Code: apicode.Schema, Message: v.String(), Pointer: v.Pointer})
		default:
			if param != nil {
				out = append(out, paramProblem(param, "invalid"))
				return
			}
			out = append(out, Problem{Status: http.StatusBadRequest, Code: apicode.Schema, Message: "request does not match the API's schema"})
		}
	}
	walk(err, nil)
	if len(out) == 0 {
		out = append(out, Problem{Status: http.StatusBadRequest, Code: apicode.Schema, Message: "request does not match the API's schema"})
	}
	return limit(out, more)
}

// pointerSegments turns JSON pointer segments into FieldViolation's path:
// array indexes as ints.
func pointerSegments(path []string) []any {
	segs := make([]any, len(path))
	for i, p := range path {
		if n, err := strconv.Atoi(p); err == nil && !strings.HasPrefix(p, "+") && !strings.HasPrefix(p, "-") {
			segs[i] = n
		} else {
			segs[i] = p
		}
	}
	return segs
}
