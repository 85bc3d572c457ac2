package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
)

// ListVideos answers a page of the account's videos: those stored (created
// by a direct upload, or changed) that match every filter, in order.
func (ms *Service) ListVideos(ctx context.Context, req gen.ListVideosRequestObject) (gen.ListVideosResponseObject, error) {
	fail := func(ps ...server.Problem) gen.ListVideosResponseObject {
		return gen.ListVideos4XXJSONResponse{Body: server.Envelope(ps), StatusCode: ps[0].Status}
	}
	if p := server.Refuse(ctx, req.AccountID); p != nil {
		return fail(*p), nil
	}
	q, ps := videoQuery(req.Params)
	if ps != nil {
		return fail(ps...), nil
	}
	page, err := ms.Store.ListMedia(ctx, store.Video, req.AccountID, q)
	if err != nil {
		return nil, fmt.Errorf("listing the videos of account %s: %w", req.AccountID, err)
	}
	out := gen.ListVideos200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{},
		Result: make([]gen.Video, 0, len(page.Media))}
	for _, m := range page.Media {
		v := defaultVideo(m.ID)
		if err := json.Unmarshal(m.Details, &v); err != nil {
			return nil, fmt.Errorf("reading video %s of account %s: %w", m.ID, req.AccountID, err)
		}
		v.Created = m.Created // what the listing is ordered by, and so what a client pages by
		out.Result = append(out.Result, v)
	}
	if q.Count {
		out.Range, out.Total = new(page.Rest), new(page.Total)
	}
	return out, nil
}

// videoQuery is the store's query of a listing's parameters, or what is
// wrong with them.
func videoQuery(p gen.ListVideosParams) (store.MediaQuery, []server.Problem) {
	var ps []server.Problem
	bad := func(param, why string) {
		ps = append(ps, server.Problem{Status: http.StatusBadRequest, Code: apicode.InvalidRequest, Message: param + ": " + why})
	}
	q := store.MediaQuery{Asc: deref(p.Asc), Count: deref(p.IncludeCounts), Limit: deref(p.Limit)}
	for _, alias := range []struct {
		name, of    string
		given, main *time.Time
		to          **time.Time
	}{{"after", "start", p.After, p.Start, &q.Start}, {"before", "end", p.Before, p.End, &q.End}} {
		switch {
		case alias.given != nil && alias.main != nil:
			bad(alias.name, "is "+alias.of+" by another name: give one of them")
		case alias.given != nil:
			*alias.to = new(alias.given.UTC())
		case alias.main != nil:
			*alias.to = new(alias.main.UTC())
		}
	}
	if q.Start != nil && q.End != nil && q.End.Before(*q.Start) {
		bad("end", "is before start")
	}
	idList := splitList(p.ID)
	names := splitList(p.Name)
	for _, l := range []struct {
		name string
		list []string
	}{{"id", idList}, {"name", names}} {
		if len(l.list) > MaxListedIDs {
			bad(l.name, fmt.Sprintf("at most %d, comma-separated", MaxListedIDs))
		}
	}
	for _, id := range idList {
		if why := ids.Check(id); why != "" {
			bad("id", why)
			break
		}
	}
	if ps != nil {
		return q, ps
	}
	// The filters run in the store, on fields it read from the details
	// when it kept them (in SQL, on indexed columns, in PostgreSQL).
	f := &q.Filter
	f.Creator, f.Name, f.LiveInput, f.IDs, f.Names = p.Creator, p.VideoName, p.LiveInputID, idList, names
	if p.Status != nil {
		f.State = string(*p.Status)
	}
	if p.Type != nil {
		f.Live = new(*p.Type == gen.ListVideosParamsTypeLive)
	}
	if p.Search != nil {
		f.Search = *p.Search
	}
	return q, nil
}

// splitList is a comma-separated list's entries, without empty ones; nil
// for none given.
func splitList(s *string) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, e := range strings.Split(*s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func deref[T any](p *T) T {
	if p == nil {
		return *new(T)
	}
	return *p
}

// ListLiveInputs answers the account's live inputs, newest first (up to
// [store.MaxPage]), without their recording settings, as Cloudflare lists
// them.
func (ms *Service) ListLiveInputs(ctx context.Context, req gen.ListLiveInputsRequestObject) (gen.ListLiveInputsResponseObject, error) {
	if p := server.Refuse(ctx, req.AccountID); p != nil {
		return gen.ListLiveInputs4XXJSONResponse{Body: server.Envelope([]server.Problem{*p}), StatusCode: p.Status}, nil
	}
	count := deref(req.Params.IncludeCounts)
	page, err := ms.Store.ListMedia(ctx, store.LiveInput, req.AccountID, store.MediaQuery{Count: count})
	if err != nil {
		return nil, fmt.Errorf("listing the live inputs of account %s: %w", req.AccountID, err)
	}
	list := gen.LiveInputList{LiveInputs: make([]gen.LiveInputSummary, 0, len(page.Media))}
	for _, m := range page.Media {
		li := defaultLiveInput(m.ID)
		if err := json.Unmarshal(m.Details, &li); err != nil {
			return nil, fmt.Errorf("reading live input %s of account %s: %w", m.ID, req.AccountID, err)
		}
		list.LiveInputs = append(list.LiveInputs, gen.LiveInputSummary{UID: li.UID, Meta: li.Meta, Created: li.Created,
			Modified: li.Modified, DeleteRecordingAfterDays: li.DeleteRecordingAfterDays, Enabled: li.Enabled})
	}
	if count {
		list.Range, list.Total = new(page.Rest), new(page.Total)
	}
	return gen.ListLiveInputs200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: list}, nil
}
