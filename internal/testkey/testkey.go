// Package testkey loads the RSA keys of token/testdata for the module's
// tests, so that no test generates a key. It is for tests only.
package testkey

import (
	"os"
	"path/filepath"
	"runtime"
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
