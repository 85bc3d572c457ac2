package store

import (
	"encoding/json"
	"fmt"
	"iter"
	"time"
)

// MaxPage is the most media one listing returns, as on Cloudflare.
const MaxPage = 1000

// Medium is one medium as a listing returns it.
type Medium struct {
	ID string
	// Created orders listings: see [CreatedOf].
	Created time.Time
	Details []byte
	// fields are what q.Filter looks at, in the stores of this package.
	fields Fields
}

// MediaQuery selects a page of an account's media of one kind.
type MediaQuery struct {
	// Asc lists the oldest first; otherwise the newest first. Media
	// created at one time are in the order of their IDs (reversed when
	// newest first), so that a page ends at the same place every time.
	Asc bool
	// Start and End, when not nil, keep the media created at or after
	// Start, and at or before End: both bounds are inclusive, so that a
	// listing paged by the last medium's time loses none created at the
	// same time (the caller skips those it has seen). A zero time is a
	// bound like any other, not the absence of one.
	Start, End *time.Time
	// Filter keeps the media whose fields match it (see [FieldsOf]): each
	// store runs it on fields it read when it kept the media, decoding
	// nothing, and PostgreSQL in SQL, on indexed columns.
	Filter MediaFilter
	// Limit is the most media in the page: 1 to [MaxPage], and 0 or more
	// than MaxPage is MaxPage.
	Limit int
	// Count asks for Total and Rest, which cost a look at every medium of
	// the account that matches (at most [MaxMediaPerAccount]); without it
	// a listing stops after the page.
	Count bool
}

// MediaPage is a page of media.
type MediaPage struct {
	Media []Medium
	// More reports whether media that match follow the page.
	More bool
	// Total (with Count) is how many media match, the page's and the
	// rest; Rest is how many follow the page.
	Total, Rest int
}

// PageLimit is the most media the page holds: Limit, or [MaxPage] when
// Limit is 0 or over it.
func (q MediaQuery) PageLimit() int {
	if q.Limit <= 0 {
		return MaxPage
	}
	return min(q.Limit, MaxPage)
}

// within reports whether m is inside q's time bounds.
func (q MediaQuery) within(created time.Time) bool {
	return (q.Start == nil || !created.Before(*q.Start)) && (q.End == nil || !created.After(*q.End))
}

// CheckQuery refuses a query with bounds that cannot hold: End before
// Start, or a negative limit.
func CheckQuery(q MediaQuery) error {
	if q.Limit < 0 {
		return fmt.Errorf("store: a limit of %d media", q.Limit)
	}
	if q.Start != nil && q.End != nil && q.End.Before(*q.Start) {
		return fmt.Errorf("store: media created after %s and before %s", q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339))
	}
	return nil
}

// Page collects a page from media in q's order: those within its time
// bounds that its Filter keeps (by the fields the stores of this package
// keep; another store gives media that passed it already, and a query
// without it), up to its limit, and (with Count) counts the
// rest. It stops reading media as soon as it knows what the page says. A
// store yields from its index; Page keeps its own copy of no medium, so a
// store clones the details it yields when the page leaves its lock.
func (q MediaQuery) Page(media iter.Seq[Medium]) MediaPage {
	var p MediaPage
	limit := q.PageLimit()
	for m := range media {
		if !q.within(m.Created) || !q.Filter.Matches(m.ID, m.fields) {
			continue
		}
		p.Total++
		if len(p.Media) < limit {
			p.Media = append(p.Media, m)
			continue
		}
		p.More = true
		p.Rest++
		if !q.Count {
			break
		}
	}
	if !q.Count {
		p.Total, p.Rest = 0, 0
	}
	return p
}

// CreatedOf is the time a medium's details say it was created, their
// "created" member; for details that give the zero time or the Unix epoch
// there (a medium written before media had a creation time), the time of
// their last change, "modified", so that more media than a page do not
// stand at one instant no listing can page past; else the zero time.
func CreatedOf(details []byte) time.Time {
	var v struct {
		Created, Modified time.Time
	}
	if json.Unmarshal(details, &v) != nil {
		return time.Time{}
	}
	if undated(v.Created) && !undated(v.Modified) {
		return v.Modified.UTC()
	}
	return v.Created.UTC()
}

// undated reports whether t is no real time: zero, or the Unix epoch.
func undated(t time.Time) bool { return t.IsZero() || t.Equal(time.Unix(0, 0)) }
