//go:build unix

package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/streamtoken/streamtoken/server"
)

// Without --max-connections, serve holds no more connections than the
// open-file limit allows, and its start log says how many it holds.
func TestServeFitsConnectionsToTheOpenFileLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = 200
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skipf("cannot lower the open-file limit here: %v", err)
	}
	s := startServe(t)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	defer s.stop(t)
	want := fmt.Sprintf("max_connections=%d ", 200-server.FileHeadroom)
	if !strings.Contains(s.stderr.String(), want) {
		t.Errorf("serve under an open-file limit of 200 logged no %q:\n%s", want, s.stderr.String())
	}
}
