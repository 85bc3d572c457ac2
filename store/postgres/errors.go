package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamtoken/streamtoken/store"
)

// own are the errors a transaction returns of its own accord, which say
// nothing of the database.
var own = []error{store.ErrUnavailable, store.ErrKeyExists, store.ErrKeyLimit, store.ErrNoSuchKey,
	store.ErrAccountLimit, store.ErrMediaLimit, context.Canceled}

// unavailable marks an error that says the database cannot be reached now
// (a connection refused, lost or timed out; the server shutting down or
// out of connections) as store.ErrUnavailable. The store's own errors, a
// caller's edit's, and the database's about the request itself stay as
// they are.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range own {
		if errors.Is(err, e) {
			return err
		}
	}
	var ee editError
	if errors.As(err, &ee) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "53", "57": // connection exception, insufficient resources, operator intervention
		default:
			return err
		}
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// editError carries an error of the caller's edit (or of its result)
// through the transaction unchanged: it is no sign of the database's.
type editError struct{ err error }

func (e editError) Error() string { return e.err.Error() }

func (e editError) Unwrap() error { return e.err }
