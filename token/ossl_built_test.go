//go:build cgo && unix

package token_test

// opensslBuilt: this build loads libcrypto (cgo, a unix). On the machines
// the project is tested on libcrypto.so.3 is installed, so the OpenSSL
// tests run and must pass; they never skip in such a build.
const opensslBuilt = true
