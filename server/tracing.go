package server

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/streamtoken/streamtoken/internal/spans"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// tracerName names the server's spans' instrumentation scope.
const tracerName = "github.com/streamtoken/streamtoken/server"

// tracedStore is a store whose every call is a span, child of the
// request's.
type tracedStore struct {
	store.KeyStore
	tr trace.Tracer
}

func (t tracedStore) span(ctx context.Context, name, accountID string) (context.Context, trace.Span) {
	if accountID == "" {
		return spans.Start(ctx, t.tr, "store."+name)
	}
	return spans.Start(ctx, t.tr, "store."+name, spans.Account.String(accountID))
}

func (t tracedStore) AddKey(ctx context.Context, k store.Key, max int) (err error) {
	ctx, s := t.span(ctx, "AddKey", k.AccountID)
	defer func() { spans.End(s, err) }()
	return t.KeyStore.AddKey(ctx, k, max)
}

func (t tracedStore) Keys(ctx context.Context, accountID string) (_ []store.Key, err error) {
	ctx, s := t.span(ctx, "Keys", accountID)
	defer func() { spans.End(s, err) }()
	return t.KeyStore.Keys(ctx, accountID)
}

func (t tracedStore) DeleteKey(ctx context.Context, accountID, keyID string) (err error) {
	ctx, s := t.span(ctx, "DeleteKey", accountID)
	defer func() { spans.End(s, err) }()
	return t.KeyStore.DeleteKey(ctx, accountID, keyID)
}

func (t tracedStore) AllKeys(ctx context.Context) (_ []store.Key, err error) {
	ctx, s := t.span(ctx, "AllKeys", "")
	defer func() { spans.End(s, err) }()
	return t.KeyStore.AllKeys(ctx)
}

func (t tracedStore) AccountKey(ctx context.Context, accountID string) (_ *token.Key, err error) {
	ctx, s := t.span(ctx, "AccountKey", accountID)
	defer func() { spans.End(s, err) }()
	return t.KeyStore.AccountKey(ctx, accountID)
}

func (t tracedStore) EnsureAccountKey(ctx context.Context, accountID string, max int, generate func() (*token.Key, error)) (_ *token.Key, err error) {
	ctx, s := t.span(ctx, "EnsureAccountKey", accountID)
	defer func() { spans.End(s, err) }()
	return t.KeyStore.EnsureAccountKey(ctx, accountID, max, generate)
}
