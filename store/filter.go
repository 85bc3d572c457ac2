package store

import (
	"encoding/json"
	"slices"
	"strings"
)

// Fields are what a listing filters a medium by, read from its details
// once, when a store keeps them (or builds its index), so that a filtered
// listing decodes nothing and every store compares the same values.
type Fields struct {
	// Creator is the details' "creator"; HasCreator whether they have one.
	Creator    string
	HasCreator bool
	// Name is meta.name, when it is a string; Folded is Fold(Name), what
	// a search looks in.
	Name, Folded string
	// State is status.state: "ready" when the details give none (a medium
	// known by its ID alone plays).
	State string
	// LiveInput is the live input a video is a recording of, or "".
	LiveInput string
}

// FieldsOf reads a medium's Fields from its details; details that do not
// decode have none but the default state.
func FieldsOf(details []byte) Fields {
	var d struct {
		Creator *string `json:"creator"`
		Meta    struct {
			Name any `json:"name"`
		} `json:"meta"`
		Status *struct {
			State string `json:"state"`
		} `json:"status"`
		LiveInput *string `json:"liveInput"`
	}
	f := Fields{State: "ready"}
	if json.Unmarshal(details, &d) != nil {
		return f
	}
	if d.Creator != nil {
		f.Creator, f.HasCreator = *d.Creator, true
	}
	if name, ok := d.Meta.Name.(string); ok {
		f.Name, f.Folded = name, Fold(name)
	}
	if d.Status != nil && d.Status.State != "" {
		f.State = d.Status.State
	}
	if d.LiveInput != nil {
		f.LiveInput = *d.LiveInput
	}
	return f
}

// size is what f adds to a medium's cost in memory.
func (f Fields) size() int {
	return len(f.Creator) + len(f.Name) + len(f.Folded) + len(f.State) + len(f.LiveInput)
}

// Fold is how a search compares names, in every store alike: Unicode
// lower case as Go has it (a database's own lower() may differ).
func Fold(s string) string { return strings.ToLower(s) }

// MediaFilter selects the media whose Fields match every filter set; the
// zero MediaFilter selects all. Strings compare exactly, bytes for bytes.
type MediaFilter struct {
	// Creator keeps the media of this creator.
	Creator *string
	// Name keeps those whose meta.name is this.
	Name *string
	// Search keeps those whose folded name holds Fold(Search); "" is no
	// filter.
	Search string
	// State keeps those in this state; "" is no filter.
	State string
	// Live keeps the recordings of live inputs (true) or the others.
	Live *bool
	// LiveInput keeps the recordings of this live input.
	LiveInput *string
	// IDs keeps the media of these IDs; nil is no filter.
	IDs []string
	// Names keeps the media whose ID or meta.name is among these; nil is
	// no filter.
	Names []string
}

// IsZero reports whether f filters nothing out.
func (f MediaFilter) IsZero() bool {
	return f.Creator == nil && f.Name == nil && f.Search == "" && f.State == "" && f.Live == nil &&
		f.LiveInput == nil && f.IDs == nil && f.Names == nil
}

// Matches reports whether the medium id with fields m passes f.
func (f MediaFilter) Matches(id string, m Fields) bool {
	switch {
	case f.Creator != nil && (!m.HasCreator || m.Creator != *f.Creator),
		f.Name != nil && m.Name != *f.Name,
		f.Search != "" && !strings.Contains(m.Folded, Fold(f.Search)),
		f.State != "" && m.State != f.State,
		f.Live != nil && (m.LiveInput != "") != *f.Live,
		f.LiveInput != nil && m.LiveInput != *f.LiveInput,
		f.IDs != nil && !slices.Contains(f.IDs, id),
		f.Names != nil && !slices.Contains(f.Names, id) && !slices.Contains(f.Names, m.Name):
		return false
	}
	return true
}

// WithoutNUL is f for a store that cannot be asked for U+0000 (PostgreSQL
// refuses it in a text parameter): the IDs and names that hold one are
// dropped, since no medium has them (details that hold U+0000 are
// refused), and false says that f matches nothing at all.
func (f MediaFilter) WithoutNUL() (MediaFilter, bool) {
	nul := func(s string) bool { return strings.ContainsRune(s, 0) }
	if f.Creator != nil && nul(*f.Creator) || f.Name != nil && nul(*f.Name) || nul(f.Search) || f.LiveInput != nil && nul(*f.LiveInput) {
		return f, false
	}
	for _, list := range []*[]string{&f.IDs, &f.Names} {
		if *list != nil && slices.ContainsFunc(*list, nul) {
			if *list = slices.DeleteFunc(slices.Clone(*list), nul); len(*list) == 0 {
				return f, false
			}
		}
	}
	return f, true
}
