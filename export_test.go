package streamtoken

import (
	"context"
	"time"
)

// WithSleep replaces the wait between retries, so that tests can see the
// waits the client would make without spending them. Tests only.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) error {
		c.sleep = sleep
		return nil
	}
}

// SetKeySetClock replaces the clock that ages a KeySet. Tests only.
func SetKeySetClock(j *KeySet, now func() time.Time) { j.now = now }
