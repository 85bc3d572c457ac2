package server

import (
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
)

// StrictOptions are the options of gen.NewStrictHandlerWithOptions that
// answer in envelopes where the generated defaults answer in plain text: a
// body the strict handler cannot decode is a 400 (1001), and an error a
// handler returns is a 500 (1000) whose detail goes to log (nil: nowhere),
// never to the client.
func StrictOptions(log *slog.Logger) gen.StrictHTTPServerOptions {
	return gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			WriteProblems(w, Problem{Status: http.StatusBadRequest, Code: streamtoken.CodeMalformedJSON, Message: "request body does not decode"})
		},
		ResponseErrorHandlerFunc: InternalError(log),
	}
}

// InternalError returns a handler of a server fault: the detail goes to log
// (nil: nowhere), the client gets a 500 envelope that says nothing of it.
func InternalError(log *slog.Logger) func(w http.ResponseWriter, r *http.Request, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "route", r.Pattern, "error", err.Error())
		WriteProblems(w, Problem{Status: http.StatusInternalServerError, Code: streamtoken.CodeInternal, Message: "Internal error"})
	}
}

// ParamErrorHandler is gen.StdHTTPServerOptions.ErrorHandlerFunc in an
// envelope: a path parameter the generated wrapper could not read is a 400
// (1004).
func ParamErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	WriteProblems(w, Problem{Status: http.StatusBadRequest, Code: streamtoken.CodeInvalidPath, Message: "path parameters could not be read"})
}

// NotFound answers every request with a 404 envelope (7003): mount it at
// "/" so that no route answers in plain text.
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteProblems(w, Problem{Status: http.StatusNotFound, Code: streamtoken.CodeNoRoute, Message: "No route for the URI"})
	})
}

// HandleMethodNotAllowed registers on mux, for each path of spec served
// under basePath, a handler that answers the methods the spec does not give
// that path with a 405 envelope (7001) and an Allow header. The patterns
// carry no method, so the generated ones (which do) take precedence.
func HandleMethodNotAllowed(mux *http.ServeMux, spec *openapi3.T, basePath string) {
	base := strings.TrimSuffix(basePath, "/")
	for path, item := range spec.Paths.Map() {
		methods := slices.Sorted(maps.Keys(item.Operations()))
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(base+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			WriteProblems(w, Problem{Status: http.StatusMethodNotAllowed, Code: streamtoken.CodeMethod,
				Message: "Method " + r.Method + " not allowed: this route takes " + allow})
		})
	}
}
