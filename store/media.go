package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Kind is a kind of medium whose details a store keeps.
type Kind string

// The kinds of media.
const (
	Video     Kind = "video"
	LiveInput Kind = "live_input"
)

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool { return k == Video || k == LiveInput }

// Media keeps the details of videos and live inputs that were created or
// changed, as a JSON object (at most [MaxDetailsBytes]); one never changed
// has none. Listings order them by the details' "created" member.
// Implementations are safe for concurrent use, and hand out copies.
type Media interface {
	// Media returns the stored details of an account's medium, and
	// whether there are any.
	Media(ctx context.Context, kind Kind, accountID, id string) ([]byte, bool, error)
	// EditMedia hands edit the medium's stored details (nil and false
	// when there are none) and keeps what it returns, in one step:
	// concurrent edits of one medium, on one server or several, do not
	// lose each other's changes. Keeping a medium not yet stored when the
	// account has max of its kind is [ErrMediaLimit]; an error of edit is
	// returned as it is, and nothing is kept.
	EditMedia(ctx context.Context, kind Kind, accountID, id string, max int, edit func(details []byte, found bool) ([]byte, error)) ([]byte, error)
	// ListMedia returns a page of an account's media of a kind, as q
	// selects and orders them (see [MediaQuery]); an account with none
	// has an empty page. Its cost grows with the page, not the account,
	// unless q counts or filters.
	ListMedia(ctx context.Context, kind Kind, accountID string, q MediaQuery) (MediaPage, error)
	// DeleteMedia forgets a medium's details: [ErrNoSuchMedium] when none
	// are kept. Its bytes and its place under the account's caps are free
	// again.
	DeleteMedia(ctx context.Context, kind Kind, accountID, id string) error
}

// DefaultAccountMediaBytes is the most bytes of media details (videos and
// live inputs together, as JSON) that each account keeps in a store not
// told otherwise: far past what 10,000 videos of real metadata take (some
// 20 MB), far short of what would let one account fill a server's store.
const DefaultAccountMediaBytes = 64 << 20

// MediaStore is what the Cloudflare stand-in alone needs of a store: the
// details of videos and live inputs, and each account's webhook.
type MediaStore interface {
	Media
	Webhooks
	// Close lets go of what the store holds; calling it twice is safe.
	Close() error
}

// CheckDetails refuses details a store would not keep: of no kind above,
// over [MaxDetailsBytes] ([ErrTooLarge]), or no JSON object.
func CheckDetails(kind Kind, details []byte) error {
	switch {
	case !kind.Valid():
		return fmt.Errorf("store: no kind of medium %q", kind)
	case len(details) > MaxDetailsBytes:
		return fmt.Errorf("%w: %d bytes, over %d", ErrTooLarge, len(details), MaxDetailsBytes)
	case len(details) < 2 || details[0] != '{' || !json.Valid(details):
		return errors.New("store: a medium's details must be a JSON object")
	}
	return nil
}

// CheckMedium refuses a kind or IDs of a medium that no store keeps.
func CheckMedium(kind Kind, accountID, id string) error {
	if !kind.Valid() {
		return fmt.Errorf("store: no kind of medium %q", kind)
	}
	if err := CheckID("account ID", accountID); err != nil {
		return err
	}
	return CheckID(string(kind)+" ID", id)
}
