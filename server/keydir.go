package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken/internal/files"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/token"
)

// DirKeyStore is a [KeyStore] in a directory, one file per key:
// DIR/<account_id>/<key_id>.json, each the API's create-key result
// ({"id", "pem", "jwk", "created"}), mode 0600. A key is written to a
// temporary file, synced, and linked into place, so that no reader sees
// half a key and a restart loses none; the directory is read again on
// every call, so that servers sharing it see each other's keys and
// deletions. An operator may drop keys in Cloudflare's form into an
// account's directory (any name ending in .json): they keep their kid.
//
// The count of keys per account is checked by each server before it
// writes: two servers creating an account's last keys at the same moment
// can pass the limit by one each.
type DirKeyStore struct {
	dir string

	mu    sync.Mutex
	cache map[string]dirEntry // by path: files are written once, never changed
}

type dirEntry struct {
	mod  time.Time
	size int64
	key  StoredKey
}

// NewDirKeyStore opens (creating, mode 0700) the store in dir and reads
// every key in it: a file that is no key of a valid ID, or a directory
// that is no account ID, is an error that names it, rather than a key
// silently not served.
func NewDirKeyStore(dir string) (*DirKeyStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	d := &DirKeyStore{dir: dir, cache: map[string]dirEntry{}}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.readAll(true); err != nil {
		return nil, err
	}
	return d, nil
}

// Dir returns the store's directory.
func (d *DirKeyStore) Dir() string { return d.dir }

// readAll reads every account's keys; strict makes a bad entry an error,
// else it is skipped (a server keeps serving what it can read). d.mu is
// held.
func (d *DirKeyStore) readAll(strict bool) ([]StoredKey, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, err
	}
	var all []StoredKey
	seen := map[string]bool{}
	owner := map[string]string{} // the account of each key ID
	for _, e := range entries {  // sorted by name: by account ID
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if !e.IsDir() || ids.Check(e.Name()) != "" {
			if strict {
				return nil, fmt.Errorf("%s: want a directory named by an account ID", filepath.Join(d.dir, e.Name()))
			}
			continue
		}
		keys, err := d.readAccount(e.Name(), strict, seen)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if other, taken := owner[k.Key.ID]; taken && strict {
				return nil, fmt.Errorf("%s: key ID %s is also that of a key of account %s: a key ID names one key", filepath.Join(d.dir, e.Name()), k.Key.ID, other)
			}
			owner[k.Key.ID] = k.AccountID
		}
		all = append(all, keys...)
	}
	for path := range d.cache {
		if !seen[path] {
			delete(d.cache, path)
		}
	}
	return all, nil
}

// readAccount reads one account's keys, oldest first, marking their files
// seen. d.mu is held.
func (d *DirKeyStore) readAccount(accountID string, strict bool, seen map[string]bool) ([]StoredKey, error) {
	dir := filepath.Join(d.dir, accountID)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []StoredKey
	ids := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") || e.IsDir() {
			continue // temporary files, and what is not a key
		}
		path := filepath.Join(dir, name)
		k, err := d.readKey(accountID, path, e)
		if err == nil && ids[k.Key.ID] != "" {
			err = fmt.Errorf("%s: key ID %s is also that of %s", path, k.Key.ID, ids[k.Key.ID])
		}
		if err != nil {
			if strict {
				return nil, err
			}
			continue
		}
		seen[path] = true
		ids[k.Key.ID] = name
		keys = append(keys, k)
	}
	slices.SortFunc(keys, byAge)
	return keys, nil
}

// readKey reads one key file, or takes it from the cache when the file is
// the one read before. d.mu is held.
func (d *DirKeyStore) readKey(accountID, path string, e fs.DirEntry) (StoredKey, error) {
	info, err := e.Info()
	if err != nil {
		return StoredKey{}, err
	}
	if c, ok := d.cache[path]; ok && c.mod.Equal(info.ModTime()) && c.size == info.Size() {
		return c.key, nil
	}
	data, err := files.Read(path)
	if err != nil {
		return StoredKey{}, err
	}
	key, err := token.ParsePrivateKey(data)
	if err != nil {
		return StoredKey{}, fmt.Errorf("%s: %w", path, err)
	}
	if key.ID == "" {
		return StoredKey{}, fmt.Errorf("%s: the key has no ID: save it as the API hands it out (id, pem, jwk)", path)
	}
	if why := ids.Check(key.ID); why != "" {
		return StoredKey{}, fmt.Errorf("%s: key ID %s", path, why)
	}
	var meta struct {
		Created time.Time `json:"created"`
	}
	if json.Unmarshal(data, &meta) != nil || meta.Created.IsZero() {
		meta.Created = info.ModTime() // a JWK, or a result without created
	}
	k := StoredKey{AccountID: accountID, Key: key, Created: meta.Created.UTC()}
	d.cache[path] = dirEntry{mod: info.ModTime(), size: info.Size(), key: k}
	return k, nil
}

// Add implements [KeyStore]: the key's file is written whole or not at all.
func (d *DirKeyStore) Add(_ context.Context, k StoredKey, max int) error {
	if why := ids.Check(k.AccountID); why != "" {
		return fmt.Errorf("account %q: %s", k.AccountID, why)
	}
	data, err := apiKeyJSON(k)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	held, err := d.readAccount(k.AccountID, false, map[string]bool{})
	if err != nil {
		return err
	}
	if slices.ContainsFunc(held, func(s StoredKey) bool { return s.Key.ID == k.Key.ID }) {
		return ErrKeyExists
	}
	for _, c := range d.cache { // every account's keys read so far: all of them, since the start
		if c.key.Key.ID == k.Key.ID {
			return ErrKeyExists
		}
	}
	if len(held) >= max {
		return ErrKeyLimit
	}
	dir := filepath.Join(d.dir, k.AccountID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return writeOnce(dir, k.Key.ID+".json", data)
}

// writeOnce writes data to dir/name as a new file of mode 0600: through a
// synced temporary file, linked into place (never over a file there), and
// the directory synced, so that the file is there whole after a crash or
// not at all.
func writeOnce(dir, name string, data []byte) error {
	return writeSynced(dir, data, func(tmp string) error {
		err := os.Link(tmp, filepath.Join(dir, name))
		if errors.Is(err, fs.ErrExist) {
			return ErrKeyExists
		}
		return err
	})
}

// writeReplace writes data to dir/name, mode 0600, through a synced
// temporary file renamed over what was there, and syncs the directory: the
// file is the old one or the new one whole, after a crash too.
func writeReplace(dir, name string, data []byte) error {
	return writeSynced(dir, data, func(tmp string) error { return os.Rename(tmp, filepath.Join(dir, name)) })
}

// writeSynced writes data to a temporary file of mode 0600 in dir, syncs
// it, has place put it where it belongs, and syncs dir. The temporary file
// is gone afterwards, whatever happened.
func writeSynced(dir string, data []byte, place func(tmp string) error) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*.json") // mode 0600
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // after a rename, a no-op
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := place(tmp.Name()); err != nil {
		return err
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// apiKeyJSON is a key's file: the create-key operation's result.
func apiKeyJSON(k StoredKey) ([]byte, error) {
	result, err := apiKey(k)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(result, "", "  ")
}

// List implements [KeyStore].
func (d *DirKeyStore) List(_ context.Context, accountID string) ([]StoredKey, error) {
	if ids.Check(accountID) != "" {
		return nil, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.readAccount(accountID, false, map[string]bool{})
}

// Delete implements [KeyStore].
func (d *DirKeyStore) Delete(_ context.Context, accountID, keyID string) error {
	if ids.Check(accountID) != "" {
		return ErrNoSuchKey
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.readAccount(accountID, false, map[string]bool{}); err != nil {
		return err
	}
	dir := filepath.Join(d.dir, accountID) + string(filepath.Separator)
	for path, c := range d.cache {
		if strings.HasPrefix(path, dir) && c.key.Key.ID == keyID {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			delete(d.cache, path)
			return nil
		}
	}
	return ErrNoSuchKey
}

// All implements [KeyStore].
func (d *DirKeyStore) All(_ context.Context) ([]StoredKey, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.readAll(false)
}
