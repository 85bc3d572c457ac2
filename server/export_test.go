package server

import "time"

// SetQueueClock sets the clock q measures turns and waits by.
func SetQueueClock(q *SigningQueue, now func() time.Time) { q.now = now }
