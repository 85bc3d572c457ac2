// Package testkey loads the RSA keys of token/testdata for the module's
// tests, so that no test generates a key. It is for tests only.
package testkey

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/streamtoken/streamtoken/token"
)

// Dir is token/testdata, found from this file, so that tests of any
// package (and of the compat module) name the same files.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "token", "testdata")
}

// Read returns the bytes of token/testdata/name.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Dir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Load parses token/testdata/name, a private or public key, and names it
// kid.
func Load(t testing.TB, name, kid string) *token.Key {
	t.Helper()
	k, err := token.ParseKey(Read(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	k.ID = kid
	return k
}

// generated are the keys Generator hands out, in turn.
var generated = []string{"rsa2048-b.pem", "rsa2048-c.pem", "rsa2048-d.pem", "rsa2048-e.pem", "rsa2048-f.pem", "rsa2048-g.pem"}

// Generator returns a stand-in for token.GenerateKey that hands out the
// RSA-2048 keys of token/testdata in turn, each once, with the ID
// token.GenerateKey would give it: for tests of what a server generates
// (per-account keys, the keys API) that must not spend seconds making
// keys. Past the last key it returns an error. It is safe for concurrent
// use.
func Generator(t testing.TB) func() (*token.Key, error) {
	t.Helper()
	keys := make([]*token.Key, len(generated))
	for i, name := range generated {
		keys[i] = Load(t, name, "")
		keys[i].ID = token.KeyID(keys[i].Public)
	}
	var mu sync.Mutex
	return func() (*token.Key, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(keys) == 0 {
			return nil, errors.New("testkey.Generator: no key left")
		}
		k := keys[0]
		keys = keys[1:]
		return k, nil
	}
}
