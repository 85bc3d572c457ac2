// Package ossl signs with RSA keys through OpenSSL's libcrypto 3, loaded at
// run time (dlopen of libcrypto.so.3) by github.com/golang-fips/openssl/v2:
// two to four times the signatures per core of Go's crypto/rsa. It needs
// cgo; without it (CGO_ENABLED=0), [Load] says so and nothing else works.
// It makes no keys: Go's crypto/rsa generates RSA-2048 keys some three
// times faster than OpenSSL 3.0 (65 ms against 195 ms on a core here).
//
// It does RSASSA-PKCS1-v1_5 with SHA-256 only, the one signature a Stream
// token has. Callers size keys before they get here (package token does);
// nothing here logs, and no error holds key material.
package ossl

import "errors"

// ErrUnavailable is what the package's functions return when libcrypto is
// not loaded: built without cgo, no libcrypto.so.3, or Load not called.
var ErrUnavailable = errors.New("OpenSSL's libcrypto is not loaded")
