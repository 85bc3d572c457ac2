package store

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
	"time"

	"github.com/streamtoken/streamtoken/internal/files"
)

// mediaDir is the directory of an account's media of a kind.
func (d *Dir) mediaDir(kind Kind, accountID string) string {
	sub := videosDir
	if kind == LiveInput {
		sub = liveInputsDir
	}
	return filepath.Join(d.dir, sub, accountID)
}

// Media implements [Media].
func (d *Dir) Media(_ context.Context, kind Kind, accountID, id string) ([]byte, bool, error) {
	if err := CheckMedium(kind, accountID, id); err != nil {
		return nil, false, err
	}
	return readMedium(filepath.Join(d.mediaDir(kind, accountID), id+".json"))
}

func readMedium(path string) ([]byte, bool, error) {
	data, err := files.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case !json.Valid(data):
		return nil, false, fmt.Errorf("store: %s: not JSON", path)
	}
	return data, true, nil
}

// EditMedia implements [Media]: edits of one account wait for each other,
// no other account's.
func (d *Dir) EditMedia(_ context.Context, kind Kind, accountID, id string, max int, edit func([]byte, bool) ([]byte, error)) ([]byte, error) {
	if err := CheckMedium(kind, accountID, id); err != nil {
		return nil, err
	}
	mu := d.lock(accountID)
	mu.Lock()
	defer mu.Unlock()
	dir := d.mediaDir(kind, accountID)
	old, found, err := readMedium(filepath.Join(dir, id+".json"))
	if err != nil {
		return nil, err
	}
	n := 0
	if !found {
		if n, err = d.countMedia(dir); err != nil {
			return nil, err
		}
		if n >= max {
			return nil, ErrMediaLimit
		}
	}
	details, err := edit(old, found)
	if err != nil {
		return nil, err
	}
	if err := CheckDetails(kind, details); err != nil {
		return nil, err
	}
	grow := int64(len(details) - len(old))
	if d.accountMax > 0 && grow > 0 {
		used, err := d.accountBytes(accountID)
		if err != nil {
			return nil, err
		}
		if used+grow > d.accountMax {
			return nil, fmt.Errorf("%w: %d bytes of %d", ErrAccountQuota, used, d.accountMax)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	before, _ := d.mediaBytes(dir)
	if err := writeReplace(dir, id+".json", details); err != nil {
		return nil, err
	}
	if info, err := os.Stat(dir); err == nil { // as counted below, without reading the directory again
		d.mu.Lock()
		d.sizes[dir] = &snapshot[int64]{mod: info.ModTime(), value: before + grow}
		d.mu.Unlock()
	}
	d.mu.Lock()
	delete(d.orders, dir) // this process's change shows in its next listing at once
	d.mu.Unlock()
	if !found {
		// One more, counted without reading the directory again: this
		// process's writes are all under the account's lock, and the caps
		// hold within one process.
		if info, err := os.Stat(dir); err == nil {
			d.mu.Lock()
			d.counts[dir] = &snapshot[int]{mod: info.ModTime(), value: n + 1}
			d.mu.Unlock()
		}
	}
	return details, nil
}

// ListMedia implements [Media]. The order of an account's media is read
// from their files once, and again when the directory changes; a page then
// reads the files of the media it holds (and, when the query filters,
// those it looks at).
func (d *Dir) ListMedia(_ context.Context, kind Kind, accountID string, q MediaQuery) (MediaPage, error) {
	if err := CheckMedium(kind, accountID, "-"); err != nil {
		return MediaPage{}, err
	}
	if err := CheckQuery(q); err != nil {
		return MediaPage{}, err
	}
	dir := d.mediaDir(kind, accountID)
	order, err := d.mediaOrder(dir)
	if err != nil {
		return MediaPage{}, err
	}
	// The snapshot's fields and times choose the page; only its media's
	// files are read.
	p := q.Page(func(yield func(Medium) bool) {
		for i := range order {
			if !q.Asc {
				i = len(order) - 1 - i
			}
			if e := order[i]; q.within(e.Created) && !yield(e) {
				return
			}
		}
	})
	kept := p.Media[:0]
	for _, m := range p.Media {
		details, found, err := readMedium(filepath.Join(dir, m.ID+".json"))
		if err != nil {
			return MediaPage{}, err
		}
		if found { // else removed since the snapshot
			m.Details = details
			kept = append(kept, m)
		}
	}
	p.Media = kept
	return p, nil
}

// mediaOrder returns the media of a directory oldest first, then by ID,
// from a snapshot while the directory is unchanged.
func (d *Dir) mediaOrder(dir string) ([]Medium, error) {
	now := time.Now()
	d.mu.Lock()
	snap := d.orders[dir]
	d.mu.Unlock()
	if snap.fresh(dir, now) {
		return snap.value, nil
	}
	next := taken[[]Medium](dir, now)
	names, isDir, err := entries(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, name := range names {
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || isDir[name] || CheckID("ID", id) != nil {
			continue
		}
		details, found, err := readMedium(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if found {
			next.value = append(next.value, Medium{ID: id, Created: CreatedOf(details), fields: FieldsOf(details)})
		}
	}
	slices.SortFunc(next.value, ascending)
	d.mu.Lock()
	d.orders[dir] = next
	d.mu.Unlock()
	return next.value, nil
}

// accountBytes is what an account's media files take, both kinds. The
// account's lock is held.
func (d *Dir) accountBytes(accountID string) (int64, error) {
	var total int64
	for _, kind := range []Kind{Video, LiveInput} {
		n, err := d.mediaBytes(d.mediaDir(kind, accountID))
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// mediaBytes totals the sizes of a media directory's files, from a
// snapshot while the directory is unchanged. The account's lock is held.
func (d *Dir) mediaBytes(dir string) (int64, error) {
	d.mu.Lock()
	snap := d.sizes[dir]
	d.mu.Unlock()
	if snap != nil && !snap.racy {
		if info, err := os.Stat(dir); err == nil && info.ModTime().Equal(snap.mod) {
			return snap.value, nil
		}
	}
	next := taken[int64](dir, time.Now())
	list, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	for _, e := range list {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			next.value += info.Size()
		}
	}
	d.mu.Lock()
	d.sizes[dir] = next
	d.mu.Unlock()
	return next.value, nil
}

// DeleteMedia implements [Media].
func (d *Dir) DeleteMedia(_ context.Context, kind Kind, accountID, id string) error {
	if err := CheckMedium(kind, accountID, id); err != nil {
		return err
	}
	mu := d.lock(accountID)
	mu.Lock()
	defer mu.Unlock()
	dir := d.mediaDir(kind, accountID)
	err := os.Remove(filepath.Join(dir, id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoSuchMedium
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.orders, dir)
	delete(d.counts, dir)
	delete(d.sizes, dir)
	d.mu.Unlock()
	return nil
}

// countMedia counts the entries of an account's media directory, from a
// snapshot while the directory is unchanged. The account's lock is held.
func (d *Dir) countMedia(dir string) (int, error) {
	now := time.Now()
	d.mu.Lock()
	snap := d.counts[dir]
	d.mu.Unlock()
	if snap != nil && !snap.racy {
		if info, err := os.Stat(dir); err == nil && info.ModTime().Equal(snap.mod) {
			return snap.value, nil
		}
	}
	next := taken[int](dir, now)
	names, _, err := entries(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	next.value = len(names)
	d.mu.Lock()
	d.counts[dir] = next
	d.mu.Unlock()
	return next.value, nil
}
