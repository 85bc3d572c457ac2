package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/files"
	"github.com/streamtoken/streamtoken/internal/ids"
)

// DirMediaStore is a [MediaStore] in a directory, one file per video or
// live input changed: DIR/videos/<account_id>/<video_id>.json and
// DIR/live_inputs/<account_id>/<input_id>.json, each the details as the
// API answers them, mode 0600. A change replaces the file whole (a synced
// temporary file renamed into place), so that no reader sees half of one
// and a restart loses none; files are read again on every call, so that
// servers sharing DIR see each other's changes. One server's edits of a
// medium are serialized; two servers editing the same one at the same
// moment can lose one of the two changes.
type DirMediaStore struct {
	dir string
	mu  sync.Mutex // serializes this server's read-modify-writes
}

// The subdirectories of a DirMediaStore.
const (
	videosDir     = "videos"
	liveInputsDir = "live_inputs"
)

// NewDirMediaStore opens (creating, mode 0700) the store in dir.
func NewDirMediaStore(dir string) (*DirMediaStore, error) {
	for _, sub := range []string{videosDir, liveInputsDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	return &DirMediaStore{dir: dir}, nil
}

// Video implements [MediaStore].
func (d *DirMediaStore) Video(_ context.Context, accountID, videoID string) (gen.Video, bool, error) {
	var v gen.Video
	found, err := d.read(videosDir, accountID, videoID, &v)
	return v, found, err
}

// EditVideo implements [MediaStore].
func (d *DirMediaStore) EditVideo(_ context.Context, accountID, videoID string, max int, edit func(*gen.Video, bool)) (gen.Video, error) {
	var v gen.Video
	err := d.edit(videosDir, accountID, videoID, max, &v, func(found bool) { edit(&v, found) })
	return v, err
}

// LiveInput implements [MediaStore].
func (d *DirMediaStore) LiveInput(_ context.Context, accountID, inputID string) (gen.LiveInput, bool, error) {
	var li gen.LiveInput
	found, err := d.read(liveInputsDir, accountID, inputID, &li)
	return li, found, err
}

// EditLiveInput implements [MediaStore].
func (d *DirMediaStore) EditLiveInput(_ context.Context, accountID, inputID string, max int, edit func(*gen.LiveInput, bool)) (gen.LiveInput, error) {
	var li gen.LiveInput
	err := d.edit(liveInputsDir, accountID, inputID, max, &li, func(found bool) { edit(&li, found) })
	return li, err
}

// path is the file of an account's medium, its IDs checked first: an ID
// that is no valid path segment never reaches the file system.
func (d *DirMediaStore) path(kind, accountID, id string) (string, error) {
	for _, s := range []string{accountID, id} {
		if why := ids.Check(s); why != "" {
			return "", fmt.Errorf("media store: ID %q: %s", s, why)
		}
	}
	return filepath.Join(d.dir, kind, accountID, id+".json"), nil
}

// read decodes the file of id into v, and reports whether there is one.
func (d *DirMediaStore) read(kind, accountID, id string, v any) (bool, error) {
	path, err := d.path(kind, accountID, id)
	if err != nil {
		return false, err
	}
	data, err := files.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("media store: %s: %w", filepath.Base(path), err)
	}
	return true, nil
}

// edit reads id's file into v (when there is one), calls apply, and
// replaces the file with v.
func (d *DirMediaStore) edit(kind, accountID, id string, max int, v any, apply func(found bool)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	found, err := d.read(kind, accountID, id, v)
	if err != nil {
		return err
	}
	dir := filepath.Join(d.dir, kind, accountID)
	if !found {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n := 0
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
		if n >= max {
			return ErrMediaLimit
		}
	}
	apply(found)
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return writeReplace(dir, id+".json", data)
}
