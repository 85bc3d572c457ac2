package server

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// countedStore counts the store's refusals for room in /metrics, whatever
// operation met them.
type countedStore struct {
	store.KeyStore
	refusals *prometheus.CounterVec
}

// count adds err to its reason's count, if it is a refusal for room, and
// returns it.
func (c countedStore) count(err error) error {
	countRefusal(c.refusals, err)
	return err
}

// countRefusal adds err to its reason's count, if it is a refusal for
// room: the keys' and the media's (through Mount.Refused) alike.
func countRefusal(refusals *prometheus.CounterVec, err error) {
	if reason := store.RefusalReason(err); reason != "" {
		refusals.WithLabelValues(reason).Inc()
	}
}

func (c countedStore) AddKey(ctx context.Context, k store.Key, max int) error {
	return c.count(c.KeyStore.AddKey(ctx, k, max))
}

func (c countedStore) EnsureAccountKey(ctx context.Context, accountID string, max int, generate func() (*token.Key, error)) (*token.Key, error) {
	k, err := c.KeyStore.EnsureAccountKey(ctx, accountID, max, generate)
	return k, c.count(err)
}
