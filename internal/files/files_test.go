package files_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/internal/files"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, size), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	tests := []struct {
		name, path string
		size       int    // of the result, when no error
		want       string // a part of the error
	}{
		{name: "small file", path: write("small", 10, 0o600), size: 10},
		{name: "exactly the limit", path: write("limit", files.MaxSize, 0o600), size: files.MaxSize},
		{name: "one byte over", path: write("over", files.MaxSize+1, 0o600), want: "too large: over 1 MiB"},
		{name: "FIFO", path: fifo, want: "a named pipe (FIFO), want a regular file"},
		{name: "device", path: "/dev/zero", want: "a device, want a regular file"},
		{name: "directory", path: dir, want: "a directory, want a regular file"},
		{name: "missing", path: filepath.Join(dir, "missing"), want: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			var data []byte
			var err error
			go func() {
				defer close(done)
				data, err = files.Read(tt.path)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("Read(%s) hangs", tt.path)
			}
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("Read(%s) = %v, want one line with %q", tt.path, err, tt.want)
				}
				return
			}
			if err != nil || len(data) != tt.size {
				t.Errorf("Read(%s) = %d bytes, %v; want %d", tt.path, len(data), err, tt.size)
			}
		})
	}
	if _, err := files.Read(filepath.Join(dir, "over")); !errors.Is(err, files.ErrTooLarge) {
		t.Errorf("Read(over the limit) = %v, want ErrTooLarge", err)
	}
	if files.LooseMode(write("private", 1, 0o600)) || !files.LooseMode(write("shared", 1, 0o644)) {
		t.Error("LooseMode: want false for 0600 and true for 0644")
	}
}
