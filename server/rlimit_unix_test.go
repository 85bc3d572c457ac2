//go:build unix

package server_test

import (
	"net"
	"syscall"
	"testing"

	"github.com/streamtoken/streamtoken/server"
)

// A process that may open few files holds fewer connections than the
// default, keeping some files for its own: with 164 files, 100 connections,
// so that 90 of them make the server crowded.
func TestConnectionsFitTheOpenFileLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = 164
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skipf("cannot lower the open-file limit here: %v", err)
	}
	addr, _, _ := serve(t, server.Config{MaxConnectionsPerIP: -1}) // made under the low limit; every client here is 127.0.0.1
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	idle(t, addr, 89)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !crowded(t, c) {
		t.Error("the 90th of 100 connections keeps its connection; want the server crowded (Connection: close)")
	}
}
