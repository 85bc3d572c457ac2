package store

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"time"
)

// Media implements [Media].
func (m *Memory) Media(_ context.Context, kind Kind, accountID, id string) ([]byte, bool, error) {
	if err := CheckMedium(kind, accountID, id); err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	details, ok := m.media[mediaKey{kind, accountID, id}]
	return bytes.Clone(details), ok, nil
}

// EditMedia implements [Media]: edit runs under the store's lock.
func (m *Memory) EditMedia(_ context.Context, kind Kind, accountID, id string, max int, edit func([]byte, bool) ([]byte, error)) ([]byte, error) {
	if err := CheckMedium(kind, accountID, id); err != nil {
		return nil, err
	}
	mk, mc := mediaKey{kind, accountID, id}, mediaCount{kind, accountID}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, found := m.media[mk]
	if !found && len(m.order[mc]) >= max {
		return nil, ErrMediaLimit
	}
	details, err := edit(bytes.Clone(old), found)
	if err != nil {
		return nil, err
	}
	if err := CheckDetails(kind, details); err != nil {
		return nil, err
	}
	// The fields a listing filters by, read now, once: a listing decodes
	// nothing under the lock.
	now := Medium{ID: id, Created: CreatedOf(details), fields: FieldsOf(details)}
	order := m.order[mc]
	var i int // where it was, when found
	var was Medium
	if found {
		i, _ = slices.BinarySearchFunc(order, Medium{ID: id, Created: CreatedOf(old)}, ascending)
		was = order[i]
	}
	cost := int64(len(details)-len(old)) + int64(now.fields.size()-was.fields.size())
	if !found {
		cost += int64(len(accountID)+len(id)) + entryOverhead
	}
	if err := m.takeMedia(accountID, cost); err != nil {
		return nil, err
	}
	m.media[mk] = bytes.Clone(details)
	switch {
	case found && was.Created.Equal(now.Created):
		order[i] = now // in place
	default:
		if found {
			order = slices.Delete(order, i, i+1)
		}
		j, _ := slices.BinarySearchFunc(order, now, ascending)
		m.order[mc] = slices.Insert(order, j, now)
	}
	return details, nil
}

// ascending orders media oldest first, then by ID.
func ascending(a, b Medium) int {
	return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
}

// ListMedia implements [Media]: a page costs a binary search and the
// page, unless the query filters or counts.
func (m *Memory) ListMedia(_ context.Context, kind Kind, accountID string, q MediaQuery) (MediaPage, error) {
	if err := CheckMedium(kind, accountID, "-"); err != nil {
		return MediaPage{}, err
	}
	if err := CheckQuery(q); err != nil {
		return MediaPage{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	order := m.order[mediaCount{kind, accountID}]
	p := q.Page(func(yield func(Medium) bool) {
		if q.Asc {
			i := 0
			if q.Start != nil {
				i, _ = slices.BinarySearchFunc(order, Medium{Created: *q.Start}, ascending)
			}
			for ; i < len(order); i++ {
				if !yield(m.medium(kind, accountID, order[i])) {
					return
				}
			}
			return
		}
		i := len(order) - 1
		if q.End != nil {
			// The first of those created after End, less one.
			j, _ := slices.BinarySearchFunc(order, Medium{Created: q.End.Add(time.Nanosecond)}, ascending)
			i = j - 1
		}
		for ; i >= 0; i-- {
			if !yield(m.medium(kind, accountID, order[i])) {
				return
			}
		}
	})
	for i := range p.Media {
		p.Media[i].Details = bytes.Clone(p.Media[i].Details)
	}
	return p, nil
}

// medium is an entry of the order with its details (not a copy). m.mu is
// held.
func (m *Memory) medium(kind Kind, accountID string, e Medium) Medium {
	e.Details = m.media[mediaKey{kind, accountID, e.ID}]
	return e
}

// DeleteMedia implements [Media].
func (m *Memory) DeleteMedia(_ context.Context, kind Kind, accountID, id string) error {
	if err := CheckMedium(kind, accountID, id); err != nil {
		return err
	}
	mk, mc := mediaKey{kind, accountID, id}, mediaCount{kind, accountID}
	m.mu.Lock()
	defer m.mu.Unlock()
	details, found := m.media[mk]
	if !found {
		return ErrNoSuchMedium
	}
	order := m.order[mc]
	i, _ := slices.BinarySearchFunc(order, Medium{ID: id, Created: CreatedOf(details)}, ascending)
	cost := int64(len(details)+order[i].fields.size()+len(accountID)+len(id)) + entryOverhead
	m.order[mc] = slices.Delete(order, i, i+1)
	if len(m.order[mc]) == 0 {
		delete(m.order, mc)
	}
	delete(m.media, mk)
	_ = m.takeMedia(accountID, -cost) // giving back cannot fail
	return nil
}
