// Package spans holds the few pieces of OpenTelemetry tracing the server
// and the Cloudflare stand-in share: the attributes of their spans, and
// spans that cost nothing when tracing is off.
package spans

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// The attributes of the spans: what a request is about, never a token,
// key or credential.
const (
	Account   = attribute.Key("streamtoken.account")
	Operation = attribute.Key("streamtoken.operation")
	MediaKind = attribute.Key("streamtoken.media_kind")
)

// Start starts a child span of ctx's when tr is set (tracing on), and is
// free otherwise: no span, no allocation.
func Start(ctx context.Context, tr trace.Tracer, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if tr == nil {
		return ctx, nil
	}
	return tr.Start(ctx, name, trace.WithAttributes(attrs...))
}

// End ends s (nil: tracing off), marked failed when err is set. The
// error's text is not recorded: what it says of a request stays in the
// server's own log.
func End(s trace.Span, err error) {
	if s == nil {
		return
	}
	if err != nil {
		s.SetStatus(codes.Error, "failed")
	}
	s.End()
}
