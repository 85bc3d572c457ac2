package standin

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/streamtoken/streamtoken/internal/spans"
	"github.com/streamtoken/streamtoken/store"
)

// observed is the media store as the server sees its own: each call a
// span, child of the request's (when tr is set), and each refusal for
// room counted (when refused is set).
type observed struct {
	next    store.Media
	tr      trace.Tracer
	refused func(error)
}

func (o observed) span(ctx context.Context, name string, kind store.Kind, accountID string) (context.Context, trace.Span) {
	return spans.Start(ctx, o.tr, "store."+name, spans.Account.String(accountID), spans.MediaKind.String(string(kind)))
}

func (o observed) count(err error) error {
	if err != nil && o.refused != nil {
		o.refused(err)
	}
	return err
}

func (o observed) Media(ctx context.Context, kind store.Kind, accountID, id string) (_ []byte, _ bool, err error) {
	ctx, s := o.span(ctx, "Media", kind, accountID)
	defer func() { spans.End(s, err) }()
	return o.next.Media(ctx, kind, accountID, id)
}

func (o observed) EditMedia(ctx context.Context, kind store.Kind, accountID, id string, max int, edit func([]byte, bool) ([]byte, error)) (_ []byte, err error) {
	ctx, s := o.span(ctx, "EditMedia", kind, accountID)
	defer func() { spans.End(s, err) }()
	details, err := o.next.EditMedia(ctx, kind, accountID, id, max, edit)
	return details, o.count(err)
}

func (o observed) DeleteMedia(ctx context.Context, kind store.Kind, accountID, id string) (err error) {
	ctx, s := o.span(ctx, "DeleteMedia", kind, accountID)
	defer func() { spans.End(s, err) }()
	return o.next.DeleteMedia(ctx, kind, accountID, id)
}

func (o observed) ListMedia(ctx context.Context, kind store.Kind, accountID string, q store.MediaQuery) (_ store.MediaPage, err error) {
	ctx, s := o.span(ctx, "ListMedia", kind, accountID)
	defer func() { spans.End(s, err) }()
	return o.next.ListMedia(ctx, kind, accountID, q)
}
