package token

import (
	"errors"
	"fmt"
	"time"
)

// Option configures a [Signer] or a [Verifier]. An option returns an error
// for a bad value, and a constructor refuses an option that does not apply
// to what it makes; none panics.
type Option func(*config) error

// config is what the options set.
type config struct {
	now       func() time.Time
	leeway    time.Duration
	leewaySet bool
	crypto    Crypto // "" until WithCrypto
}

func newConfig(opts []Option) (config, error) {
	c := config{now: time.Now, leeway: DefaultLeeway}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithClock sets the clock that a [Signer] defaults and checks exp and nbf
// against, or that a [Verifier] checks them against. The default is
// time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// WithLeeway makes a [Verifier] forgive clock skew of up to d when it checks
// exp and nbf: between 0 and [MaxLeeway]; the default is [DefaultLeeway].
// A [Signer] takes no leeway: it signs only what is valid at its time.
func WithLeeway(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > MaxLeeway {
			return fmt.Errorf("WithLeeway: %v: want between 0 and %v", d, MaxLeeway)
		}
		c.leeway, c.leewaySet = d, true
		return nil
	}
}

// WithCrypto chooses the implementation of RSA a [Signer] made by
// [NewSigner] signs with: [CryptoAuto] (the default: OpenSSL's where
// libcrypto loads, loading it then, else Go's), [CryptoOpenSSL] (an error
// when libcrypto cannot be loaded) or [CryptoGo] (libcrypto is never
// loaded). The choice is the signer's alone: nothing of the process
// changes. A [Verifier], which verifies with Go's, takes none.
func WithCrypto(choice Crypto) Option {
	return func(c *config) error {
		switch choice {
		case CryptoAuto, CryptoOpenSSL, CryptoGo:
		default:
			return fmt.Errorf("WithCrypto: %q: want auto, openssl or go", string(choice))
		}
		c.crypto = choice
		return nil
	}
}
