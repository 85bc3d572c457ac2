package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// op bounds an operation by the store's timeout.
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// inTx runs f in a transaction bounded by the store's timeout, committed
// when f returns nil.
func (s *Store) inTx(ctx context.Context, f func(context.Context, pgx.Tx) error) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after a commit, a no-op
	if err := f(ctx, tx); err != nil {
		return unavailable(err)
	}
	return unavailable(tx.Commit(ctx))
}

// lock takes a transaction's advisory lock on name: concurrent
// transactions on any replica wait for each other.
func lock(ctx context.Context, tx pgx.Tx, name string) error {
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "streamtoken/"+name)
	return err
}
