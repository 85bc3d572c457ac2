package main

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkScript drives wrk's connections: see wrk.lua.
//
//go:embed wrk.lua
var wrkScript []byte

// wrk runs the closed-model scenarios with the wrk command (written in C,
// it leaves the servers more of the shared cores than a load generator in
// Go does, as the measurements of DESIGN.md were made).
type wrk struct {
	bin, script string
}

// newWrk finds the wrk command and writes its script into dir; nil when
// wrk is not installed.
func newWrk(dir string) (*wrk, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, nil
	}
	script := filepath.Join(dir, "load.lua")
	if err := os.WriteFile(script, wrkScript, 0o600); err != nil {
		return nil, err
	}
	return &wrk{bin: bin, script: script}, nil
}

// attack loads c from clients connections for d, over two threads.
func (k *wrk) attack(c *child, sc scenario, apiToken string, d time.Duration) (sample, error) {
	threads := min(2, sc.clients)
	cmd := exec.Command(k.bin, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(sc.clients), "-d"+strconv.Itoa(int(d/time.Second))+"s",
		"--timeout", strconv.Itoa(int(timeout/time.Second))+"s", "-s", k.script, c.url)
	cmd.Env = append(os.Environ(), "WRK_API_TOKEN="+apiToken)
	if sc.hot {
		cmd.Env = append(cmd.Env, "WRK_HOT=1")
	}
	out, err := cmd.Output()
	if err != nil {
		return sample{}, fmt.Errorf("wrk: %w", err)
	}
	return parseWrk(string(out))
}

// parseWrk reads the line the script's done() prints.
func parseWrk(out string) (sample, error) {
	i := strings.Index(out, "WRK ")
	if i < 0 {
		return sample{}, fmt.Errorf("wrk printed no result: %q", out)
	}
	line, _, _ := strings.Cut(out[i+4:], "\n")
	v := map[string]int64{}
	for _, f := range strings.Fields(line) {
		name, value, _ := strings.Cut(f, "=")
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return sample{}, fmt.Errorf("wrk: %q: %w", f, err)
		}
		v[name] = n
	}
	if v["duration_us"] <= 0 || v["requests"] <= 0 {
		return sample{}, fmt.Errorf("wrk measured nothing: %q", line)
	}
	us := func(name string) time.Duration { return time.Duration(v[name]) * time.Microsecond }
	n := float64(v["requests"])
	return sample{
		tokensPerSec: float64(v["ok"]) / us("duration_us").Seconds(),
		p50:          us("p50_us"), p90: us("p90_us"), p99: us("p99_us"), max: us("max_us"),
		shed:     float64(v["shed"]) / n,
		errors:   float64(v["requests"]-v["ok"]-v["shed"]+v["socket_errors"]) / n,
		requests: int(v["requests"]),
		tokens:   int(v["ok"]),
	}, nil
}
