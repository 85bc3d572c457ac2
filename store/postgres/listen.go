package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// channel is what the replicas listen on.
const channel = "streamtoken"

// Kinds of change, the first byte of a notification's payload, then the
// account's ID.
const (
	changedKeys       = 'k'
	changedAccountKey = 'a'
)

func notify(ctx context.Context, tx pgx.Tx, kind byte, accountID string) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(kind)+accountID)
	return err
}

// unknown reports whether the account has no key of any kind, as far as
// the listener vouches for. s.mu is held.
func (s *Store) unknown(accountID string) bool {
	return s.synced && s.known != nil && !s.known[accountID]
}

// invalidate marks what a change made stale, in this replica. A stale key
// list is kept, not dropped: it is read again at the next use, and served
// while the database cannot be reached (the change may be this replica's
// own, heard after a later read).
func (s *Store) invalidate(kind byte, accountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	if s.known != nil {
		s.known[accountID] = true
	}
	switch kind {
	case changedKeys:
		if c, ok := s.keys[accountID]; ok {
			c.valid = false
			s.keys[accountID] = c
		}
	case changedAccountKey: // made, or replaced: read it again
		delete(s.none, accountID)
		delete(s.signed, accountID)
	}
}

// deaf marks what is cached as no longer vouched for: the listener lost
// its connection, and changes made meanwhile go unheard. The values stay,
// to serve while the database is away.
func (s *Store) deaf() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.synced = false
	s.unvouch()
}

// unvouch marks every cached value as one to read again, keeping it to
// serve while the database cannot be reached. s.mu is held.
func (s *Store) unvouch() {
	s.epoch++
	s.known = nil
	for a, c := range s.keys {
		c.valid = false
		s.keys[a] = c
	}
	clear(s.none)
}

// listen holds a connection that listens for the replicas' changes,
// connecting again (after a pause that grows to 2 s) whenever it is lost,
// until ctx ends.
func (s *Store) listen(ctx context.Context, cc *pgx.ConnConfig) {
	pause := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, cc)
		s.deaf()
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("PostgreSQL store: not hearing the other replicas' changes; reading through until the listener is back", "error", err.Error())
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// listenOnce connects, listens, and hands each notification on until the
// connection fails.
func (s *Store) listenOnce(ctx context.Context, cc *pgx.ConnConfig) error {
	cctx, cancel := s.op(ctx)
	conn, err := pgx.ConnectConfig(cctx, cc)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	lctx, cancel := s.op(ctx)
	_, err = conn.Exec(lctx, "LISTEN "+channel)
	cancel()
	if err != nil {
		return err
	}
	// From here on every change is heard: what was read before may
	// predate one, so it is read again; the accounts with keys are listed
	// now, and each change heard adds its account.
	known, err := s.knownAccounts(ctx, conn)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.unvouch()
	s.known = known
	s.synced = true
	s.mu.Unlock()
	s.log.Info("PostgreSQL store: listening for the other replicas' changes")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Channel == channel && len(n.Payload) > 1 {
			s.invalidate(n.Payload[0], n.Payload[1:])
		}
	}
}

// knownAccounts lists the accounts with a key of any kind, or nil when
// there are more than maxKnown.
func (s *Store) knownAccounts(ctx context.Context, conn *pgx.Conn) (map[string]bool, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	rows, err := conn.Query(ctx, "SELECT account_id FROM streamtoken_account_keys UNION SELECT account_id FROM streamtoken_keys LIMIT $1", maxKnown+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	known := map[string]bool{}
	for rows.Next() {
		var account string
		if err := rows.Scan(&account); err != nil {
			return nil, err
		}
		known[account] = true
	}
	if len(known) > maxKnown {
		return nil, rows.Err()
	}
	return known, rows.Err()
}
