package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be the servers' processes too, as the
// command is: run re-runs its own executable with serveArg.
func TestMain(m *testing.M) {
	if len(os.Args) == 6 && os.Args[1] == serveArg {
		if err := serveChild(os.Args[2], os.Args[3], os.Args[4], os.Args[5]); err != nil {
			os.Stderr.WriteString("serve: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestLoadRuns runs one short scenario end to end: both servers start,
// answer tokens, appear side by side in the table, and the plot is
// written. It checks that the tool works, not how fast anything is.
func TestLoadRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers and loads them for a few seconds")
	}
	out := t.TempDir()
	var report bytes.Buffer
	err := run(config{duration: time.Second, runs: 1, clients: 4, out: out, only: "hot-4clients", noWrk: true}, &report)
	if err != nil {
		t.Fatalf("run() error = %v\n%s", err, report.String())
	}
	text := report.String()
	for _, want := range []string{"capacity: ", "hot, 4 clients", "bare", "streamtoken", "hot video (hot, 4 clients): tokens/s", "load-hot-4clients.html"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
	if _, err := exec.LookPath("node"); err == nil && !strings.Contains(text, " node ") {
		t.Errorf("node is installed, and the report has no Node.js signer:\n%s", text)
	}
	if strings.Contains(text, "100.0%") {
		t.Errorf("every request failed or was shed:\n%s", text)
	}
	html, err := os.ReadFile(filepath.Join(out, "load-hot-4clients.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte("<html")) || !bytes.Contains(html, []byte("streamtoken")) {
		t.Error("the plot is no HTML page with the streamtoken series")
	}
}

func TestRunRefusesAnUnknownScenario(t *testing.T) {
	if err := run(config{duration: time.Second, runs: 1, clients: 4, only: "lukewarm"}, &bytes.Buffer{}); err == nil {
		t.Error(`run(-only "lukewarm") error = nil`)
	}
}
