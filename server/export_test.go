package server

import "time"

// SetQueueClock sets the clock q measures turns and waits by.
func SetQueueClock(q *SigningQueue, now func() time.Time) { q.now = now }

// CacheWaiters returns how many lookups have found a signature under way
// to wait for, in the flights not yet landed.
func CacheWaiters(c *TokenCache) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.flights {
		n += f.waiters
	}
	return n
}

// SetBodyRate sets the minimum rate s holds request bodies to.
func SetBodyRate(s *Server, window time.Duration, perSec int64) {
	s.bodyRate = bodyRate{window: window, perSec: perSec, write: WriteTimeout}
}

// IsIDSchema is isIDSchema, for the tests.
var IsIDSchema = isIDSchema
