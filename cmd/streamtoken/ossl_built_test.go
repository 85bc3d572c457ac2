//go:build cgo && unix

package main

// opensslBuilt: this build loads libcrypto, and on the machines the
// project is tested on it must.
const opensslBuilt = true
