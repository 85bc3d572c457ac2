package server

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// countedStore counts the store's refusals for room in /metrics, whatever
// operation met them.
type countedStore struct {
	store.Store
	refusals *prometheus.CounterVec
}

// count adds err to its reason's count, if it is a refusal for room, and
// returns it.
func (c countedStore) count(err error) error {
	switch {
	case err == nil:
	case errors.Is(err, store.ErrFull):
		c.refusals.WithLabelValues("store_full").Inc()
	case errors.Is(err, store.ErrAccountQuota):
		c.refusals.WithLabelValues("account_quota").Inc()
	case errors.Is(err, store.ErrMediaLimit):
		c.refusals.WithLabelValues("media_limit").Inc()
	}
	return err
}

func (c countedStore) AddKey(ctx context.Context, k store.Key, max int) error {
	return c.count(c.Store.AddKey(ctx, k, max))
}

func (c countedStore) EnsureAccountKey(ctx context.Context, accountID string, max int, generate func() (*token.Key, error)) (*token.Key, error) {
	k, err := c.Store.EnsureAccountKey(ctx, accountID, max, generate)
	return k, c.count(err)
}

func (c countedStore) EditMedia(ctx context.Context, kind store.Kind, accountID, id string, max int, edit func([]byte, bool) ([]byte, error)) ([]byte, error) {
	details, err := c.Store.EditMedia(ctx, kind, accountID, id, max, edit)
	return details, c.count(err)
}
