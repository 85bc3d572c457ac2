package streamtokentest

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/store"
)

// seeds keeps the media of WithVideos and WithLiveInputs in an account's
// store before the account's media are first listed, so that a listing
// shows them beside those created or changed.
type seeds struct {
	store              store.Store
	videos, liveInputs map[string]bool
	created            time.Time
	mu                 sync.Mutex
	done               map[string]bool // accounts seeded
}

// exists says which media of a kind exist: those of the option, and
// those kept (a direct upload's).
func (s *seeds) exists(kind store.Kind, set map[string]bool) func(accountID, id string) bool {
	return func(accountID, id string) bool {
		if set[id] {
			return true
		}
		_, found, err := s.store.Media(context.Background(), kind, accountID, id)
		return found && err == nil
	}
}

// middleware seeds the account of a listing, once.
func (s *seeds) middleware(next gen.StrictHandlerFunc, operation string) gen.StrictHandlerFunc {
	var account func(any) string
	switch operation {
	case gen.ListVideosRoute.Operation:
		account = func(req any) string { return req.(gen.ListVideosRequestObject).AccountID }
	case gen.ListLiveInputsRoute.Operation:
		account = func(req any) string { return req.(gen.ListLiveInputsRequestObject).AccountID }
	default:
		return next
	}
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		if err := s.seed(ctx, account(req)); err != nil {
			return nil, err
		}
		return next(ctx, w, r, req)
	}
}

// seed keeps each medium of the options in the account's store, unless
// it is there: with the defaults, created when the server started, so
// that they list by ID among themselves.
func (s *seeds) seed(ctx context.Context, accountID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done[accountID] || (s.videos == nil && s.liveInputs == nil) {
		return nil
	}
	for _, kind := range []store.Kind{store.Video, store.LiveInput} {
		set := s.videos
		if kind == store.LiveInput {
			set = s.liveInputs
		}
		for _, id := range slices.Sorted(maps.Keys(set)) {
			_, err := s.store.EditMedia(ctx, kind, accountID, id, store.MaxMediaPerAccount, func(details []byte, found bool) ([]byte, error) {
				if found {
					return details, nil
				}
				return s.defaults(kind, id)
			})
			if err != nil {
				return err
			}
		}
	}
	s.done[accountID] = true
	return nil
}

func (s *seeds) defaults(kind store.Kind, id string) ([]byte, error) {
	if kind == store.LiveInput {
		return json.Marshal(gen.LiveInput{UID: id, Meta: map[string]any{}, Created: s.created, Modified: s.created})
	}
	return json.Marshal(gen.Video{UID: id, AllowedOrigins: gen.AllowedOrigins{}, Meta: map[string]any{}, Created: s.created, Modified: s.created})
}
