package main

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/streamtoken/streamtoken/internal/buildinfo"
)

// The environment variables of OpenTelemetry's OTLP exporter that turn
// serve's tracing on (the exporter reads them, and the others of its
// kind, itself).
const (
	envOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// tracerProvider is serve's tracing: off (nil, and a no-op shutdown)
// unless --otlp-endpoint or the OTLP exporter's environment names where
// traces go; then an OTLP/HTTP exporter in batches, whose shutdown sends
// what is left.
func tracerProvider(ctx context.Context, endpoint string, getenv func(string) string, log *slog.Logger) (*sdktrace.TracerProvider, func(), error) {
	if endpoint == "" && getenv(envOTLPEndpoint) == "" && getenv(envOTLPTracesEndpoint) == "" {
		return nil, func() {}, nil
	}
	var opts []otlptracehttp.Option
	where := "the endpoint " + envOTLPEndpoint + " names"
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, nil, errors.New("want an http or https URL with a host and no user (http://127.0.0.1:4318)")
		}
		// A base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is: traces go to its
		// /v1/traces.
		opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimRight(endpoint, "/")+"/v1/traces"))
		where = u.Scheme + "://" + u.Host
	}
	otel.SetErrorHandler(exportErrors(log, 10*time.Second))
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, nil, err
	}
	build := buildinfo.Read()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(resource.NewSchemaless(
		semconv.ServiceName("streamtoken"), semconv.ServiceVersion(build.Version))))
	log.Info("tracing: spans go by OTLP/HTTP", "to", where)
	return tp, func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			log.Warn("tracing: the last spans could not be sent", "error", err.Error())
		}
	}, nil
}

// exportErrors is OpenTelemetry's handler of the errors it cannot return
// (a failed export, mostly): each goes to the log, in its format, at most
// one every interval, the next saying how many were left out, so that a
// collector that fails every batch does not flood the log.
func exportErrors(log *slog.Logger, interval time.Duration) otel.ErrorHandler {
	var (
		mu      sync.Mutex
		last    time.Time
		skipped int
	)
	return otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(last) >= interval {
			log.Warn("tracing: spans could not be sent", "error", err.Error(), "errors_left_out", skipped)
			last, skipped = now, 0
			return
		}
		skipped++
	})
}
