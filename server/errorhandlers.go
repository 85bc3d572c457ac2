package server

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/store"
)

// StrictOptions are the options of gen.NewStrictHandlerWithOptions that
// answer in envelopes where the generated defaults answer in plain text: a
// body the strict handler cannot decode is a 400 (1001), and an error a
// handler returns is a 500 (1000) whose detail goes to log (nil: nowhere),
// never to the client.
func StrictOptions(log *slog.Logger) gen.StrictHTTPServerOptions {
	return gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			WriteProblems(w, Problem{Status: http.StatusBadRequest, Code: apicode.MalformedJSON, Message: "request body does not decode"})
		},
		ResponseErrorHandlerFunc: InternalError(log),
	}
}

// InternalError returns a handler of a server fault: the detail goes to log
// (nil: nowhere), the client gets a 500 envelope that says nothing of it.
// A store that cannot be reached ([store.ErrUnavailable]: its database is
// down) is no fault of the server's: a 503 envelope (1017) with a
// Retry-After header, which clients honour.
func InternalError(log *slog.Logger) func(w http.ResponseWriter, r *http.Request, err error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		// The request's own end, not the store's: its client left (a 499,
		// logged, unread), or its own deadline passed (a 504); only the
		// store's own timeout, with the request still live, is a 503.
		switch ctxErr := r.Context().Err(); {
		case errors.Is(ctxErr, context.Canceled):
			log.InfoContext(r.Context(), "client left before the answer", "method", r.Method, "route", r.Pattern)
			w.WriteHeader(StatusClientClosedRequest)
			return
		case errors.Is(ctxErr, context.DeadlineExceeded):
			log.WarnContext(r.Context(), "request past its own deadline", "method", r.Method, "route", r.Pattern, "error", err.Error())
			WriteProblems(w, Problem{Status: http.StatusGatewayTimeout, Code: apicode.RequestTimeout,
				Message: "the request ran past its deadline before the store answered"})
			return
		}
		// A store that has no room, or was handed an ID no checker saw,
		// says so as any operation's refusal would: the token path's
		// signing key among them.
		if p, ok := StoreRefusal(err); ok {
			log.WarnContext(r.Context(), "store refused", "method", r.Method, "route", r.Pattern, "error", err.Error())
			WriteProblems(w, p)
			return
		}
		if errors.Is(err, store.ErrUnavailable) {
			log.WarnContext(r.Context(), "store unavailable", "method", r.Method, "route", r.Pattern, "error", err.Error())
			w.Header().Set("Retry-After", strconv.Itoa(int(StoreRetryAfter/time.Second)))
			WriteProblems(w, Problem{Status: http.StatusServiceUnavailable, Code: apicode.StoreUnavailable,
				Message: "the server's store cannot be reached now: retry after " + strconv.Itoa(int(StoreRetryAfter/time.Second)) + " s"})
			return
		}
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "route", r.Pattern, "error", err.Error())
		WriteProblems(w, Problem{Status: http.StatusInternalServerError, Code: apicode.Internal, Message: "Internal error"})
	}
}

// StoreRetryAfter is the Retry-After of the 503 answered while the store
// cannot be reached.
const StoreRetryAfter = 2 * time.Second

// ParamErrorHandler is gen.StdHTTPServerOptions.ErrorHandlerFunc in an
// envelope: a parameter the generated wrapper could not read is a 400
// that names it, 1004 for a path parameter, 1002 for a query or header
// parameter (its value is not repeated).
func ParamErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	var (
		format   *gen.InvalidParamFormatError
		many     *gen.TooManyValuesForParamError
		required *gen.RequiredParamError
		header   *gen.RequiredHeaderError
		name     string
		why      = "invalid"
	)
	switch {
	case errors.As(err, &format):
		name = format.ParamName
	case errors.As(err, &many):
		name, why = many.ParamName, "given more than once"
	case errors.As(err, &required):
		name, why = required.ParamName, "required"
	case errors.As(err, &header):
		name = header.ParamName
	}
	if name == "" {
		WriteProblems(w, Problem{Status: http.StatusBadRequest, Code: apicode.InvalidPath, Message: "path parameters could not be read"})
		return
	}
	code := apicode.Schema
	if r.PathValue(name) != "" {
		code = apicode.InvalidPath
	}
	WriteProblems(w, Problem{Status: http.StatusBadRequest, Code: code, Message: name + ": " + why})
}

// NoRoute answers what no route of a ServeMux took, in envelopes: a path
// of spec (served under basePath) asked with a method the spec does not
// give it is a 405 (7001) with an Allow header; any other path a 404
// (7003). Mount it at "/". It matches the spec's paths itself, segment by
// segment, because method-less ServeMux patterns for them would conflict
// with the generated ones (POST .../stream/{identifier}/token against
// DELETE .../stream/keys/{identifier}).
func NoRoute(spec *openapi3.T, basePath string) http.Handler {
	type route struct {
		segments []string // "" for a parameter
		methods  []string
	}
	var routes []route
	for path, item := range spec.Paths.Map() {
		if len(item.Servers) > 0 {
			continue // served elsewhere than under basePath, and routed by its server
		}
		segs := strings.Split(strings.Trim(strings.TrimSuffix(basePath, "/")+path, "/"), "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				segs[i] = ""
			}
		}
		routes = append(routes, route{segs, slices.Collect(maps.Keys(item.Operations()))})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.EscapedPath(); len(p) > 1 && strings.HasSuffix(p, "/") {
			WriteProblems(w, Problem{Status: http.StatusNotFound, Code: apicode.NoRoute,
				Message: "No route for the URI: it ends in a slash, which no path of the API does (leave it out)"})
			return
		}
		segs := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
		var allow []string
		for _, rt := range routes {
			if len(rt.segments) == len(segs) && slices.EqualFunc(rt.segments, segs, func(want, got string) bool {
				return want == "" || want == got
			}) {
				allow = append(allow, rt.methods...)
			}
		}
		if len(allow) == 0 {
			WriteProblems(w, Problem{Status: http.StatusNotFound, Code: apicode.NoRoute, Message: "No route for the URI"})
			return
		}
		slices.Sort(allow)
		allowed := strings.Join(slices.Compact(allow), ", ")
		w.Header().Set("Allow", allowed)
		WriteProblems(w, Problem{Status: http.StatusMethodNotAllowed, Code: apicode.Method,
			Message: "Method " + r.Method + " not allowed: this route takes " + allowed})
	})
}
