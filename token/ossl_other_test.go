//go:build !cgo || !unix

package token_test

// opensslBuilt: this build has Go's RSA alone.
const opensslBuilt = false
