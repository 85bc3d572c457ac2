package server

import (
	"runtime"
	"runtime/debug"

	"github.com/streamtoken/streamtoken/token"
)

// GCPercent is the garbage collector's target that [TuneRuntime] sets: a
// token server's live heap is small (a few MiB) and its garbage is every
// request's, so Go's default of 100 collects every few milliseconds under
// load; 400 spends a quarter of that CPU on it, for a few MiB more.
const GCPercent = 400

// startProcs is GOMAXPROCS as the process started: one per core it may
// use (its cgroup's limit, if lower).
var startProcs = runtime.GOMAXPROCS(0)

// TuneRuntime sets the Go runtime of a process that serves tokens, unless
// its environment (getenv) sets the same: GOGC to [GCPercent], and, when
// its RSA is OpenSSL's (whose signatures run in C), GOMAXPROCS to two per
// core: a goroutine in a C call holds its P until the scheduler takes it
// back, so that with one P per core every signature can leave requests
// waiting for a core that is in fact free (make load: about a quarter more
// tokens at 64 clients on 2 cores). It returns GOMAXPROCS. streamtoken serve calls
// it; a server of one's own may.
func TuneRuntime(getenv func(string) string, crypto token.Crypto) int {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if crypto == token.CryptoOpenSSL && getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * startProcs)
	}
	return runtime.GOMAXPROCS(0)
}
