package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/buildinfo"
	"github.com/streamtoken/streamtoken/internal/spans"
	"github.com/streamtoken/streamtoken/token"
)

type metrics struct {
	buildInfo *prometheus.GaugeVec
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	signed    *prometheus.CounterVec
	refusals  *prometheus.CounterVec // the store's, for room

	queueWaiting prometheus.Gauge
	queueWait    prometheus.Histogram
	queueLeft    *prometheus.CounterVec
	outcomes     [QueueCancelled + 1]prometheus.Counter // queueLeft's children, resolved once

	cacheLookups *prometheus.CounterVec
	cacheHits    prometheus.Counter // cacheLookups' children, resolved once
	cacheMisses  prometheus.Counter
	cacheEvicted prometheus.Counter
	cacheEntries prometheus.Gauge
	cacheBytes   prometheus.Gauge

	handler http.Handler
}

var (
	_ QueueObserver = (*metrics)(nil)
	_ CacheObserver = (*metrics)(nil)
)

// newMetrics registers the server's metrics with reg, or takes those a
// server before it registered there (two servers sharing a registry count
// together), and serves what gather gathers. A registry of the server's
// own (own) gets the Go runtime's and the process's metrics too; one of the
// caller's has them already (prometheus.DefaultRegisterer does) or not, as
// its owner decided.
func newMetrics(reg prometheus.Registerer, gather prometheus.Gatherer, own bool, crypto token.Crypto) (*metrics, error) {
	if own {
		if err := reg.Register(collectors.NewGoCollector()); err != nil {
			return nil, err
		}
		if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return nil, err
		}
	}
	m := &metrics{
		queueWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamtoken_signing_queue_length",
			Help: "Token requests waiting for a signing worker.",
		}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "streamtoken_signing_queue_wait_seconds",
			Help:    "How long admitted token requests waited for a signing worker.",
			Buckets: []float64{0, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		queueLeft: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamtoken_signing_queue_requests_total",
			Help: "Token requests the signing queue decided on, by outcome: admitted, shed (429) or cancelled (client gone).",
		}, []string{"outcome"}),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamtoken_token_cache_lookups_total",
			Help: "Tokens asked of the token cache, by result: hit (no signature) or miss.",
		}, []string{"result"}),
		cacheEvicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "streamtoken_token_cache_evictions_total",
			Help: "Tokens dropped from the token cache, to make room or because they expired.",
		}),
		cacheEntries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamtoken_token_cache_entries",
			Help: "Tokens in the token cache.",
		}),
		cacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamtoken_token_cache_bytes",
			Help: "Memory the tokens in the token cache take, as its bound counts it.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamtoken_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamtoken_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		signed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamtoken_tokens_signed_total",
			Help: "Tokens issued (signed, or identical to one signed and cached), by whose key: the account's or one sent in the request.",
		}, []string{"key"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamtoken_store_refusals_total",
			Help: "Changes the store refused for room, by reason: store_full (its bound of bytes), account_quota (the account's media bytes), media_limit (the account's count of media).",
		}, []string{"reason"}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "streamtoken_build_info",
			Help: "The running build, in its labels (always 1): module version, VCS revision, Go version, and the RSA it signs with.",
		}, []string{"version", "revision", "goversion", "crypto"}),
		handler: promhttp.HandlerFor(gather, promhttp.HandlerOpts{}),
	}
	var err error
	register(reg, &m.buildInfo, &err)
	register(reg, &m.requests, &err)
	register(reg, &m.duration, &err)
	register(reg, &m.signed, &err)
	register(reg, &m.refusals, &err)
	register(reg, &m.queueWaiting, &err)
	register(reg, &m.queueWait, &err)
	register(reg, &m.queueLeft, &err)
	register(reg, &m.cacheLookups, &err)
	register(reg, &m.cacheEvicted, &err)
	register(reg, &m.cacheEntries, &err)
	register(reg, &m.cacheBytes, &err)
	if err != nil {
		return nil, err
	}
	// Every series from the start, so that a dashboard shows 0, not "no
	// data"; resolved once, not per request.
	for _, o := range []QueueOutcome{QueueAdmitted, QueueShed, QueueCancelled} {
		m.outcomes[o] = m.queueLeft.WithLabelValues(o.String())
	}
	build := buildinfo.Read()
	m.buildInfo.WithLabelValues(build.Version, build.Revision, build.GoVersion, string(crypto)).Set(1)
	for _, reason := range []string{"store_full", "account_quota", "media_limit"} {
		m.refusals.WithLabelValues(reason)
	}
	m.cacheHits = m.cacheLookups.WithLabelValues("hit")
	m.cacheMisses = m.cacheLookups.WithLabelValues("miss")
	return m, nil
}

func (m *metrics) QueueWaiting(delta int) { m.queueWaiting.Add(float64(delta)) }

func (m *metrics) QueueLeft(wait time.Duration, o QueueOutcome) {
	if o >= 0 && int(o) < len(m.outcomes) {
		m.outcomes[o].Inc()
	}
	if o == QueueAdmitted {
		m.queueWait.Observe(wait.Seconds())
	}
}

func (m *metrics) CacheLookup(hit bool) {
	if hit {
		m.cacheHits.Inc()
	} else {
		m.cacheMisses.Inc()
	}
}

func (m *metrics) CacheSize(entries, bytes int) {
	m.cacheEntries.Add(float64(entries))
	m.cacheBytes.Add(float64(bytes))
}

func (m *metrics) CacheEvicted(n int) { m.cacheEvicted.Add(float64(n)) }

// register registers *c, or sets *c to the collector of the same
// description already registered. After a first error, it does nothing.
func register[C prometheus.Collector](reg prometheus.Registerer, c *C, errp *error) {
	if *errp != nil {
		return
	}
	err := reg.Register(*c)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			*c = existing
			return
		}
	}
	*errp = err
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe counts, times and logs every request: one line with the method,
// the route pattern (not the raw path), the status, the duration in
// milliseconds, the account and, when the request is traced, its trace ID
// (and its span gets the route, the account and the operation, which
// operationOf finds by the pattern). Nothing else of the request is
// logged.
func (m *metrics) observe(log *slog.Logger, operationOf func(pattern string) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		span := trace.SpanFromContext(r.Context())
		traced := span.SpanContext().IsValid()
		if !traced && !log.Enabled(r.Context(), slog.LevelInfo) {
			return // no line to write, no span to name: nothing built for them
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", rec.status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		}
		account := r.PathValue(gen.ParamAccountID)
		if account != "" {
			attrs = append(attrs, slog.String("account", account))
		}
		if traced {
			// The operation's span (otelhttp names it by the route
			// template once the route is known).
			if _, path, ok := strings.Cut(r.Pattern, " "); ok {
				span.SetAttributes(semconv.HTTPRoute(path))
			}
			if account != "" {
				span.SetAttributes(spans.Account.String(account))
			}
			if op := operationOf(r.Pattern); op != "" {
				span.SetAttributes(spans.Operation.String(op))
			}
			attrs = append(attrs, slog.String("trace_id", span.SpanContext().TraceID().String()))
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}
