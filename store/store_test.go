package store_test

import (
	"testing"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/store/storetest"
)

func TestMemory(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T) (store.Store, storetest.OpenFunc) {
		return store.NewMemory(0), nil
	}, storetest.Options{})
}

func TestDir(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T) (store.Store, storetest.OpenFunc) {
		dir := t.TempDir()
		open := func() (store.Store, error) { return store.OpenDir(dir, store.DirOptions{}) }
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		return st, open
	}, storetest.Options{})
}
