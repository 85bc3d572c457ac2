//go:build !unix

package server

// openFileLimit is not known on this platform.
func openFileLimit() (int, bool) { return 0, false }
