//go:build !cgo || !unix

package ossl

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"io"
	"runtime"
)

// Load says why there is no libcrypto here: this build has no cgo, or the
// platform is not one this package loads libcrypto on.
func Load() (string, error) {
	switch runtime.GOOS {
	case "windows", "plan9", "js", "wasip1":
		return "", fmt.Errorf("%w: not loaded on %s", ErrUnavailable, runtime.GOOS)
	}
	return "", fmt.Errorf("%w: this build has no cgo (CGO_ENABLED=0)", ErrUnavailable)
}

// PrivateKey is never made in this build.
type PrivateKey struct{}

// NewPrivateKey is ErrUnavailable in this build.
func NewPrivateKey(*rsa.PrivateKey) (*PrivateKey, error) { return nil, ErrUnavailable }

// Public implements crypto.Signer.
func (*PrivateKey) Public() crypto.PublicKey { return nil }

// Sign implements crypto.Signer.
func (*PrivateKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, ErrUnavailable
}
