// Package files reads the small files that the server and the command line
// take from an operator (keys, credentials, JWK sets, access rules) with
// the bounds every input gets: a regular file, at most MaxSize bytes.
package files

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxSize is the most bytes Read takes from a file: far above any key,
// credentials file or JWK set, far below what would hurt.
const MaxSize = 1 << 20

// ErrTooLarge is returned for a file over MaxSize.
var ErrTooLarge = errors.New("too large: over 1 MiB")

// Read returns the contents of the regular file at path. A FIFO, a device
// (such as /dev/zero), a socket or a directory is refused before it is
// read, so that nothing blocks or reads without end; so is a file over
// MaxSize. Errors hold the path and what is wrong, on one line.
func Read(path string) ([]byte, error) {
	// Stat first: opening a FIFO for reading blocks until a writer comes.
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, info); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Again on the open file: the path may have been swapped since.
	if info, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regular(path, info); err != nil {
		return nil, err
	}
	return ReadAll(path, f)
}

// ReadAll reads r to its end, at most MaxSize bytes; name names it in
// errors.
func ReadAll(name string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: %w", name, ErrTooLarge)
	}
	return data, nil
}

func regular(path string, info fs.FileInfo) error {
	if info.Mode().IsRegular() {
		return nil
	}
	kind := "not a regular file"
	switch m := info.Mode(); {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&fs.ModeDevice != 0:
		kind = "a device"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	}
	return fmt.Errorf("%s: %s, want a regular file", path, kind)
}

// LooseMode reports whether the file at path may be read by its group or
// by others: worth a warning for a file that holds a secret.
func LooseMode(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().Perm()&0o077 != 0
}
