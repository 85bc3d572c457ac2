// Package tune sets the Go runtime of a process that serves tokens: its
// garbage collector's target, GOMAXPROCS with OpenSSL's RSA, and a soft
// memory limit. These are the process's, so the command calls them, once,
// at start; the library's packages never do.
package tune

import (
	"runtime"
	"runtime/debug"

	"github.com/streamtoken/streamtoken/token"
)

// GCPercent is the garbage collector's target that [Runtime] sets: a
// token server's live heap is small (a few MiB) and its garbage is every
// request's, so Go's default of 100 collects every few milliseconds under
// load; 400 spends a quarter of that CPU on it, for a few MiB more.
const GCPercent = 400

// StartProcs is GOMAXPROCS as the process started: one per core it may
// use (its cgroup's limit, if lower).
var StartProcs = runtime.GOMAXPROCS(0)

// Runtime sets the Go runtime of a process that serves tokens, unless
// its environment (getenv) sets the same: GOGC to [GCPercent], and, when
// its RSA is OpenSSL's (whose signatures run in C), GOMAXPROCS to two per
// core: a goroutine in a C call holds its P until the scheduler takes it
// back, so that with one P per core every signature can leave requests
// waiting for a core that is in fact free. The signatures at once stay one
// per core (the signing queue's default): more would only share the cores
// and spend more CPU per token switching between them. It returns
// GOMAXPROCS. streamtoken serve calls it.
func Runtime(getenv func(string) string, crypto token.Crypto) int {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if crypto == token.CryptoOpenSSL && getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * StartProcs)
	}
	return runtime.GOMAXPROCS(0)
}

// Memory sets the Go runtime's soft memory limit for a process that
// keeps up to kept bytes live (a memory store's bound), unless its
// environment sets GOMEMLIMIT: that, and 256 MiB for the requests in
// flight and the runtime's own. With GCPercent's slack alone, a heap of kept live bytes could
// grow to five times it before a collection; near the limit the collector
// runs sooner instead. It returns the limit set, or 0.
func Memory(getenv func(string) string, kept int64) int64 {
	if getenv("GOMEMLIMIT") != "" || kept <= 0 {
		return 0
	}
	limit := kept + 256<<20
	debug.SetMemoryLimit(limit)
	return limit
}
