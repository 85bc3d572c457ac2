//go:build cgo && unix

package ossl

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"sync"

	"github.com/golang-fips/openssl/v2"
	"github.com/golang-fips/openssl/v2/bbig"
)

// libraries are the names libcrypto 3 goes by, tried in order.
var libraries = map[string][]string{
	"darwin": {"libcrypto.3.dylib"},
}

var (
	loadOnce sync.Once
	loadErr  error
	version  string
)

// Load loads libcrypto (once: later calls give the first one's answer)
// and returns its version text, such as "OpenSSL 3.0.19 27 Jan 2026".
func Load() (string, error) {
	loadOnce.Do(func() {
		names := libraries[runtime.GOOS]
		if names == nil {
			names = []string{"libcrypto.so.3"}
		}
		for _, name := range names {
			if exists, _ := openssl.CheckVersion(name); !exists {
				loadErr = fmt.Errorf("%w: %s cannot be loaded (OpenSSL 3: apt-get install libssl3)", ErrUnavailable, name)
				continue
			}
			if loadErr = openssl.Init(name); loadErr != nil {
				loadErr = fmt.Errorf("%w: %s: %v", ErrUnavailable, name, loadErr)
				continue
			}
			version = openssl.VersionText()
			return
		}
	})
	return version, loadErr
}

// loaded reports whether Load succeeded.
func loaded() bool {
	_, err := Load()
	return err == nil
}

// PrivateKey is an RSA private key held by libcrypto: a crypto.Signer of
// RSASSA-PKCS1-v1_5 signatures over SHA-256 digests. Its libcrypto handle
// is freed once the PrivateKey is garbage. It prints nothing of the key.
type PrivateKey struct {
	public *rsa.PublicKey
	key    *openssl.PrivateKeyRSA
}

// NewPrivateKey hands priv (of two primes) to libcrypto. The caller has
// sized it.
func NewPrivateKey(priv *rsa.PrivateKey) (*PrivateKey, error) {
	if !loaded() {
		return nil, ErrUnavailable
	}
	if priv == nil || len(priv.Primes) != 2 {
		return nil, errors.New("ossl: want an RSA key of two primes")
	}
	pre := priv.Precomputed
	if pre.Dp == nil || pre.Dq == nil || pre.Qinv == nil {
		priv.Precompute()
		pre = priv.Precomputed
	}
	key, err := openssl.NewPrivateKeyRSA(bbig.Enc(priv.N), bbig.Enc(big.NewInt(int64(priv.E))), bbig.Enc(priv.D),
		bbig.Enc(priv.Primes[0]), bbig.Enc(priv.Primes[1]), bbig.Enc(pre.Dp), bbig.Enc(pre.Dq), bbig.Enc(pre.Qinv))
	if err != nil {
		return nil, fmt.Errorf("ossl: libcrypto refused the key: %w", err)
	}
	return &PrivateKey{public: &priv.PublicKey, key: key}, nil
}

// Public implements crypto.Signer.
func (k *PrivateKey) Public() crypto.PublicKey { return k.public }

// Sign implements crypto.Signer: RSASSA-PKCS1-v1_5 of a SHA-256 digest.
// Other hashes and PSS are refused. rand is not used: libcrypto blinds
// with its own.
func (k *PrivateKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss || opts.HashFunc() != crypto.SHA256 || len(digest) != crypto.SHA256.Size() {
		return nil, errors.New("ossl: only RSASSA-PKCS1-v1_5 over a SHA-256 digest")
	}
	return openssl.SignRSAPKCS1v15(k.key, crypto.SHA256, digest)
}

// String describes the key without its material.
func (k *PrivateKey) String() string {
	return fmt.Sprintf("ossl.PrivateKey{RSA-%d, [redacted]}", k.public.N.BitLen())
}

// GoString is String, for %#v.
func (k *PrivateKey) GoString() string { return k.String() }
