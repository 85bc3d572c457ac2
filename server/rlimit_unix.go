//go:build unix

package server

import "syscall"

// openFileLimit is how many files the process may have open (its soft
// RLIMIT_NOFILE, which Go raises to the hard limit at start), if known.
func openFileLimit() (int, bool) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<30 {
		return 0, false
	}
	return int(lim.Cur), true
}
