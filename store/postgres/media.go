package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/streamtoken/streamtoken/store"
)

// Media implements [store.Media].
func (s *Store) Media(ctx context.Context, kind store.Kind, accountID, id string) ([]byte, bool, error) {
	if err := store.CheckMedium(kind, accountID, id); err != nil {
		return nil, false, err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	var details []byte
	err := s.pool.QueryRow(ctx, "SELECT details FROM streamtoken_media WHERE kind = $1 AND account_id = $2 AND id = $3",
		string(kind), accountID, id).Scan(&details)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable(err)
	}
	return details, true, nil
}

// EditMedia implements [store.Media]: read, edited and kept in one
// transaction under the lock of the account's media of that kind, so
// that no replica's edit is lost and the cap holds across replicas.
func (s *Store) EditMedia(ctx context.Context, kind store.Kind, accountID, id string, max int, edit func([]byte, bool) ([]byte, error)) ([]byte, error) {
	if err := store.CheckMedium(kind, accountID, id); err != nil {
		return nil, err
	}
	var details []byte
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		// One account's media at a time, both kinds: the quota counts them
		// together.
		if err := lock(ctx, tx, "media/"+accountID); err != nil {
			return err
		}
		var old []byte
		err := tx.QueryRow(ctx, "SELECT details FROM streamtoken_media WHERE kind = $1 AND account_id = $2 AND id = $3",
			string(kind), accountID, id).Scan(&old)
		found := err == nil
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM streamtoken_media WHERE kind = $1 AND account_id = $2", string(kind), accountID).Scan(&n); err != nil {
				return err
			}
			if n >= max {
				return store.ErrMediaLimit
			}
		case err != nil:
			return err
		}
		if details, err = edit(old, found); err != nil {
			return editError{err}
		}
		if err := store.CheckDetails(kind, details); err != nil {
			return editError{err}
		}
		if grow := len(details) - len(old); s.accountMax > 0 && grow > 0 {
			var used int64
			if err := tx.QueryRow(ctx, "SELECT coalesce(sum(bytes), 0) FROM streamtoken_media WHERE kind IN ('video', 'live_input') AND account_id = $1",
				accountID).Scan(&used); err != nil {
				return err
			}
			if used+int64(grow) > s.accountMax {
				return editError{fmt.Errorf("%w: %d bytes of %d", store.ErrAccountQuota, used, s.accountMax)}
			}
		}
		f := store.FieldsOf(details)
		_, err = tx.Exec(ctx, `INSERT INTO streamtoken_media (kind, account_id, id, details, modified, created, creator, name, name_fold, state, live_input, bytes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (kind, account_id, id) DO UPDATE SET details = EXCLUDED.details, modified = EXCLUDED.modified, created = EXCLUDED.created,
				creator = EXCLUDED.creator, name = EXCLUDED.name, name_fold = EXCLUDED.name_fold, state = EXCLUDED.state, live_input = EXCLUDED.live_input,
				bytes = EXCLUDED.bytes`,
			string(kind), accountID, id, string(details), time.Now().UTC(), store.CreatedOf(details), creatorOf(f), f.Name, f.Folded, f.State, f.LiveInput, len(details))
		return err
	})
	var ee editError
	if errors.As(err, &ee) {
		return nil, ee.err
	}
	if err != nil {
		return nil, err
	}
	return details, nil
}

// ListMedia implements [store.Media]: the filters run in SQL on the
// columns EditMedia fills from the details (indexed: creator, name, live
// input, and the folded name for a search where pg_trgm is), the rows
// come in the query's order, and the page stops at its limit; a count is
// a query of its own.
func (s *Store) ListMedia(ctx context.Context, kind store.Kind, accountID string, q store.MediaQuery) (store.MediaPage, error) {
	if err := store.CheckMedium(kind, accountID, "-"); err != nil {
		return store.MediaPage{}, err
	}
	if err := store.CheckQuery(q); err != nil {
		return store.MediaPage{}, err
	}
	filter, possible := q.Filter.WithoutNUL()
	if !possible {
		return store.MediaPage{}, nil
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	where, args := mediaWhere(kind, accountID, q.Start, q.End, filter)
	order := "created DESC, id DESC"
	if q.Asc {
		order = "created, id"
	}
	limit := q.PageLimit()
	rows, err := s.pool.Query(ctx, "SELECT id, created, details FROM streamtoken_media WHERE "+where+" ORDER BY "+order+
		" LIMIT "+strconv.Itoa(limit+1), args...) // one more: whether more follow
	if err != nil {
		return store.MediaPage{}, unavailable(err)
	}
	var p store.MediaPage
	for rows.Next() {
		var m store.Medium
		if err := rows.Scan(&m.ID, &m.Created, &m.Details); err != nil {
			rows.Close()
			return store.MediaPage{}, unavailable(err)
		}
		m.Created = m.Created.UTC()
		p.Media = append(p.Media, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.MediaPage{}, unavailable(err)
	}
	if len(p.Media) > limit {
		p.Media, p.More = p.Media[:limit], true
	}
	if q.Count {
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM streamtoken_media WHERE "+where, args...).Scan(&p.Total); err != nil {
			return store.MediaPage{}, unavailable(err)
		}
		p.Total = max(p.Total, len(p.Media)) // a change between the two queries
		p.Rest = p.Total - len(p.Media)
	}
	return p, nil
}

// DeleteMedia implements [store.Media].
func (s *Store) DeleteMedia(ctx context.Context, kind store.Kind, accountID, id string) error {
	if err := store.CheckMedium(kind, accountID, id); err != nil {
		return err
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, "DELETE FROM streamtoken_media WHERE kind = $1 AND account_id = $2 AND id = $3", string(kind), accountID, id)
	if err != nil {
		return unavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNoSuchMedium
	}
	return nil
}

// mediaWhere is the WHERE clause of a listing, and its arguments.
func mediaWhere(kind store.Kind, accountID string, start, end *time.Time, f store.MediaFilter) (string, []any) {
	args := []any{string(kind), accountID}
	conds := []string{"kind = $1", "account_id = $2"}
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if start != nil {
		add("created >= $?", *start)
	}
	if end != nil {
		add("created <= $?", *end)
	}
	if f.Creator != nil {
		add("creator = $?", *f.Creator)
	}
	if f.Name != nil {
		add("name = $?", *f.Name)
	}
	if f.Search != "" {
		add(`name_fold LIKE '%' || $? || '%'`, likeEscaper.Replace(store.Fold(f.Search)))
	}
	if f.State != "" {
		add("state = $?", f.State)
	}
	if f.Live != nil {
		add("(live_input <> '') = $?", *f.Live)
	}
	if f.LiveInput != nil {
		add("live_input = $?", *f.LiveInput)
	}
	if f.IDs != nil {
		add("id = ANY($?)", f.IDs)
	}
	if f.Names != nil {
		add("(id = ANY($?) OR name = ANY($?))", f.Names)
	}
	return strings.Join(conds, " AND "), args
}

// likeEscaper escapes LIKE's wildcards and its escape character (a
// backslash, by default), so that a search is for its text.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// creatorOf is the creator column of a medium's fields: NULL for none.
func creatorOf(f store.Fields) *string {
	if !f.HasCreator {
		return nil
	}
	return &f.Creator
}
