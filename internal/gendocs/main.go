// Command gendocs puts Redoc's standalone bundle, pinned, into
// server/docs/ for the server to embed and serve at /docs: the one step
// that fetches it (from the npm registry, as the tarball whose integrity
// is pinned below), and only when the committed copy is not the pinned
// one. The server then serves the API reference with nothing fetched
// from elsewhere.
//
//	go run ./internal/gendocs -out server/docs
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// The pinned Redoc: its version, the npm tarball's integrity (as npm
// states it), and the SHA-256 of each file taken from it.
const (
	version   = "2.5.0"
	tarball   = "https://registry.npmjs.org/redoc/-/redoc-" + version + ".tgz"
	integrity = "sha512-NpYsOZ1PD9qFdjbLVBZJWptqE+4Y6TkUuvEOqPUmoH7AKOmPcE+hYjotLxQNTqVoWL4z0T2uxILmcc8JGDci+Q=="
	// maxTarball bounds the download: the tarball is some 6 MB.
	maxTarball = 64 << 20
)

// files are the tarball's files kept, by name in the tarball, with the
// name they get and their SHA-256.
var files = []struct{ from, to, sha256 string }{
	{"package/bundles/redoc.standalone.js", "redoc.standalone.js", "0ec05be285ac885a330289b02f470e1bdbd2b6b3223a9fa213f24bf805a851d1"},
	{"package/bundles/redoc.standalone.js.LICENSE.txt", "redoc.standalone.js.LICENSE.txt", "1b18b986225f8a85fa7fcaf191f0118bb297ba8c6f027b669e4b79828c9c17ed"},
	{"package/LICENSE", "REDOC-LICENSE", "d3026d549cf68ab7355bcfa85877bf8f845b3334a7efbfdc63936432fb34ff0e"},
}

func main() {
	out := flag.String("out", "server/docs", "the `DIR` to write Redoc's files into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	if pinned(out) {
		return nil // the committed copy is the pinned one: nothing to fetch
	}
	data, err := fetch()
	if err != nil {
		return err
	}
	sum := sha512.Sum512(data)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != integrity {
		return fmt.Errorf("%s: integrity %s, want the pinned %s", tarball, got, integrity)
	}
	contents, err := extract(data)
	if err != nil {
		return err
	}
	for _, f := range files {
		b, ok := contents[f.from]
		if !ok {
			return fmt.Errorf("%s: no %s", tarball, f.from)
		}
		if got := hexSum(b); got != f.sha256 {
			return fmt.Errorf("%s: %s has SHA-256 %s, want %s", tarball, f.from, got, f.sha256)
		}
		if err := os.WriteFile(filepath.Join(out, f.to), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// pinned reports whether out holds every file as pinned.
func pinned(out string) bool {
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(out, f.to))
		if err != nil || hexSum(b) != f.sha256 {
			return false
		}
	}
	return true
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func fetch() ([]byte, error) {
	c := &http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Get(tarball)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", tarball, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTarball+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxTarball {
		return nil, fmt.Errorf("%s: over %d bytes", tarball, maxTarball)
	}
	return data, nil
}

// extract returns the tarball's files that are kept.
func extract(data []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, f := range files {
		want[f.from] = true
	}
	out := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if !want[h.Name] {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxTarball))
		if err != nil {
			return nil, err
		}
		out[h.Name] = b
	}
}
