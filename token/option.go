package token

import (
	"errors"
	"fmt"
	"time"
)

// SignerOption configures a [Signer]: [WithClock], [WithCrypto]. An option
// returns an error for a bad value; none panics. An option of a verifier
// alone ([WithLeeway]) is no SignerOption: giving one to a signer fails to
// build.
type SignerOption interface{ applySigner(*config) error }

// VerifierOption configures a [Verifier]: [WithClock], [WithLeeway].
type VerifierOption interface{ applyVerifier(*config) error }

// Option configures a [Signer] and a [Verifier] alike: [WithClock].
type Option interface {
	SignerOption
	VerifierOption
}

// config is what the options set.
type config struct {
	now    func() time.Time
	leeway time.Duration
	crypto Crypto // "" until WithCrypto
}

// both, signerOnly and verifierOnly are the options' implementations.
type (
	both         func(*config) error
	signerOnly   func(*config) error
	verifierOnly func(*config) error
)

func (o both) applySigner(c *config) error           { return o(c) }
func (o both) applyVerifier(c *config) error         { return o(c) }
func (o signerOnly) applySigner(c *config) error     { return o(c) }
func (o verifierOnly) applyVerifier(c *config) error { return o(c) }

func defaults() config { return config{now: time.Now, leeway: DefaultLeeway} }

// signerConfig applies a signer's options; a nil one is skipped.
func signerConfig[O SignerOption](opts []O) (config, error) {
	c := defaults()
	for _, opt := range opts {
		if any(opt) == nil {
			continue
		}
		if err := opt.applySigner(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// verifierConfig applies a verifier's options; a nil one is skipped.
func verifierConfig(opts []VerifierOption) (config, error) {
	c := defaults()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt.applyVerifier(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithClock sets the clock that a [Signer] defaults and checks exp and nbf
// against, or that a [Verifier] checks them against. The default is
// time.Now.
func WithClock(now func() time.Time) Option {
	return both(func(c *config) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.now = now
		return nil
	})
}

// WithLeeway makes a [Verifier] forgive clock skew of up to d when it checks
// exp and nbf: between 0 and [MaxLeeway]; the default is [DefaultLeeway].
// A [Signer] takes no leeway (it signs only what is valid at its time): it
// is no SignerOption.
func WithLeeway(d time.Duration) VerifierOption {
	return verifierOnly(func(c *config) error {
		if d < 0 || d > MaxLeeway {
			return fmt.Errorf("WithLeeway: %v: want between 0 and %v", d, MaxLeeway)
		}
		c.leeway = d
		return nil
	})
}

// WithCrypto chooses the implementation of RSA a [Signer] made by
// [NewSigner] signs with: [CryptoAuto] (the default: OpenSSL's where
// libcrypto loads, loading it then, else Go's), [CryptoOpenSSL] (an error
// when libcrypto cannot be loaded) or [CryptoGo] (libcrypto is never
// loaded). The choice is the signer's alone: nothing of the process
// changes. A [Verifier], which verifies with Go's, takes none, nor does a
// signer of a crypto.Signer of one's own ([NewCryptoSigner]).
func WithCrypto(choice Crypto) SignerOption {
	return signerOnly(func(c *config) error {
		switch choice {
		case CryptoAuto, CryptoOpenSSL, CryptoGo:
		default:
			return fmt.Errorf("WithCrypto: %q: want auto, openssl or go", string(choice))
		}
		c.crypto = choice
		return nil
	})
}
