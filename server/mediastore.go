package server

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/streamtoken/streamtoken/gen"
)

// MaxMediaPerAccount is the most videos, and the most live inputs, whose
// settings a store keeps per account: the settings of others stay the
// defaults, and changing them is refused ([ErrMediaLimit]).
const MaxMediaPerAccount = 10_000

// ErrMediaLimit is a [MediaStore]'s refusal to keep the settings of one
// more video or live input of an account.
var ErrMediaLimit = errors.New("the account has changed the settings of as many media as kept")

// MediaStore keeps the details of videos and live inputs that were
// changed; one never changed has the defaults. Implementations are safe
// for concurrent use, and hand out copies: a caller may change what it
// gets.
type MediaStore interface {
	// Video returns the stored details of an account's video, and
	// whether there are any.
	Video(ctx context.Context, accountID, videoID string) (gen.Video, bool, error)
	// EditVideo applies edit to the video's stored details (the zero
	// Video and found false when there are none) and keeps the result, in
	// one step: concurrent edits of one video do not lose each other's
	// changes. Keeping a video not yet stored when the account has max
	// is [ErrMediaLimit].
	EditVideo(ctx context.Context, accountID, videoID string, max int, edit func(v *gen.Video, found bool)) (gen.Video, error)
	// LiveInput and EditLiveInput are the same for live inputs.
	LiveInput(ctx context.Context, accountID, inputID string) (gen.LiveInput, bool, error)
	EditLiveInput(ctx context.Context, accountID, inputID string, max int, edit func(li *gen.LiveInput, found bool)) (gen.LiveInput, error)
}

// MemoryMediaStore is a [MediaStore] in memory: its settings go with the
// process. The zero value is not usable; use [NewMemoryMediaStore].
type MemoryMediaStore struct {
	mu     sync.Mutex
	videos map[string]map[string][]byte // account, video: JSON of a gen.Video
	inputs map[string]map[string][]byte // account, input: JSON of a gen.LiveInput
}

// NewMemoryMediaStore returns an empty store.
func NewMemoryMediaStore() *MemoryMediaStore {
	return &MemoryMediaStore{videos: map[string]map[string][]byte{}, inputs: map[string]map[string][]byte{}}
}

// Video implements [MediaStore].
func (m *MemoryMediaStore) Video(_ context.Context, accountID, videoID string) (gen.Video, bool, error) {
	var v gen.Video
	found, err := m.get(m.videos, accountID, videoID, &v)
	return v, found, err
}

// EditVideo implements [MediaStore].
func (m *MemoryMediaStore) EditVideo(_ context.Context, accountID, videoID string, max int, edit func(*gen.Video, bool)) (gen.Video, error) {
	var v gen.Video
	err := m.edit(m.videos, accountID, videoID, max, &v, func(found bool) { edit(&v, found) })
	return v, err
}

// LiveInput implements [MediaStore].
func (m *MemoryMediaStore) LiveInput(_ context.Context, accountID, inputID string) (gen.LiveInput, bool, error) {
	var li gen.LiveInput
	found, err := m.get(m.inputs, accountID, inputID, &li)
	return li, found, err
}

// EditLiveInput implements [MediaStore].
func (m *MemoryMediaStore) EditLiveInput(_ context.Context, accountID, inputID string, max int, edit func(*gen.LiveInput, bool)) (gen.LiveInput, error) {
	var li gen.LiveInput
	err := m.edit(m.inputs, accountID, inputID, max, &li, func(found bool) { edit(&li, found) })
	return li, err
}

// get decodes the stored JSON of id into v: a copy, every time.
func (m *MemoryMediaStore) get(byAccount map[string]map[string][]byte, accountID, id string, v any) (bool, error) {
	m.mu.Lock()
	raw, ok := byAccount[accountID][id]
	m.mu.Unlock()
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// edit decodes id's JSON into v (when stored), calls apply, and stores v
// again, under the lock.
func (m *MemoryMediaStore) edit(byAccount map[string]map[string][]byte, accountID, id string, max int, v any, apply func(found bool)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	raw, found := byAccount[accountID][id]
	if found {
		if err := json.Unmarshal(raw, v); err != nil {
			return err
		}
	} else if len(byAccount[accountID]) >= max {
		return ErrMediaLimit
	}
	apply(found)
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if byAccount[accountID] == nil {
		byAccount[accountID] = map[string][]byte{}
	}
	byAccount[accountID][id] = raw
	return nil
}
