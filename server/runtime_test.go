package server_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
)

func TestTuneRuntime(t *testing.T) {
	procs, gc := runtime.GOMAXPROCS(0), debug.SetGCPercent(100)
	defer func() {
		runtime.GOMAXPROCS(procs)
		debug.SetGCPercent(gc)
	}()
	none := func(string) string { return "" }
	if got := server.TuneRuntime(none, token.CryptoOpenSSL); got != 2*server.StartProcs || runtime.GOMAXPROCS(0) != got {
		t.Errorf("TuneRuntime(openssl) = %d, want two per core, %d", got, 2*server.StartProcs)
	}
	if now := debug.SetGCPercent(100); now != server.GCPercent {
		t.Errorf("GOGC after TuneRuntime = %d, want %d", now, server.GCPercent)
	}
	runtime.GOMAXPROCS(server.StartProcs)
	if got := server.TuneRuntime(none, token.CryptoGo); got != server.StartProcs {
		t.Errorf("TuneRuntime(go) = %d, want one per core, %d", got, server.StartProcs)
	}
	// What the environment sets, it keeps.
	set := func(name string) string { return map[string]string{"GOGC": "50", "GOMAXPROCS": "3"}[name] }
	debug.SetGCPercent(50)
	runtime.GOMAXPROCS(3)
	if got := server.TuneRuntime(set, token.CryptoOpenSSL); got != 3 || debug.SetGCPercent(100) != 50 {
		t.Errorf("TuneRuntime with GOGC and GOMAXPROCS set = %d, want them kept", got)
	}
}

func TestLimitMemory(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	none := func(string) string { return "" }
	if got := server.LimitMemory(none, 256<<20); got != 512<<20 || debug.SetMemoryLimit(-1) != got {
		t.Errorf("LimitMemory(256 MiB) = %d, want %d set", got, 512<<20)
	}
	set := func(k string) string { return map[string]string{"GOMEMLIMIT": "1GiB"}[k] }
	if got := server.LimitMemory(set, 256<<20); got != 0 {
		t.Errorf("LimitMemory with GOMEMLIMIT set = %d, want 0 (the environment's kept)", got)
	}
}
