package standin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Service serves the media operations ([gen.MediaOperations]) as
// Cloudflare's API does, on a [store.Media]: a video's details read,
// edited (a partial update) and deleted, a live input read and updated
// (its recording settings replaced whole), the two listed, and direct
// uploads with the upload URL that takes each one's upload
// ([Service.ServeUpload]). What it emulates of Cloudflare is what a
// signed URL depends on: requireSignedURLs and allowedOrigins, with the
// other fields of the bodies kept as given. Every valid ID exists, with
// the defaults (requireSignedURLs false, allowedOrigins empty), until it
// is changed, unless Videos or LiveInputs say which exist.
//
// It is a [server.Media]: given as server.Config.Media, the server mounts
// it beside token issuance and asks it whether a video exists
// ([Service.VideoExists]). A server of one's own embeds it instead. Like
// the server's services, it fails closed: no [server.Caller] in the
// context is a 401, a caller not allowed for the account a 403.
type Service struct {
	// Store keeps what was changed. Required, unless the Service is
	// mounted on a server (see [Service.Mount]).
	Store store.Media
	// Now dates the changes. Nil: time.Now.
	Now func() time.Time
	// Videos and LiveInputs, when set, say which IDs exist; the others are
	// 404 envelopes, and a token for a video not in Videos too. Nil: every
	// valid ID exists.
	Videos, LiveInputs func(accountID, id string) bool
	// MaxPerAccount caps the videos, and the live inputs, whose details an
	// account may change. Zero: store.MaxMediaPerAccount.
	MaxPerAccount int
	// UploadURL makes the upload URL of a direct upload, from its account
	// and its capability (the path's identifier), which
	// [Service.ServeUpload] serves ([UploadURLs] makes one from a public
	// URL). Nil: the request's origin, as [UploadOrigin] keeps it, and the
	// URL's path.
	UploadURL func(ctx context.Context, accountID, capability string) string
	// Logger logs the faults of uploads and deliveries. Nil: nothing is
	// logged.
	Logger *slog.Logger
	// Webhooks keeps each account's webhook. Nil: the Store's, when it
	// keeps them (every store of this module does), else a store in
	// memory.
	Webhooks store.Webhooks
	// Deliveries sends the webhooks' notifications. Nil: deliveries of
	// the defaults, to public addresses alone.
	Deliveries *Deliveries

	webhooks   store.Webhooks
	deliveries *Deliveries
}

var (
	_ server.Media        = (*Service)(nil)
	_ server.VideoChecker = (*Service)(nil)
	_ gen.MediaOperations = (*Service)(nil)
)

// Mount is for [server.New], which calls it once: the upload route goes
// on the server's mux (served without credentials and never traced: its
// path holds the upload's capability), the store's calls are traced and
// its refusals counted as the server's own, and direct uploads learn
// their origin ([UploadOrigin]). A Service without a Store gets a
// [store.Memory] of the default size, whose details go with the process.
// A Service is mounted on one server.
func (ms *Service) Mount(m server.Mount) (gen.StrictMiddlewareFunc, error) {
	if ms.MaxPerAccount < 0 {
		return nil, fmt.Errorf("standin: MaxPerAccount %d is negative", ms.MaxPerAccount)
	}
	if ms.Store == nil {
		ms.Store = store.NewMemory(0)
	}
	ms.webhooks = ms.Webhooks
	if ms.webhooks == nil {
		if w, ok := ms.Store.(store.Webhooks); ok {
			ms.webhooks = w
		} else {
			ms.webhooks = store.NewMemory(0)
		}
	}
	ms.deliveries = ms.Deliveries
	if ms.deliveries == nil {
		ms.deliveries = &Deliveries{}
	}
	if ms.deliveries.Logger == nil {
		ms.deliveries.Logger = ms.Logger
	}
	if err := ms.deliveries.mount(ms.webhooks, m.Registerer); err != nil {
		return nil, fmt.Errorf("standin: deliveries' metrics: %w", err)
	}
	m.HandleSecretPath(gen.UploadVideoRoute.Method+" "+gen.UploadVideoRoute.Path, http.HandlerFunc(ms.ServeUpload))
	ms.Store = observed{next: ms.Store, tr: m.Tracer, refused: m.Refused}
	return UploadOrigin, nil
}

// VideoExists implements [server.VideoChecker]: a video exists when
// Videos says so, or, with Videos nil, when its ID is valid.
func (ms *Service) VideoExists(_ context.Context, accountID, videoID string) (server.Existence, error) {
	if ms.Videos != nil && !ms.Videos(accountID, videoID) {
		return server.VideoMissing, nil
	}
	return server.VideoExists, nil
}

func (ms *Service) log() *slog.Logger {
	if ms.Logger != nil {
		return ms.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// unchanged is the created and modified date of media never changed: the
// emulation knows of no upload.
var unchanged = time.Unix(0, 0).UTC()

// GetVideo answers a video's details.
func (ms *Service) GetVideo(ctx context.Context, req gen.GetVideoRequestObject) (gen.GetVideoResponseObject, error) {
	if ps := ms.refuse(ctx, req.AccountID, gen.ParamIdentifier, req.Identifier, ms.Videos, "video"); ps != nil {
		return gen.GetVideo4XXJSONResponse{Body: server.Envelope(ps), StatusCode: ps[0].Status}, nil
	}
	v := defaultVideo(req.Identifier)
	if err := ms.read(ctx, store.Video, req.AccountID, req.Identifier, &v); err != nil {
		return nil, err
	}
	return gen.GetVideo200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: v}, nil
}

// DeleteVideo forgets what the server keeps of a video (its details, a
// pending direct upload, whose URL then takes nothing): its place under
// the account's caps is free again. A video the server keeps nothing of
// is a 404.
func (ms *Service) DeleteVideo(ctx context.Context, req gen.DeleteVideoRequestObject) (gen.DeleteVideoResponseObject, error) {
	fail := func(ps ...server.Problem) gen.DeleteVideoResponseObject {
		return gen.DeleteVideo4XXJSONResponse{Body: server.Envelope(ps), StatusCode: ps[0].Status}
	}
	if ps := ms.refuse(ctx, req.AccountID, gen.ParamIdentifier, req.Identifier, ms.Videos, "video"); ps != nil {
		return fail(ps...), nil
	}
	switch err := ms.Store.DeleteMedia(ctx, store.Video, req.AccountID, req.Identifier); {
	case errors.Is(err, store.ErrNoSuchMedium):
		return fail(server.Problem{Status: http.StatusNotFound, Code: apicode.NoSuchMedia,
			Message: fmt.Sprintf("this server keeps nothing of video %s of account %s", req.Identifier, req.AccountID)}), nil
	case err != nil:
		return nil, fmt.Errorf("deleting video %s of account %s: %w", req.Identifier, req.AccountID, err)
	}
	return gen.DeleteVideo200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: "ok"}, nil
}

// EditVideo changes the fields the body gives and keeps the others.
func (ms *Service) EditVideo(ctx context.Context, req gen.EditVideoRequestObject) (gen.EditVideoResponseObject, error) {
	fail := func(ps ...server.Problem) gen.EditVideoResponseObject {
		return gen.EditVideo4XXJSONResponse{Body: server.Envelope(ps), StatusCode: ps[0].Status}
	}
	if ps := ms.refuse(ctx, req.AccountID, gen.ParamIdentifier, req.Identifier, ms.Videos, "video"); ps != nil {
		return fail(ps...), nil
	}
	edit := req.Body
	if edit == nil {
		edit = &gen.VideoEdit{}
	}
	var vs []token.Violation
	if edit.AllowedOrigins != nil {
		vs = wire.CheckOrigins(*edit.AllowedOrigins, "allowedOrigins")
	}
	if edit.UID != nil && *edit.UID != req.Identifier {
		vs = append(vs, token.FieldViolation("is not the ID of the video in the path", "uid"))
	}
	if edit.Meta != nil {
		vs = append(vs, wire.CheckMeta(edit.Meta, "meta")...)
	}
	vs = append(vs, wire.CheckNoNUL(edit)...)
	if len(vs) > 0 {
		return fail(server.Violations(vs, 0)...), nil
	}
	now := ms.now()
	v, p, err := editMedium(ctx, ms, store.Video, req.AccountID, req.Identifier, func() gen.Video { return firstVideo(req.Identifier, now) }, func(v *gen.Video) {
		applyVideoEdit(v, edit)
		v.Modified = now
	})
	switch {
	case p != nil:
		return fail(*p), nil
	case err != nil:
		return nil, err
	}
	return gen.EditVideo200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: v}, nil
}

// GetLiveInput answers a live input.
func (ms *Service) GetLiveInput(ctx context.Context, req gen.GetLiveInputRequestObject) (gen.GetLiveInputResponseObject, error) {
	if ps := ms.refuse(ctx, req.AccountID, gen.ParamLiveInputIdentifier, req.LiveInputIdentifier, ms.LiveInputs, "live input"); ps != nil {
		return gen.GetLiveInput4XXJSONResponse{Body: server.Envelope(ps), StatusCode: ps[0].Status}, nil
	}
	li := defaultLiveInput(req.LiveInputIdentifier)
	if err := ms.read(ctx, store.LiveInput, req.AccountID, req.LiveInputIdentifier, &li); err != nil {
		return nil, err
	}
	return gen.GetLiveInput200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: li}, nil
}

// UpdateLiveInput changes the top-level fields the body gives, and
// replaces the recording settings whole when the body has them.
func (ms *Service) UpdateLiveInput(ctx context.Context, req gen.UpdateLiveInputRequestObject) (gen.UpdateLiveInputResponseObject, error) {
	fail := func(ps ...server.Problem) gen.UpdateLiveInputResponseObject {
		return gen.UpdateLiveInput4XXJSONResponse{Body: server.Envelope(ps), StatusCode: ps[0].Status}
	}
	if ps := ms.refuse(ctx, req.AccountID, gen.ParamLiveInputIdentifier, req.LiveInputIdentifier, ms.LiveInputs, "live input"); ps != nil {
		return fail(ps...), nil
	}
	update := req.Body
	if update == nil {
		update = &gen.LiveInputUpdate{}
	}
	var vs []token.Violation
	if r := update.Recording; r != nil && r.AllowedOrigins != nil {
		vs = wire.CheckOrigins(*r.AllowedOrigins, "recording", "allowedOrigins")
	}
	if update.Meta != nil {
		vs = append(vs, wire.CheckMeta(update.Meta, "meta")...)
	}
	vs = append(vs, wire.CheckNoNUL(update)...)
	if len(vs) > 0 {
		return fail(server.Violations(vs, 0)...), nil
	}
	now := ms.now()
	li, p, err := editMedium(ctx, ms, store.LiveInput, req.AccountID, req.LiveInputIdentifier, func() gen.LiveInput {
		li := defaultLiveInput(req.LiveInputIdentifier)
		li.Created = now // first kept now: a listing orders by it
		return li
	}, func(li *gen.LiveInput) {
		applyLiveInputUpdate(li, update)
		li.Modified = now
	})
	switch {
	case p != nil:
		return fail(*p), nil
	case err != nil:
		return nil, err
	}
	return gen.UpdateLiveInput200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}, Result: li}, nil
}

// refuse is what is wrong with a request for an account's medium, if
// anything: what [server.Refuse] finds (the caller), a video whose path is another
// operation's, or (when exists says) no such medium.
func (ms *Service) refuse(ctx context.Context, accountID, idName, id string, exists func(string, string) bool, what string) []server.Problem {
	var ps []server.Problem
	if p := server.Refuse(ctx, accountID); p != nil {
		ps = append(ps, *p)
	}
	if ps == nil && idName == gen.ParamIdentifier {
		if why := wire.VideoPathClash(id); why != "" {
			ps = append(ps, server.Problem{Status: http.StatusBadRequest, Code: apicode.InvalidPath, Message: idName + ": " + why})
		}
	}
	if ps == nil && exists != nil && !exists(accountID, id) {
		ps = append(ps, server.NoSuchMedium(accountID, what, id))
	}
	return ps
}

// read decodes the stored details of a medium into v, which holds the
// defaults: they stay when none are stored.
func (ms *Service) read(ctx context.Context, kind store.Kind, accountID, id string, v any) error {
	details, found, err := ms.Store.Media(ctx, kind, accountID, id)
	if err == nil && found {
		err = json.Unmarshal(details, v)
	}
	if err != nil {
		return fmt.Errorf("reading %s %s of account %s: %w", kind, id, accountID, err)
	}
	return nil
}

// editMedium applies change to a medium's details in the store, in one
// step: to what is stored, decoded, or else to defaults(); the result is
// kept and returned. A refusal the caller answers is a server.Problem.
func editMedium[T any](ctx context.Context, ms *Service, kind store.Kind, accountID, id string, defaults func() T, change func(*T)) (T, *server.Problem, error) {
	var v T
	_, err := ms.Store.EditMedia(ctx, kind, accountID, id, ms.max(), func(details []byte, found bool) ([]byte, error) {
		v = defaults() // afresh each time: a store may call again
		if found {
			v = *new(T)
			if err := json.Unmarshal(details, &v); err != nil {
				return nil, err
			}
		}
		change(&v)
		return json.Marshal(v)
	})
	what := "videos"
	if kind == store.LiveInput {
		what = "live inputs"
	}
	switch {
	case errors.Is(err, store.ErrMediaLimit):
		return v, new(mediaLimit(what, ms.max())), nil
	case errors.Is(err, store.ErrFull) || errors.Is(err, store.ErrAccountQuota):
		p, _ := server.StoreRefusal(err)
		return v, &p, nil
	case errors.Is(err, store.ErrTooLarge):
		return v, &server.Problem{Status: http.StatusBadRequest, Code: apicode.InvalidRequest,
			Message: fmt.Sprintf("the %s's details would be over %d bytes", kind, store.MaxDetailsBytes)}, nil
	case err != nil:
		return v, nil, fmt.Errorf("changing %s %s of account %s: %w", kind, id, accountID, err)
	}
	return v, nil, nil
}

func (ms *Service) now() time.Time {
	if ms.Now != nil {
		return ms.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (ms *Service) max() int {
	if ms.MaxPerAccount > 0 {
		return ms.MaxPerAccount
	}
	return store.MaxMediaPerAccount
}

func mediaLimit(what string, max int) server.Problem {
	return server.Problem{Status: http.StatusBadRequest, Code: apicode.MediaLimit,
		Message: fmt.Sprintf("the account has changed the details of %d %s, the most this server keeps", max, what)}
}

// firstVideo is a video's details as first kept: the defaults, created
// now (a listing orders by it).
func firstVideo(id string, now time.Time) gen.Video {
	v := defaultVideo(id)
	v.Created = now
	return v
}

func defaultVideo(id string) gen.Video {
	return gen.Video{UID: id, RequireSignedURLs: false, AllowedOrigins: gen.AllowedOrigins{}, Meta: map[string]any{},
		Created: unchanged, Modified: unchanged}
}

func defaultLiveInput(id string) gen.LiveInput {
	return gen.LiveInput{UID: id, Recording: recording(nil), Meta: map[string]any{}, Created: unchanged, Modified: unchanged}
}

// recording is r with every field set: those r leaves out take their
// defaults (mode off, no signed URLs, any origin, the platform's
// timeout, the viewer count shown).
func recording(r *gen.LiveInputRecording) gen.LiveInputRecording {
	out := gen.LiveInputRecording{}
	if r != nil {
		out = *r
	}
	if out.Mode == nil {
		out.Mode = new(gen.LiveInputRecordingModeOff)
	}
	if out.RequireSignedURLs == nil {
		out.RequireSignedURLs = new(false)
	}
	if out.AllowedOrigins == nil {
		out.AllowedOrigins = &gen.AllowedOrigins{}
	} else {
		out.AllowedOrigins = new(slices.Clone(*out.AllowedOrigins))
	}
	if out.TimeoutSeconds == nil {
		out.TimeoutSeconds = new(0)
	}
	if out.HideLiveViewerCount == nil {
		out.HideLiveViewerCount = new(false)
	}
	return out
}

// applyVideoEdit sets on v each field e gives.
func applyVideoEdit(v *gen.Video, e *gen.VideoEdit) {
	if e.RequireSignedURLs != nil {
		v.RequireSignedURLs = *e.RequireSignedURLs
	}
	if e.AllowedOrigins != nil {
		v.AllowedOrigins = slices.Clone(*e.AllowedOrigins)
	}
	if e.Creator != nil {
		v.Creator = new(*e.Creator)
	}
	if e.MaxDurationSeconds != nil {
		v.MaxDurationSeconds = new(*e.MaxDurationSeconds)
	}
	if e.Meta != nil {
		v.Meta = maps.Clone(e.Meta)
	}
	if e.ScheduledDeletion != nil {
		v.ScheduledDeletion = new(e.ScheduledDeletion.UTC())
	}
	if e.ThumbnailTimestampPct != nil {
		v.ThumbnailTimestampPct = new(*e.ThumbnailTimestampPct)
	}
	if e.UploadExpiry != nil {
		v.UploadExpiry = new(e.UploadExpiry.UTC())
	}
	if e.PublicDetails != nil {
		v.PublicDetails = new(*e.PublicDetails)
	}
}

// applyLiveInputUpdate sets on li each top-level field u gives, and its
// recording settings whole.
func applyLiveInputUpdate(li *gen.LiveInput, u *gen.LiveInputUpdate) {
	if u.Recording != nil {
		li.Recording = recording(u.Recording)
	}
	if u.DefaultCreator != nil {
		li.DefaultCreator = new(*u.DefaultCreator)
	}
	if u.DeleteRecordingAfterDays != nil {
		li.DeleteRecordingAfterDays = new(*u.DeleteRecordingAfterDays)
	}
	if u.Meta != nil {
		li.Meta = maps.Clone(u.Meta)
	}
	if u.Enabled != nil {
		li.Enabled = new(*u.Enabled)
	}
}
