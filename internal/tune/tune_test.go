package tune_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/streamtoken/streamtoken/internal/tune"
	"github.com/streamtoken/streamtoken/token"
)

func TestRuntime(t *testing.T) {
	procs, gc := runtime.GOMAXPROCS(0), debug.SetGCPercent(100)
	defer func() {
		runtime.GOMAXPROCS(procs)
		debug.SetGCPercent(gc)
	}()
	none := func(string) string { return "" }
	if got := tune.Runtime(none, token.CryptoOpenSSL); got != 2*tune.StartProcs || runtime.GOMAXPROCS(0) != got {
		t.Errorf("Runtime(openssl) = %d, want two per core, %d", got, 2*tune.StartProcs)
	}
	if now := debug.SetGCPercent(100); now != tune.GCPercent {
		t.Errorf("GOGC after Runtime = %d, want %d", now, tune.GCPercent)
	}
	runtime.GOMAXPROCS(tune.StartProcs)
	if got := tune.Runtime(none, token.CryptoGo); got != tune.StartProcs {
		t.Errorf("Runtime(go) = %d, want one per core, %d", got, tune.StartProcs)
	}
	// What the environment sets, it keeps.
	set := func(name string) string { return map[string]string{"GOGC": "50", "GOMAXPROCS": "3"}[name] }
	debug.SetGCPercent(50)
	runtime.GOMAXPROCS(3)
	if got := tune.Runtime(set, token.CryptoOpenSSL); got != 3 || debug.SetGCPercent(100) != 50 {
		t.Errorf("Runtime with GOGC and GOMAXPROCS set = %d, want them kept", got)
	}
}

func TestMemory(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	none := func(string) string { return "" }
	if got := tune.Memory(none, 256<<20); got != 512<<20 || debug.SetMemoryLimit(-1) != got {
		t.Errorf("Memory(256 MiB) = %d, want %d set", got, 512<<20)
	}
	set := func(k string) string { return map[string]string{"GOMEMLIMIT": "1GiB"}[k] }
	if got := tune.Memory(set, 256<<20); got != 0 {
		t.Errorf("Memory with GOMEMLIMIT set = %d, want 0 (the environment's kept)", got)
	}
}
