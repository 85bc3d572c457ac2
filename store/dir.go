package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamtoken/streamtoken/internal/files"
	"github.com/streamtoken/streamtoken/token"
)

// Dir is a [Store] in a directory, which a restart reads back:
//
//	DIR/<account_id>.pem (.jwk, .json)      the account's signing key: the
//	                                        operator's, or one generated on the
//	                                        account's first token (written as
//	                                        .json, never over a file there)
//	DIR/created/<account_id>/<key_id>.json  a key created through the keys
//	                                        API: its public half, {"id", "jwk",
//	                                        "created"}; files holding the
//	                                        private half too, as older servers
//	                                        wrote them, are read as before
//	DIR/videos/<account_id>/<id>.json       a video's details
//	DIR/live_inputs/<account_id>/<id>.json  a live input's details
//
// Every file is written mode 0600 through a synced temporary file (whose
// name begins "tmp ", with a space, which no ID has) linked or renamed
// into place, so that no reader sees half of one and a crash loses none. Symbolic links
// are followed everywhere, as the operating system follows them: an
// account directory may be one. Every entry of an account's directory but
// the temporary files counts towards the caps, whatever its name.
//
// Reads come from snapshots, checked against the directory's modification
// time at most every [DirRecheck]: a flood of reads costs one stat per
// account per recheck, not one per file per read, and another process's
// change shows within about that time. A key file that can no longer be
// read (truncated, its mode changed) is logged and reported by
// [Dir.Unreadable], and served as it was last read; it can still be
// deleted.
//
// Caps hold within one process; two processes writing into one directory
// at the same moment can pass one. Replicas share a PostgreSQL store
// instead.
type Dir struct {
	dir string
	log *slog.Logger

	locks        accountLocks // by account: what one account does waits for no other
	localLeases               // within the process: servers that lease share no directory
	localBudgets              // likewise
	add          sync.Mutex   // one key added at a time, for the check of its ID across accounts
	accounts     sync.Mutex   // one account key written at a time, for the count of accounts

	mu         sync.Mutex
	keys       map[string]*snapshot[[]Key]    // created keys, by account
	files      map[string]keyFile             // key files read, by path
	top        *snapshot[map[string]string]   // DIR's account key files: file name by account
	accountKey map[string]accountKeyRead      // account keys read, each with the directory's snapshot it was read under
	counts     map[string]*snapshot[int]      // media kept, by directory
	sizes      map[string]*snapshot[int64]    // bytes of the media kept, by directory
	accountMax int64                          // each account's media, bytes
	orders     map[string]*snapshot[[]Medium] // media in order (IDs and times alone), by directory
}

// DirRecheck is how long a [Dir] trusts a snapshot of a directory before
// it looks at the directory's modification time again.
const DirRecheck = 200 * time.Millisecond

// The subdirectories of a Dir.
const (
	createdDir    = "created"
	videosDir     = "videos"
	liveInputsDir = "live_inputs"
	webhooksDir   = "webhooks" // ACCOUNT.json, mode 0600: the secret is in it
)

// accountKeyExts are the extensions of an account's key file, the
// generated one's first.
var accountKeyExts = []string{".json", ".pem", ".jwk"}

// snapshot is what a directory held when it was last read.
type snapshot[T any] struct {
	mod     time.Time    // the directory's modification time then
	checked atomic.Int64 // when mod was last compared with the directory's (Unix ns): readers of one snapshot race to set it
	racy    bool         // mod was too close to the read to tell later changes apart
	value   T
}

// fresh reports whether s still holds for the directory at path: within
// DirRecheck of its last check, or the directory unchanged since.
func (s *snapshot[T]) fresh(path string, now time.Time) bool {
	if s == nil {
		return false
	}
	if !s.racy && now.Sub(time.Unix(0, s.checked.Load())) < DirRecheck {
		return true
	}
	info, err := os.Stat(path)
	if err != nil || !info.ModTime().Equal(s.mod) || s.racy {
		return false
	}
	s.checked.Store(now.UnixNano())
	return true
}

// taken starts a snapshot of the directory at path, before it is read: a
// change made while it is read then shows as a newer modification time.
// A directory changed within the clock's grain of the read is marked
// racy, and read again next time.
func taken[T any](path string, now time.Time) *snapshot[T] {
	s := &snapshot[T]{}
	s.checked.Store(now.UnixNano())
	if info, err := os.Stat(path); err == nil {
		s.mod = info.ModTime()
		s.racy = now.Sub(s.mod) < 50*time.Millisecond
	}
	return s
}

// keyFile is a key file as last read.
type keyFile struct {
	mod     time.Time
	size    int64
	key     Key
	ok      bool   // key holds a key read from the file
	problem string // why the file's current state cannot be read
}

// DirOptions are a [Dir]'s settings.
type DirOptions struct {
	// Logger gets a line for each key file that cannot be read. Nil:
	// nothing is logged.
	Logger *slog.Logger
	// AccountMediaBytes is the most bytes each account's media files may
	// take (zero: [DefaultAccountMediaBytes]; negative: no bound).
	AccountMediaBytes int64
}

// OpenDir opens (creating, mode 0700) the store in dir and reads every
// key in it. An account's signing key that cannot be read, a directory
// that is no account ID, or a key ID of two keys is an error that names
// it, rather than a key silently not served (or, for an account, a new
// one generated over it). A created key's file that cannot be read is
// logged and reported by [Dir.Unreadable], and the store opens: one
// broken file does not take every account's keys down.
func OpenDir(dir string, opts DirOptions) (*Dir, error) {
	for _, sub := range []string{"", createdDir, videosDir, liveInputsDir, webhooksDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	d := &Dir{dir: dir, log: opts.Logger, keys: map[string]*snapshot[[]Key]{}, files: map[string]keyFile{},
		accountKey: map[string]accountKeyRead{}, counts: map[string]*snapshot[int]{}, sizes: map[string]*snapshot[int64]{}, orders: map[string]*snapshot[[]Medium]{},
		accountMax: opts.AccountMediaBytes}
	switch {
	case d.accountMax == 0:
		d.accountMax = DefaultAccountMediaBytes
	case d.accountMax < 0:
		d.accountMax = 0 // none
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if _, err := LoadKeysDir(dir); err != nil {
		return nil, err
	}
	if _, err := d.allKeys(true); err != nil {
		return nil, err
	}
	return d, nil
}

// Path returns the store's directory.
func (d *Dir) Path() string { return d.dir }

func (d *Dir) lock(accountID string) *sync.Mutex { return d.locks.of(accountID) }

// tempPrefix begins the name of the store's temporary files: with its
// space, no ID's file has it.
const tempPrefix = "tmp "

// isTemp reports whether name is one of the store's temporary files.
func isTemp(name string) bool { return strings.HasPrefix(name, tempPrefix) }

// entries lists dir, following symbolic links: each name with whether it
// is a directory. A link that leads nowhere is neither.
func entries(dir string) ([]string, map[string]bool, error) {
	list, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, 0, len(list))
	isDir := map[string]bool{}
	for _, e := range list {
		if isTemp(e.Name()) {
			continue
		}
		names = append(names, e.Name())
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			info, err := os.Stat(filepath.Join(dir, e.Name()))
			isDir[e.Name()] = err == nil && info.IsDir()
		default:
			isDir[e.Name()] = e.IsDir()
		}
	}
	return names, isDir, nil
}

// allKeys reads every account's keys; strict makes an entry that is no
// account's directory, or a key ID of two accounts, an error (at start),
// else it is skipped. Key files that cannot be read are logged.
func (d *Dir) allKeys(strict bool) ([]Key, error) {
	root := filepath.Join(d.dir, createdDir)
	names, isDir, err := entries(root)
	if err != nil {
		return nil, err
	}
	var all []Key
	owner := map[string]string{} // the account of each key ID
	for _, name := range names { // sorted: by account ID
		if !isDir[name] || CheckID("account ID", name) != nil {
			if strict {
				return nil, fmt.Errorf("%s: want a directory named by an account ID", filepath.Join(root, name))
			}
			continue
		}
		keys, _, err := d.accountKeys(name)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if other, taken := owner[k.Key.ID]; taken && strict {
				return nil, fmt.Errorf("%s: key ID %s is also that of a key of account %s: a key ID names one key", filepath.Join(root, name), k.Key.ID, other)
			}
			owner[k.Key.ID] = k.AccountID
		}
		all = append(all, keys...)
	}
	return all, nil
}

// accountKeys returns an account's created keys from its snapshot, read
// again when the directory changed, with what could not be read.
func (d *Dir) accountKeys(accountID string) ([]Key, []string, error) {
	mu := d.lock(accountID)
	mu.Lock()
	defer mu.Unlock()
	return d.readAccount(accountID, false)
}

// readAccount is accountKeys with the account's lock held; force reads
// the directory whatever its snapshot says.
func (d *Dir) readAccount(accountID string, force bool) ([]Key, []string, error) {
	dir := filepath.Join(d.dir, createdDir, accountID)
	now := time.Now()
	d.mu.Lock()
	snap := d.keys[accountID]
	d.mu.Unlock()
	if !force && snap.fresh(dir, now) {
		return slices.Clone(snap.value), nil, nil
	}
	next := taken[[]Key](dir, now)
	names, _, err := entries(dir)
	if errors.Is(err, fs.ErrNotExist) {
		d.mu.Lock()
		delete(d.keys, accountID)
		d.mu.Unlock()
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var problems []string
	seen := map[string]string{} // key ID: file name
	for _, name := range names {
		if !strings.HasSuffix(name, ".json") {
			continue // counted, but no key
		}
		path := filepath.Join(dir, name)
		k, problem := d.readKeyFile(accountID, path)
		if problem == "" && seen[k.Key.ID] != "" {
			problem = fmt.Sprintf("%s: key ID %s is also that of %s", path, k.Key.ID, seen[k.Key.ID])
		}
		if problem != "" {
			problems = append(problems, problem)
			continue
		}
		seen[k.Key.ID] = name
		next.value = append(next.value, k)
	}
	slices.SortFunc(next.value, ByAge)
	d.mu.Lock()
	d.keys[accountID] = next
	d.mu.Unlock()
	return slices.Clone(next.value), problems, nil
}

// readKeyFile reads one created key's file, or takes it as read before
// when the file is unchanged. A file that could be read before and no
// longer can is served as it was, and logged once; one never read is
// "" and the problem.
func (d *Dir) readKeyFile(accountID, path string) (Key, string) {
	d.mu.Lock()
	prev, known := d.files[path]
	d.mu.Unlock()
	info, err := os.Stat(path)
	if err == nil && known && prev.mod.Equal(info.ModTime()) && prev.size == info.Size() {
		if prev.ok {
			return prev.key, ""
		}
		return Key{}, prev.problem // logged when first seen
	}
	k, err := parseKeyFile(accountID, path, info)
	next := keyFile{key: k, ok: err == nil}
	if info != nil {
		next.mod, next.size = info.ModTime(), info.Size()
	}
	if err != nil {
		next.problem = err.Error()
		if prev.ok {
			next.key, next.ok = prev.key, true
			d.log.Warn("a created key's file can no longer be read: serving the key as last read; delete it through the keys API, or restore the file",
				"file", path, "key_id", prev.key.Key.ID, "problem", next.problem)
		} else {
			d.log.Warn("a file in the keys directory is no key: not served", "file", path, "problem", next.problem)
		}
	}
	d.mu.Lock()
	d.files[path] = next
	d.mu.Unlock()
	if next.ok {
		return next.key, ""
	}
	return Key{}, next.problem
}

// parseKeyFile reads a created key's file: its public half, its ID, and
// when it was created (else the file's modification time).
func parseKeyFile(accountID, path string, info fs.FileInfo) (Key, error) {
	if info == nil {
		return Key{}, fmt.Errorf("%s: gone", path)
	}
	data, err := files.Read(path)
	if err != nil {
		return Key{}, err
	}
	key, err := token.ParseKey(data)
	if err != nil {
		return Key{}, fmt.Errorf("%s: %w", path, err)
	}
	if key.ID == "" {
		return Key{}, fmt.Errorf("%s: the key has no ID: save it as the API hands it out (id, pem, jwk)", path)
	}
	if err := CheckID("key ID", key.ID); err != nil {
		return Key{}, fmt.Errorf("%s: %w", path, err)
	}
	var meta struct {
		Created time.Time `json:"created"`
		Retired time.Time `json:"retired"`
	}
	if json.Unmarshal(data, &meta) != nil || meta.Created.IsZero() {
		meta.Created = info.ModTime() // a JWK, or a result without created
	}
	return Key{AccountID: accountID, Key: &token.Key{ID: key.ID, Public: key.Public}, Created: meta.Created.UTC(), Retired: meta.Retired.UTC()}, nil
}

// Unreadable returns the key files the store could not read when it last
// looked: each its path and why.
func (d *Dir) Unreadable() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, f := range d.files {
		if f.problem != "" {
			out = append(out, f.problem)
		}
	}
	slices.Sort(out)
	return out
}

// publicKeyFile is a created key's file: its public half in the API's
// form.
func publicKeyFile(k Key) ([]byte, error) {
	var retired *time.Time
	if !k.Retired.IsZero() {
		r := k.Retired.UTC()
		retired = &r
	}
	return json.MarshalIndent(struct {
		ID      string     `json:"id"`
		JWK     string     `json:"jwk"`
		Created time.Time  `json:"created"`
		Retired *time.Time `json:"retired,omitempty"`
	}{k.Key.ID, base64.StdEncoding.EncodeToString(k.Key.PublicJWK()), k.Created.UTC(), retired}, "", "  ")
}

// AddKey implements [Keys]: the key's file is written whole or not at
// all, its public half alone.
func (d *Dir) AddKey(_ context.Context, k Key, max int) error {
	if err := CheckKey(k); err != nil {
		return err
	}
	k = k.Public()
	data, err := publicKeyFile(k)
	if err != nil {
		return err
	}
	d.add.Lock()
	defer d.add.Unlock()
	all, err := d.allKeys(false)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(all, func(s Key) bool { return s.Key.ID == k.Key.ID }) {
		return ErrKeyExists
	}
	mu := d.lock(k.AccountID)
	mu.Lock()
	defer mu.Unlock()
	dir := filepath.Join(d.dir, createdDir, k.AccountID)
	names, _, err := entries(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(names) >= max {
		return ErrKeyLimit
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	err = writeOnce(dir, k.Key.ID+".json", data)
	d.mu.Lock()
	delete(d.keys, k.AccountID)
	d.mu.Unlock()
	if errors.Is(err, fs.ErrExist) {
		return ErrKeyExists
	}
	return err
}

// Keys implements [Keys].
func (d *Dir) Keys(_ context.Context, accountID string) ([]Key, error) {
	if err := CheckID("account ID", accountID); err != nil {
		return nil, err
	}
	keys, _, err := d.accountKeys(accountID)
	return keys, err
}

// DeleteKey implements [Keys]: the key's file goes, read or not.
func (d *Dir) DeleteKey(_ context.Context, accountID, keyID string) error {
	if err := errors.Join(CheckID("account ID", accountID), CheckID("key ID", keyID)); err != nil {
		return err
	}
	mu := d.lock(accountID)
	mu.Lock()
	defer mu.Unlock()
	keys, _, err := d.readAccount(accountID, true)
	if err != nil {
		return err
	}
	dir := filepath.Join(d.dir, createdDir, accountID)
	path := filepath.Join(dir, keyID+".json") // its name, unless an operator named it otherwise
	d.mu.Lock()
	if f := d.files[path]; f.ok && f.key.Key.ID != keyID {
		path = "" // the file of another key
	}
	for p, f := range d.files {
		if f.ok && f.key.AccountID == accountID && f.key.Key.ID == keyID && filepath.Dir(p) == dir {
			path = p
		}
	}
	d.mu.Unlock()
	if path == "" {
		return ErrNoSuchKey
	}
	listed := slices.ContainsFunc(keys, func(k Key) bool { return k.Key.ID == keyID })
	err = os.Remove(path)
	d.mu.Lock()
	delete(d.keys, accountID)
	delete(d.files, path)
	d.mu.Unlock()
	switch {
	case errors.Is(err, fs.ErrNotExist) && !listed:
		return ErrNoSuchKey
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return syncDir(dir)
}

// AllKeys implements [Keys].
func (d *Dir) AllKeys(_ context.Context) ([]Key, error) { return d.allKeys(false) }

// AccountKey implements [AccountKeys]: the account's key file, in any of
// the forms [LoadKeysDir] reads. An account without one costs no file
// open: the directory's listing says so.
func (d *Dir) AccountKey(_ context.Context, accountID string) (*token.Key, error) {
	if err := CheckID("account ID", accountID); err != nil {
		return nil, err
	}
	// The directory's names, as of now: a key read under the same
	// snapshot still holds; after any change to the directory (another
	// instance's replacement among them), the file is read again.
	names, err := d.accountKeyFiles()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	read, ok := d.accountKey[accountID]
	top := d.top
	d.mu.Unlock()
	if ok && read.under == top {
		return read.key, nil
	}
	name, ok := names[accountID]
	if !ok {
		return nil, nil
	}
	k, err := LoadKey(filepath.Join(d.dir, name), "")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the signing key of account %s: %w", accountID, err)
	}
	d.mu.Lock()
	d.accountKey[accountID] = accountKeyRead{key: k, under: top}
	d.mu.Unlock()
	return k, nil
}

// accountKeyRead is an account's key as read, and the snapshot of the
// directory's names it was read under.
type accountKeyRead struct {
	key   *token.Key
	under *snapshot[map[string]string]
}

func (d *Dir) accountKeyFiles() (map[string]string, error) {
	now := time.Now()
	d.mu.Lock()
	snap := d.top
	d.mu.Unlock()
	if snap.fresh(d.dir, now) {
		return snap.value, nil
	}
	next := taken[map[string]string](d.dir, now)
	names, isDir, err := entries(d.dir)
	if err != nil {
		return nil, err
	}
	next.value = map[string]string{}
	for _, name := range names {
		ext := filepath.Ext(name)
		if isDir[name] || !slices.Contains(accountKeyExts, ext) {
			continue
		}
		account := strings.TrimSuffix(name, ext)
		if _, dup := next.value[account]; !dup || ext == ".json" {
			next.value[account] = name
		}
	}
	d.mu.Lock()
	d.top = next
	d.mu.Unlock()
	return next.value, nil
}

// EnsureAccountKey implements [AccountKeys]. Every account key file in
// the directory counts towards max.
func (d *Dir) EnsureAccountKey(ctx context.Context, accountID string, max int, generate func() (*token.Key, error)) (*token.Key, error) {
	if err := CheckID("account ID", accountID); err != nil {
		return nil, err
	}
	mu := d.lock(accountID)
	mu.Lock()
	defer mu.Unlock()
	if k, err := d.AccountKey(ctx, accountID); k != nil || err != nil {
		return k, err
	}
	names, err := d.accountKeyFiles()
	if err != nil {
		return nil, err
	}
	if len(names) >= max {
		return nil, ErrAccountLimit
	}
	k, err := generate()
	if err != nil {
		return nil, err
	}
	if err := CheckAccountKey(k); err != nil {
		return nil, err
	}
	data, err := k.PrivateJWK() // with its kid, as LoadKey reads it back
	if err != nil {
		return nil, err
	}
	// Counted again and written in one step: accounts race for the
	// last places.
	d.accounts.Lock()
	d.mu.Lock()
	d.top = nil
	d.mu.Unlock()
	if names, err = d.accountKeyFiles(); err == nil && len(names) >= max && names[accountID] == "" {
		err = ErrAccountLimit
	}
	if err == nil {
		err = writeOnce(d.dir, accountID+".json", data)
	}
	d.mu.Lock()
	d.top = nil
	d.mu.Unlock()
	d.accounts.Unlock()
	switch {
	case errors.Is(err, ErrAccountLimit):
		return nil, err
	case errors.Is(err, fs.ErrExist): // another server wrote it first: its key is the account's
		return d.AccountKey(ctx, accountID)
	case err != nil:
		return nil, err
	}
	return k, nil // read again, under the directory's next snapshot
}

// ReplaceAccountKey implements [AccountKeys]: the account's key file is
// replaced (accountID.json, synced, renamed into place), an operator's
// file of another name removed.
func (d *Dir) ReplaceAccountKey(ctx context.Context, accountID, old string, k *token.Key) error {
	if err := CheckID("account ID", accountID); err != nil {
		return err
	}
	if err := CheckAccountKey(k); err != nil {
		return err
	}
	mu := d.lock(accountID)
	mu.Lock()
	defer mu.Unlock()
	cur, err := d.AccountKey(ctx, accountID)
	if err != nil {
		return err
	}
	if cur == nil || cur.ID != old {
		return fmt.Errorf("%w: account %s's key is not %s", ErrNoSuchKey, accountID, old)
	}
	data, err := k.PrivateJWK()
	if err != nil {
		return err
	}
	names, err := d.accountKeyFiles()
	if err != nil {
		return err
	}
	if err := writeReplace(d.dir, accountID+".json", data); err != nil {
		return err
	}
	if name := names[accountID]; name != "" && name != accountID+".json" {
		if err := os.Remove(filepath.Join(d.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	d.mu.Lock()
	delete(d.accountKey, accountID) // read again, under the directory's next snapshot
	d.top = nil
	d.mu.Unlock()
	return nil
}

// Close implements [Store]; a Dir holds nothing open.
func (d *Dir) Close() error { return nil }

// writeOnce writes data to dir/name as a new file of mode 0600: through a
// synced temporary file, linked into place (never over a file there: then
// an error matching fs.ErrExist), and the directory synced.
func writeOnce(dir, name string, data []byte) error {
	return writeSynced(dir, data, func(tmp string) error { return os.Link(tmp, filepath.Join(dir, name)) })
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
	tmp, err := os.CreateTemp(dir, tempPrefix+"*") // mode 0600
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
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
