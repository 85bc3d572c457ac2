package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/store"
)

// dated is a medium's details with a creation time and a label.
type dated struct {
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified,omitzero"`
	Label    string    `json:"creator,omitempty"` // a field the filters read
	N        int       `json:"n,omitempty"`
}

// keep stores a medium with the details d.
func keep(t *testing.T, st store.Store, kind store.Kind, account, id string, d dated) {
	t.Helper()
	_, err := st.EditMedia(context.Background(), kind, account, id, store.MaxMediaPerAccount, func([]byte, bool) ([]byte, error) {
		return json.Marshal(d)
	})
	if err != nil {
		t.Fatalf("EditMedia(%s %s): %v", kind, id, err)
	}
}

// listed is a page's IDs, space-separated.
func listed(p store.MediaPage) string {
	var b strings.Builder
	for _, m := range p.Media {
		b.WriteString(m.ID + " ")
	}
	return strings.TrimSpace(b.String())
}

func (s *suite) list(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	if p, err := st.ListMedia(ctx, store.Video, accountA, store.MediaQuery{Count: true}); err != nil || len(p.Media) != 0 || p.More || p.Total != 0 {
		t.Fatalf("ListMedia(an account with none) = %+v, %v; want an empty page", p, err)
	}
	// v1 and v2 at one time, v3 a second later, v0 (an ID before them
	// all) a second after that; kept out of order.
	at := func(s int) time.Time { return day.Add(time.Duration(s) * time.Second) }
	keep(t, st, store.Video, accountA, "v3", dated{Created: at(1), Label: "x"})
	keep(t, st, store.Video, accountA, "v2", dated{Created: at(0), Label: "y"})
	keep(t, st, store.Video, accountA, "v0", dated{Created: at(2), Label: "x"})
	keep(t, st, store.Video, accountA, "v1", dated{Created: at(0), Label: "x"})
	keep(t, st, store.LiveInput, accountA, "li", dated{Created: at(0)})
	keep(t, st, store.Video, accountB, "vb", dated{Created: at(0)})
	labelX := store.MediaFilter{Creator: new("x")}
	for _, c := range []struct {
		name        string
		q           store.MediaQuery
		want        string
		more        bool
		total, rest int
	}{
		{"newest first", store.MediaQuery{}, "v0 v3 v2 v1", false, 0, 0},
		{"oldest first", store.MediaQuery{Asc: true}, "v1 v2 v3 v0", false, 0, 0},
		{"a page", store.MediaQuery{Limit: 2}, "v0 v3", true, 0, 0},
		{"a page, counted", store.MediaQuery{Limit: 2, Count: true}, "v0 v3", true, 4, 2},
		{"a page, oldest first, counted", store.MediaQuery{Asc: true, Limit: 3, Count: true}, "v1 v2 v3", true, 4, 1},
		{"the whole page", store.MediaQuery{Limit: 4, Count: true}, "v0 v3 v2 v1", false, 4, 0},
		{"start, inclusive", store.MediaQuery{Start: new(at(1))}, "v0 v3", false, 0, 0},
		{"end, inclusive", store.MediaQuery{End: new(at(1))}, "v3 v2 v1", false, 0, 0},
		{"end, oldest first", store.MediaQuery{Asc: true, End: new(at(0))}, "v1 v2", false, 0, 0},
		{"start, oldest first", store.MediaQuery{Asc: true, Start: new(at(1)), Count: true}, "v3 v0", false, 2, 0},
		{"start and end", store.MediaQuery{Start: new(at(1)), End: new(at(1))}, "v3", false, 0, 0},
		{"between times", store.MediaQuery{Start: new(at(0).Add(time.Millisecond)), End: new(at(1).Add(-time.Millisecond))}, "", false, 0, 0},
		{"matched", store.MediaQuery{Filter: labelX, Count: true}, "v0 v3 v1", false, 3, 0},
		{"matched, a page", store.MediaQuery{Filter: labelX, Limit: 1}, "v0", true, 0, 0},
		{"matched, a page, counted", store.MediaQuery{Filter: labelX, Limit: 1, Asc: true, Count: true}, "v1", true, 3, 2},
		{"over the most", store.MediaQuery{Limit: store.MaxPage + 1}, "v0 v3 v2 v1", false, 0, 0},
	} {
		p, err := st.ListMedia(ctx, store.Video, accountA, c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := listed(p); got != c.want || p.More != c.more || p.Total != c.total || p.Rest != c.rest {
			t.Errorf("%s: ListMedia() = [%s] more %v total %d rest %d; want [%s] more %v total %d rest %d",
				c.name, got, p.More, p.Total, p.Rest, c.want, c.more, c.total, c.rest)
		}
	}
	// Each medium with its details and time, as a copy.
	p, _ := st.ListMedia(ctx, store.Video, accountA, store.MediaQuery{Limit: 1})
	if len(p.Media) != 1 || !p.Media[0].Created.Equal(at(2)) || !strings.Contains(string(p.Media[0].Details), `"creator"`) {
		t.Fatalf("ListMedia(limit 1) = %+v", p.Media)
	}
	p.Media[0].Details[0] = 'x'
	if d, _, _ := st.Media(ctx, store.Video, accountA, "v0"); len(d) == 0 || d[0] != '{' {
		t.Errorf("a listing handed out the store's own details: now %q", d)
	}
	// Kinds and accounts apart.
	if p, _ := st.ListMedia(ctx, store.LiveInput, accountA, store.MediaQuery{}); listed(p) != "li" {
		t.Errorf("ListMedia(live inputs) = [%s], want [li]", listed(p))
	}
	if p, _ := st.ListMedia(ctx, store.Video, accountB, store.MediaQuery{}); listed(p) != "vb" {
		t.Errorf("ListMedia(account B) = [%s], want [vb]", listed(p))
	}
	// An edit that changes the time moves the medium; one that does not
	// keeps it in place.
	keep(t, st, store.Video, accountA, "v1", dated{Created: at(3), Label: "x"})
	keep(t, st, store.Video, accountA, "v2", dated{Created: at(0), Label: "y", N: 1})
	if p, _ := st.ListMedia(ctx, store.Video, accountA, store.MediaQuery{Asc: true}); listed(p) != "v2 v3 v0 v1" {
		t.Errorf("ListMedia() after edits = [%s], want [v2 v3 v0 v1]", listed(p))
	}
	// Details with no time come first, oldest.
	keep(t, st, store.Video, accountA, "untimed", dated{})
	if p, _ := st.ListMedia(ctx, store.Video, accountA, store.MediaQuery{Asc: true, Limit: 1}); listed(p) != "untimed" {
		t.Errorf("ListMedia() with a medium of no time = [%s], want it first", listed(p))
	}
	// A zero bound is a bound, not the absence of one: a listing paged
	// down to the zero time goes on from there, not from the top.
	if p, _ := st.ListMedia(ctx, store.Video, accountA, store.MediaQuery{End: new(time.Time{})}); listed(p) != "untimed" {
		t.Errorf("ListMedia(end at the zero time) = [%s], want [untimed]", listed(p))
	}
	// A medium written before media had a creation time (the epoch) is
	// ordered by its last change: a thousand of them do not stand at one
	// instant.
	keep(t, st, store.Video, accountA, "old", dated{Created: time.Unix(0, 0), Modified: at(5)})
	if p, _ := st.ListMedia(ctx, store.Video, accountA, store.MediaQuery{Limit: 1}); listed(p) != "old" || !p.Media[0].Created.Equal(at(5)) {
		t.Errorf("ListMedia() with a medium of the epoch, modified last = %+v, want it first, at its last change", p.Media)
	}
}

func (s *suite) listBounds(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	for _, c := range []struct {
		name    string
		kind    store.Kind
		account string
		q       store.MediaQuery
	}{
		{"no kind", "clip", accountA, store.MediaQuery{}},
		{"a bad account ID", store.Video, "../a", store.MediaQuery{}},
		{"an empty account ID", store.Video, "", store.MediaQuery{}},
		{"a negative limit", store.Video, accountA, store.MediaQuery{Limit: -1}},
		{"end before start", store.Video, accountA, store.MediaQuery{Start: new(day), End: new(day.Add(-time.Second))}},
	} {
		if _, err := st.ListMedia(ctx, c.kind, c.account, c.q); err == nil {
			t.Errorf("ListMedia(%s) = nil error", c.name)
		}
	}
}

// listLarge pages through the most media an account keeps, newest first,
// by the inclusive end bound as a client pages, and finds each once.
func (s *suite) listLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps 2,500 media; not with -short")
	}
	ctx := context.Background()
	st, _ := s.open(t)
	const n = 2500
	for i := range n {
		// Ten media a second: pages end in the middle of a second.
		keep(t, st, store.Video, accountA, fmt.Sprintf("v%05d", i), dated{Created: day.Add(time.Duration(i/10) * time.Second)})
	}
	seen := map[string]bool{}
	var end *time.Time
	for pages := 0; len(seen) < n; pages++ {
		if pages > 10 {
			t.Fatalf("paging found %d of %d media in 10 pages", len(seen), n)
		}
		p, err := st.ListMedia(ctx, store.Video, accountA, store.MediaQuery{End: end, Limit: 333, Count: pages == 0})
		if err != nil {
			t.Fatal(err)
		}
		if pages == 0 && (p.Total != n || p.Rest != n-333) {
			t.Errorf("the first page counted total %d rest %d, want %d and %d", p.Total, p.Rest, n, n-333)
		}
		for _, m := range p.Media {
			seen[m.ID] = true
		}
		end = new(p.Media[len(p.Media)-1].Created)
		if !p.More {
			break
		}
	}
	if len(seen) != n {
		t.Errorf("paging found %d of %d media", len(seen), n)
	}
	ordered := slices.Sorted(func(yield func(string) bool) {
		for id := range seen {
			if !yield(id) {
				return
			}
		}
	})
	if ordered[0] != "v00000" || ordered[n-1] != fmt.Sprintf("v%05d", n-1) {
		t.Errorf("paging found %s to %s", ordered[0], ordered[n-1])
	}
}

// listFilters runs each filter of a listing, with values that a JSON
// encoder escapes (<, >, &, U+2028) and a database's text would not: every
// store compares the values themselves, and folds names alike.
func (s *suite) listFilters(t *testing.T) {
	ctx := context.Background()
	st, _ := s.open(t)
	at := func(s int) time.Time { return day.Add(time.Duration(s) * time.Second) }
	for i, details := range []string{
		`{"creator":"r&d","meta":{"name":"Café <One>\u2028"},"status":{"state":"ready"}}`,
		`{"creator":"r<d>","meta":{"name":"café two"},"status":{"state":"pendingupload"},"liveInput":"li1"}`,
		`{"meta":{"name":42}}`,
		`{"creator":"r&d","meta":{"name":"CAFÉ 100%_x"},"status":{"state":"error"}}`,
	} {
		id := string(rune('a' + i))
		_, err := st.EditMedia(ctx, store.Video, accountA, id, store.MaxMediaPerAccount, func([]byte, bool) ([]byte, error) {
			return []byte(strings.Replace(details, "{", fmt.Sprintf(`{"created":%q,`, at(i).Format(time.RFC3339)), 1)), nil
		})
		if err != nil {
			t.Fatalf("EditMedia(%s): %v", id, err)
		}
	}
	for _, c := range []struct {
		name   string
		filter store.MediaFilter
		want   string
	}{
		{"creator with &", store.MediaFilter{Creator: new("r&d")}, "a d"},
		{"creator with < and >", store.MediaFilter{Creator: new("r<d>")}, "b"},
		{"no such creator", store.MediaFilter{Creator: new("")}, ""},
		{"name with < > and U+2028", store.MediaFilter{Name: new("Café <One>\u2028")}, "a"},
		{"search, of any case", store.MediaFilter{Search: "CAFÉ"}, "a b d"},
		{"search for a wildcard's text", store.MediaFilter{Search: "%_"}, "d"},
		{"search for a wildcard alone", store.MediaFilter{Search: "_"}, "d"},
		{"search with U+2028", store.MediaFilter{Search: "<one>\u2028"}, "a"},
		{"state ready, given or not", store.MediaFilter{State: "ready"}, "a c"},
		{"state error", store.MediaFilter{State: "error"}, "d"},
		{"live recordings", store.MediaFilter{Live: new(true)}, "b"},
		{"not live", store.MediaFilter{Live: new(false)}, "a c d"},
		{"a live input's", store.MediaFilter{LiveInput: new("li1")}, "b"},
		{"IDs", store.MediaFilter{IDs: []string{"c", "a", "z"}}, "a c"},
		{"names or IDs", store.MediaFilter{Names: []string{"café two", "c"}}, "b c"},
		{"U+0000, which no medium holds", store.MediaFilter{Creator: new("r\x00d")}, ""},
		{"an ID with U+0000 among others", store.MediaFilter{IDs: []string{"a\x00", "b"}}, "b"},
		{"two filters", store.MediaFilter{Creator: new("r&d"), State: "error"}, "d"},
	} {
		p, err := st.ListMedia(ctx, store.Video, accountA, store.MediaQuery{Asc: true, Filter: c.filter, Count: true})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := listed(p); got != c.want || p.Total != len(p.Media) {
			t.Errorf("%s: ListMedia() = [%s] total %d; want [%s]", c.name, got, p.Total, c.want)
		}
	}
	p, err := st.ListMedia(ctx, store.Video, accountA, store.MediaQuery{Filter: store.MediaFilter{Creator: new("r&d")}, Limit: 1, Count: true})
	if err != nil || listed(p) != "d" || !p.More || p.Total != 2 || p.Rest != 1 {
		t.Errorf("a filtered page of one, counted = [%s] more %v total %d rest %d, %v; want [d], more, 2 and 1", listed(p), p.More, p.Total, p.Rest, err)
	}
}
