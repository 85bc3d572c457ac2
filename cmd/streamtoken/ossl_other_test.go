//go:build !cgo || !unix

package main

// opensslBuilt: this build has Go's RSA alone.
const opensslBuilt = false
