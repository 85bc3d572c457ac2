package server

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
)

// Media serves what the core leaves to others: the operations on videos
// and live inputs ([gen.MediaOperations]: their details, lists, direct
// uploads) and the routes beside them outside the API (an upload URL).
// The Cloudflare stand-in (package standin) is one. Token issuance asks
// nothing of it but whether a video exists, and that through a
// [VideoChecker].
type Media interface {
	gen.MediaOperations
	// Mount is called once, by [New], before the server serves: the
	// media's routes outside the API go on m, and what it returns (nil:
	// nothing) wraps the strict handler of every operation, as
	// Config.OperationMiddlewares do. An error fails New.
	Mount(m Mount) (gen.StrictMiddlewareFunc, error)
}

// Mount is what [New] lends the [Media] it composes; only New makes one
// that can route (a Mount made elsewhere has no mux to lend).
type Mount struct {
	// Tracer traces the requests; nil: tracing is off.
	Tracer trace.Tracer
	// Refused counts a store's refusal for room (store_refusals in
	// /metrics, by [store.RefusalReason]); other errors are not counted.
	Refused func(err error)
	// Registerer is where the server's metrics are registered: the
	// media's own go there too (see [Register]).
	Registerer prometheus.Registerer

	mux      *http.ServeMux
	untraced *[]string
}

// Register registers c with the server's metrics, or returns the
// collector of the same description already there (servers sharing a
// registry count together).
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	var err error
	register(reg, &c, &err)
	return c, err
}

// HandleSecretPath serves h at pattern ("POST /upload/{account_id}/{id}"),
// a route at the root outside the API, served without credentials (h
// checks what it takes), under the server's recovery and metrics; its
// path holds a secret (a capability), so no span records it: its requests
// are not traced.
func (m Mount) HandleSecretPath(pattern string, h http.Handler) {
	if m.mux == nil {
		panic("server: a Mount not made by server.New has no mux to route " + pattern + " on")
	}
	m.mux.Handle(pattern, h)
	_, path, _ := strings.Cut(pattern, " ")
	prefix, _, _ := strings.Cut(path, "{")
	*m.untraced = append(*m.untraced, prefix)
}

// noMedia answers every media operation of a server given no [Media]
// with a 404 envelope, as a route it does not serve, before anything is
// checked of it; it reads the route the ServeMux matched, and so is
// mounted inside it (gen.StdHTTPServerOptions.Middlewares).
func noMedia(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if serviceOf[operations[r.Pattern]] == mediaService {
			WriteProblems(w, Problem{Status: http.StatusNotFound, Code: apicode.NoRoute,
				Message: "this server serves no video or live-input operations: tokens and keys alone"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// unmounted stands for the media operations of a server given no Media:
// noMedia answers them before they would be called.
type unmounted struct{ gen.MediaOperations }
