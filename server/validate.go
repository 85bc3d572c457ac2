package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/streamtoken/streamtoken/token"
)

// MaxBodyBytes is the largest request body the server reads.
const MaxBodyBytes = 64 << 10

// checkRequest enforces the spec before the handler sees the request: the
// body's size, content type and JSON syntax, then the operation's schema
// through kin-openapi (path parameters and body, every violation at once).
// The handler gets the body back intact.
func (s *Server) checkRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, problem{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge,
					Message: fmt.Sprintf("request body is over %d KiB", MaxBodyBytes>>10)})
				return
			}
			writeError(w, problem{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "request body could not be read"})
			return
		}
		if len(bytes.TrimSpace(body)) == 0 {
			body = nil // an empty body means the defaults, whatever its type
		} else {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				writeError(w, problem{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedType,
					Message: "request body must be application/json"})
				return
			}
			if why := jsonProblem(body); why != "" {
				writeError(w, problem{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "request body is not valid JSON: " + why})
				return
			}
			if errs := checkTypes(body, s.bodySchema); len(errs) > 0 {
				writeError(w, errs...)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		input := &openapi3filter.RequestValidationInput{
			Request: r,
			PathParams: map[string]string{
				"account_id": r.PathValue("account_id"),
				"identifier": r.PathValue("identifier"),
			},
			Route:   s.route,
			Options: &validationOptions,
		}
		if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
			writeError(w, schemaErrors(err)...)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// validationOptions are kin-openapi's options for every request: all
// violations at once, the body left as sent, authentication already done.
var validationOptions = openapi3filter.Options{
	AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
	MultiError:          true,
	SkipSettingDefaults: true,
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
func schemaErrors(err error) []problem {
	var out []problem
	more := 0
	var walk func(err error, param string)
	walk = func(err error, param string) {
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
				param = e.Parameter.Name
			}
			if e.Err != nil {
				walk(e.Err, param)
				return
			}
			out = append(out, problem{Status: http.StatusBadRequest, Code: CodeSchema, Message: "request body: " + e.Reason})
		case *openapi3.SchemaError:
			if param != "" {
				out = append(out, problem{Status: http.StatusBadRequest, Code: CodeInvalidPath, Message: param + ": " + e.Reason})
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
			out = append(out, problem{Status: http.StatusBadRequest, Code: CodeSchema, Message: v.String(), Pointer: v.Pointer})
		default:
			if param != "" {
				out = append(out, problem{Status: http.StatusBadRequest, Code: CodeInvalidPath, Message: param + ": invalid"})
				return
			}
			out = append(out, problem{Status: http.StatusBadRequest, Code: CodeSchema, Message: "request does not match the API's schema"})
		}
	}
	walk(err, "")
	if len(out) == 0 {
		out = append(out, problem{Status: http.StatusBadRequest, Code: CodeSchema, Message: "request does not match the API's schema"})
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

// tokenRoute finds the token operation in the spec, for openapi3filter.
func tokenRoute(spec *openapi3.T) (*routers.Route, error) {
	const path = "/accounts/{account_id}/stream/{identifier}/token"
	item := spec.Paths.Find(path)
	if item == nil || item.Post == nil {
		return nil, errors.New("the embedded spec has no POST " + path)
	}
	return &routers.Route{Spec: spec, Path: path, PathItem: item, Method: http.MethodPost, Operation: item.Post}, nil
}
