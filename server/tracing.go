package server

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// tracerName names the server's spans' instrumentation scope.
const tracerName = "github.com/streamtoken/streamtoken/server"

// The attributes of the server's spans: what a request is about, never a
// token, key or credential.
const (
	attrAccount   = attribute.Key("streamtoken.account")
	attrOperation = attribute.Key("streamtoken.operation")
	attrKind      = attribute.Key("streamtoken.media_kind")
)

// startSpan starts a child span of ctx's when tr is set (tracing on), and
// is free otherwise: no span, no allocation.
func startSpan(ctx context.Context, tr trace.Tracer, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if tr == nil {
		return ctx, nil
	}
	return tr.Start(ctx, name, trace.WithAttributes(attrs...))
}

// endSpan ends s (nil: tracing off), marked failed when err is set. The
// error's text is not recorded: what it says of a request stays in the
// server's own log.
func endSpan(s trace.Span, err error) {
	if s == nil {
		return
	}
	if err != nil {
		s.SetStatus(codes.Error, "failed")
	}
	s.End()
}

// tracedStore is a store whose every call is a span, child of the
// request's.
type tracedStore struct {
	store.Store
	tr trace.Tracer
}

func (t tracedStore) span(ctx context.Context, name, accountID string) (context.Context, trace.Span) {
	if accountID == "" {
		return startSpan(ctx, t.tr, "store."+name)
	}
	return startSpan(ctx, t.tr, "store."+name, attrAccount.String(accountID))
}

func (t tracedStore) AddKey(ctx context.Context, k store.Key, max int) (err error) {
	ctx, s := t.span(ctx, "AddKey", k.AccountID)
	defer func() { endSpan(s, err) }()
	return t.Store.AddKey(ctx, k, max)
}

func (t tracedStore) Keys(ctx context.Context, accountID string) (_ []store.Key, err error) {
	ctx, s := t.span(ctx, "Keys", accountID)
	defer func() { endSpan(s, err) }()
	return t.Store.Keys(ctx, accountID)
}

func (t tracedStore) DeleteKey(ctx context.Context, accountID, keyID string) (err error) {
	ctx, s := t.span(ctx, "DeleteKey", accountID)
	defer func() { endSpan(s, err) }()
	return t.Store.DeleteKey(ctx, accountID, keyID)
}

func (t tracedStore) AllKeys(ctx context.Context) (_ []store.Key, err error) {
	ctx, s := t.span(ctx, "AllKeys", "")
	defer func() { endSpan(s, err) }()
	return t.Store.AllKeys(ctx)
}

func (t tracedStore) AccountKey(ctx context.Context, accountID string) (_ *token.Key, err error) {
	ctx, s := t.span(ctx, "AccountKey", accountID)
	defer func() { endSpan(s, err) }()
	return t.Store.AccountKey(ctx, accountID)
}

func (t tracedStore) EnsureAccountKey(ctx context.Context, accountID string, max int, generate func() (*token.Key, error)) (_ *token.Key, err error) {
	ctx, s := t.span(ctx, "EnsureAccountKey", accountID)
	defer func() { endSpan(s, err) }()
	return t.Store.EnsureAccountKey(ctx, accountID, max, generate)
}

func (t tracedStore) Media(ctx context.Context, kind store.Kind, accountID, id string) (_ []byte, _ bool, err error) {
	ctx, s := t.span(ctx, "Media", accountID)
	if s != nil {
		s.SetAttributes(attrKind.String(string(kind)))
	}
	defer func() { endSpan(s, err) }()
	return t.Store.Media(ctx, kind, accountID, id)
}

func (t tracedStore) EditMedia(ctx context.Context, kind store.Kind, accountID, id string, max int, edit func([]byte, bool) ([]byte, error)) (_ []byte, err error) {
	ctx, s := t.span(ctx, "EditMedia", accountID)
	if s != nil {
		s.SetAttributes(attrKind.String(string(kind)))
	}
	defer func() { endSpan(s, err) }()
	return t.Store.EditMedia(ctx, kind, accountID, id, max, edit)
}

func (t tracedStore) DeleteMedia(ctx context.Context, kind store.Kind, accountID, id string) (err error) {
	ctx, s := t.span(ctx, "DeleteMedia", accountID)
	if s != nil {
		s.SetAttributes(attrKind.String(string(kind)))
	}
	defer func() { endSpan(s, err) }()
	return t.Store.DeleteMedia(ctx, kind, accountID, id)
}

func (t tracedStore) ListMedia(ctx context.Context, kind store.Kind, accountID string, q store.MediaQuery) (_ store.MediaPage, err error) {
	ctx, s := t.span(ctx, "ListMedia", accountID)
	if s != nil {
		s.SetAttributes(attrKind.String(string(kind)))
	}
	defer func() { endSpan(s, err) }()
	return t.Store.ListMedia(ctx, kind, accountID, q)
}
