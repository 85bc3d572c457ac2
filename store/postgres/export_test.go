package postgres

// Synced reports whether s's listener hears every change, for tests that
// must wait until it does.
func Synced(s *Store) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.synced
}

// Hear has s act on a change of an account's keys as its listener would on
// hearing one.
func Hear(s *Store, accountID string) { s.invalidate(changedKeys, accountID) }
