package streamtoken

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/token"
)

// MaxPageSize is the most videos one list request answers, as on
// Cloudflare.
const MaxPageSize = wire.MaxPageSize

// maxListResponseBytes bounds a list's answer: a page of 1,000 of
// Cloudflare's videos (some 2 KB each, playback URLs and all) is over the
// 1 MiB the client reads of other answers; 16 MiB leaves each 16 KiB.
const maxListResponseBytes = 16 << 20

// VideoFilter selects the videos [Client.ListVideos] lists: those that
// match every field set; the zero VideoFilter selects all, newest first.
type VideoFilter struct {
	// Creator is the videos' creator, exactly.
	Creator string
	// State is a processing state: "pendingupload", "downloading",
	// "queued", "inprogress", "ready", "error" or "live-inprogress".
	State string
	// Type is "vod" (videos on demand) or "live" (recordings of live
	// inputs).
	Type string
	// Search is text in the videos' meta.name, of any case.
	Search string
	// Name is the videos' meta.name, exactly.
	Name string
	// IDs are the videos' IDs: at most 100.
	IDs []string
	// LiveInputID is the live input the videos are recordings of.
	LiveInputID string
	// Start and End bound the videos' creation time.
	Start, End time.Time
	// Asc lists the oldest first.
	Asc bool
	// PageSize is how many videos each request asks for: 1 to
	// [MaxPageSize]; 0 is MaxPageSize.
	PageSize int
	// Max, when above 0, is the most videos listed: past it, the listing
	// ends with an [*IncompleteListError]. There is no maximum otherwise
	// (an account may hold tens of thousands).
	Max int
}

// check refuses a filter the API would, before anything is sent.
func (f VideoFilter) check() error {
	var vs []token.Violation
	if f.State != "" && !slices.Contains(videoStates, gen.VideoState(f.State)) {
		vs = append(vs, token.FieldViolation(fmt.Sprintf("is not a state (want one of %v)", videoStates), "State"))
	}
	if f.Type != "" && f.Type != string(gen.ListVideosParamsTypeVod) && f.Type != string(gen.ListVideosParamsTypeLive) {
		vs = append(vs, token.FieldViolation(`is not "vod" nor "live"`, "Type"))
	}
	if len(f.IDs) > wire.MaxListedIDs {
		vs = append(vs, token.FieldViolation(fmt.Sprintf("at most %d", wire.MaxListedIDs), "IDs"))
	}
	for i, id := range f.IDs {
		if why := ids.Check(id); why != "" {
			vs = append(vs, token.FieldViolation(why, "IDs", i))
		}
	}
	if f.LiveInputID != "" {
		if why := ids.Check(f.LiveInputID); why != "" {
			vs = append(vs, token.FieldViolation(why, "LiveInputID"))
		}
	}
	if len(f.Creator) > wire.MaxCreatorBytes {
		vs = append(vs, token.FieldViolation(fmt.Sprintf("at most %d bytes", wire.MaxCreatorBytes), "Creator"))
	}
	for _, n := range []struct{ field, value string }{{"Search", f.Search}, {"Name", f.Name}} { // in order: one error says the same each time
		if len(n.value) > wire.MaxNameBytes {
			vs = append(vs, token.FieldViolation(fmt.Sprintf("at most %d bytes", wire.MaxNameBytes), n.field))
		}
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.End.Before(f.Start) {
		vs = append(vs, token.FieldViolation("is before Start", "End"))
	}
	if f.PageSize < 0 || f.PageSize > MaxPageSize {
		vs = append(vs, token.FieldViolation(fmt.Sprintf("must be 0 to %d", MaxPageSize), "PageSize"))
	}
	if f.Max < 0 {
		vs = append(vs, token.FieldViolation("must be 0 (no maximum) or more", "Max"))
	}
	if len(vs) > 0 {
		return fmt.Errorf("streamtoken: %w", &token.ValidationError{Violations: vs})
	}
	return nil
}

var videoStates = []gen.VideoState{gen.VideoStatePendingupload, gen.VideoStateDownloading, gen.VideoStateQueued,
	gen.VideoStateInprogress, gen.VideoStateReady, gen.VideoStateError, gen.VideoStateLiveInprogress}

// params are the query parameters of f's first page.
func (f VideoFilter) params() gen.ListVideosParams {
	var p gen.ListVideosParams
	set := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	p.Creator, p.Search, p.VideoName, p.LiveInputID = set(f.Creator), set(f.Search), set(f.Name), set(f.LiveInputID)
	if f.State != "" {
		p.Status = new(gen.VideoState(f.State))
	}
	if f.Type != "" {
		p.Type = new(gen.ListVideosParamsType(f.Type))
	}
	if len(f.IDs) > 0 {
		p.ID = new(strings.Join(f.IDs, ","))
	}
	if !f.Start.IsZero() {
		p.Start = new(f.Start.UTC())
	}
	if !f.End.IsZero() {
		p.End = new(f.End.UTC())
	}
	if f.Asc {
		p.Asc = new(true)
	}
	p.Limit = new(cmp.Or(f.PageSize, MaxPageSize))
	return p
}

// ErrIncompleteList: a listing ended having yielded less than the account
// holds (see [IncompleteListError]).
var ErrIncompleteList = errors.New("streamtoken: the list is incomplete")

// IncompleteListError ends a listing that yielded what it could, but not
// every medium the account holds: the API lists fewer than it counts
// (Cloudflare lists at most [MaxPageSize] live inputs, the newest, and has
// no way to page past them), the answer held media whose IDs are not IDs
// (skipped: never yielded, nor acted on), or the listing stopped at the
// caller's maximum. It matches [ErrIncompleteList].
type IncompleteListError struct {
	// Kind is "videos" or "live inputs".
	Kind string
	// Listed is how many were yielded.
	Listed int
	// Total is how many the API counts; 0 when it did not say.
	Total int
	// Skipped is how many were left out for an ID that is not one.
	Skipped int
	// Max is the caller's maximum, when the listing stopped there.
	Max int
}

func (e *IncompleteListError) Error() string {
	var parts []string
	switch {
	case e.Max > 0:
		parts = append(parts, fmt.Sprintf("stopped at the maximum of %d %s: more follow", e.Max, e.Kind))
	case e.Total > e.Listed+e.Skipped:
		parts = append(parts, fmt.Sprintf("%d of %d %s listed: the API lists no more", e.Listed, e.Total, e.Kind))
	case e.Total == 0 && e.Skipped == 0:
		parts = append(parts, fmt.Sprintf("%d %s listed, a full page, and the API did not say how many there are", e.Listed, e.Kind))
	}
	if e.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d %s skipped: the answer gave them IDs that are not IDs", e.Skipped, e.Kind))
	}
	return "streamtoken: incomplete list: " + strings.Join(parts, "; ")
}

// Is matches [ErrIncompleteList].
func (e *IncompleteListError) Is(target error) bool { return target == ErrIncompleteList }

// ListVideos lists the account's videos that match f, newest first (or
// oldest, f.Asc), through as many requests as it takes: each asks for a
// page, and the next begins at the last video's creation time, skipping
// the videos already seen there. Stop early by breaking the loop; an
// error ends it (the second value; the first is nil then).
//
//	for v, err := range client.ListVideos(ctx, accountID, streamtoken.VideoFilter{}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(v.ID, v.RequireSignedURLs)
//	}
//
// The answers are not trusted: a video whose ID is not one is skipped and
// counted, and the listing then ends with an [*IncompleteListError]; a page
// out of order, or one that makes no progress (a server that ignores the
// cursor), ends it with an error, so that a broken or hostile server can
// neither loop it forever nor grow what it keeps (a page, and the IDs seen
// at the cursor's instant). More than [MaxPageSize] videos created at one
// instant cannot be paged past: that is an error too. A video created
// while the listing runs may or may not be listed.
func (c *Client) ListVideos(ctx context.Context, accountID string, f VideoFilter) iter.Seq2[*Video, error] {
	return func(yield func(*Video, error) bool) {
		if err := checkIDs(pathID{gen.ParamAccountID, accountID}); err != nil {
			yield(nil, err)
			return
		}
		if err := f.check(); err != nil {
			yield(nil, err)
			return
		}
		params := f.params()
		size := *params.Limit
		var (
			cursor *time.Time          // where the page begins; nil for the first
			seen   = map[string]bool{} // the IDs listed at the cursor's instant
			inc    = IncompleteListError{Kind: "videos"}
		)
		for {
			// The page asks for the videos seen at the cursor's instant too:
			// a server that takes the bound inclusively answers them again.
			limit := min(size+len(seen), MaxPageSize)
			params.Limit = &limit
			page, err := c.videoPage(ctx, accountID, params)
			if err == nil {
				err = checkPage(page, cursor, f.Asc)
			}
			if err != nil {
				yield(nil, err)
				return
			}
			fresh := 0
			for _, v := range page {
				if seen[v.ID] {
					continue
				}
				fresh++
				if ids.Check(v.ID) != "" {
					inc.Skipped++
					continue
				}
				if f.Max > 0 && inc.Listed == f.Max {
					inc.Max = f.Max
					yield(nil, &inc)
					return
				}
				inc.Listed++
				if !yield(v.Video, nil) {
					return
				}
			}
			if len(page) < limit { // a short page: nothing follows
				if inc.Skipped > 0 {
					yield(nil, &inc)
				}
				return
			}
			last := page[len(page)-1].created
			if fresh == 0 {
				yield(nil, fmt.Errorf("streamtoken: more than %d videos were created at %s: the listing cannot page past them (list fewer with a filter)", limit, last.Format(time.RFC3339Nano)))
				return
			}
			if cursor == nil || !cursor.Equal(last) {
				clear(seen)
			}
			for _, v := range page {
				if v.created.Equal(last) {
					seen[v.ID] = true
				}
			}
			if len(seen) > MaxPageSize {
				yield(nil, fmt.Errorf("streamtoken: the server listed more than %d videos created at %s, more than it may answer at once: it does not page as the API does", MaxPageSize, last.Format(time.RFC3339Nano)))
				return
			}
			cursor = &last
			if f.Asc {
				params.Start = new(last)
			} else {
				params.End = new(last)
			}
		}
	}
}

// listedVideo is a video of a page, with its creation time as the API
// wrote it (a Video's Created is zero for the Unix epoch, a cursor is not).
type listedVideo struct {
	*Video
	created time.Time
}

// checkPage refuses a page that is out of the order asked for, or that
// begins before the cursor (a server that ignores it): either could keep a
// listing going forever.
func checkPage(page []listedVideo, cursor *time.Time, asc bool) error {
	before := func(a, b time.Time) bool { // a comes before b in the listing's order
		if asc {
			return a.Before(b)
		}
		return a.After(b)
	}
	for i, v := range page {
		switch {
		case i == 0 && cursor != nil && before(v.created, *cursor):
			return fmt.Errorf("streamtoken: the server answered a video created at %s for a page that begins at %s: it ignores the listing's cursor", v.created.Format(time.RFC3339Nano), cursor.Format(time.RFC3339Nano))
		case i > 0 && before(v.created, page[i-1].created):
			return errors.New("streamtoken: the server answered a page of videos out of the order asked for: the listing cannot page through it")
		}
	}
	return nil
}

// videoPage asks for one page of videos.
func (c *Client) videoPage(ctx context.Context, accountID string, params gen.ListVideosParams) ([]listedVideo, error) {
	var page []listedVideo
	_, err := c.exchangeUpTo(ctx, maxListResponseBytes,
		func(ctx context.Context) (*http.Response, error) { return c.gen.ListVideos(ctx, accountID, &params) },
		func(raw []byte) bool {
			var env gen.VideoListResponse
			if json.Unmarshal(raw, &env) != nil || !bool(env.Success) || len(env.Result) > MaxPageSize {
				return false
			}
			page = make([]listedVideo, 0, len(env.Result))
			for _, r := range env.Result {
				page = append(page, listedVideo{videoOf(r), r.Created})
			}
			return true
		})
	return page, err
}

// ListLiveInputs lists the account's live inputs with their security
// settings: one request for the list (which has no settings), then one
// per live input to read them. Stop early by breaking the loop; an error
// ends it.
//
// The API lists at most [MaxPageSize] live inputs, the newest, with no way
// to page past them: with more, or with listed IDs that are not IDs
// (skipped), the listing ends with an [*IncompleteListError] once it has
// yielded the others. It ends so too after a full page when the API does
// not say how many there are.
func (c *Client) ListLiveInputs(ctx context.Context, accountID string) iter.Seq2[*LiveInput, error] {
	return func(yield func(*LiveInput, error) bool) {
		if err := checkIDs(pathID{gen.ParamAccountID, accountID}); err != nil {
			yield(nil, err)
			return
		}
		var (
			listed []string
			inc    = IncompleteListError{Kind: "live inputs"}
		)
		_, err := c.exchangeUpTo(ctx, maxListResponseBytes,
			func(ctx context.Context) (*http.Response, error) {
				return c.gen.ListLiveInputs(ctx, accountID, &gen.ListLiveInputsParams{IncludeCounts: new(true)})
			},
			func(raw []byte) bool {
				var env gen.LiveInputListResponse
				if json.Unmarshal(raw, &env) != nil || !bool(env.Success) || len(env.Result.LiveInputs) > MaxPageSize {
					return false
				}
				n := len(env.Result.LiveInputs)
				if t := env.Result.Total; t != nil {
					if *t < n {
						return false // fewer than it lists: not a count
					}
					inc.Total = *t
				}
				listed = make([]string, 0, n)
				for _, li := range env.Result.LiveInputs {
					if ids.Check(li.UID) != "" {
						inc.Skipped++
						continue
					}
					listed = append(listed, li.UID)
				}
				return true
			})
		if err != nil {
			yield(nil, err)
			return
		}
		for _, id := range listed {
			li, _, err := c.liveInput(ctx, accountID, id)
			if err == nil && li.ID != id {
				err = fmt.Errorf("streamtoken: asked for live input %s, the API answered another", id)
			}
			if !yield(li, err) || err != nil {
				return
			}
			inc.Listed++
		}
		full := len(listed)+inc.Skipped == MaxPageSize
		if inc.Skipped > 0 || inc.Total > inc.Listed || (inc.Total == 0 && full) {
			yield(nil, &inc)
		}
	}
}

// DirectUpload is a video to create for an upload by a URL that needs no
// credentials (a browser's, a creator's): its settings, among them its
// security, which hold from its creation.
type DirectUpload struct {
	// MaxDuration is the longest video the URL takes: 1 second to 6
	// hours, whole seconds. Required.
	MaxDuration time.Duration
	// RequireSignedURLs makes the video play only with a signed token.
	RequireSignedURLs bool
	// AllowedOrigins are the sites that may show it; none: every site.
	AllowedOrigins []string
	// Expiry is when the URL stops taking the upload: 2 minutes to 6
	// hours ahead. Zero: 30 minutes from the request.
	Expiry time.Time
	// Creator is who the video is of or by, at most 64 bytes.
	Creator string
	// Name is its meta.name; Meta its other metadata (Name wins).
	Name string
	Meta map[string]any
	// ScheduledDeletion, when set, is when it is to be deleted.
	ScheduledDeletion time.Time
	// ThumbnailTimestampPct, when set, is where its thumbnail is taken, a
	// fraction of its length (0 to 1).
	ThumbnailTimestampPct *float64
	// WatermarkID, when set, is the watermark profile to apply.
	WatermarkID string
}

// Upload is a direct upload created: the video's ID, and the URL that
// takes one upload of it (a multipart/form-data POST) until its expiry.
type Upload struct {
	VideoID string
	// URL is a capability: whoever holds it may upload the video. It is
	// not logged.
	URL string
}

// String describes u without its URL, as GoString, LogValue and
// MarshalJSON do: the URL is read from the field alone.
func (u Upload) String() string { return "upload of video " + u.VideoID }

// GoString implements fmt.GoStringer, without the URL.
func (u Upload) GoString() string {
	return "streamtoken.Upload{VideoID: " + strconv.Quote(u.VideoID) + ", URL: [redacted]}"
}

// LogValue implements slog.LogValuer, without the URL.
func (u Upload) LogValue() slog.Value {
	return slog.GroupValue(slog.String("video", u.VideoID), slog.String("url", "[redacted]"))
}

// MarshalJSON implements json.Marshaler, without the URL.
func (u Upload) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		VideoID string `json:"videoID"`
		URL     string `json:"url"`
	}{u.VideoID, "[redacted]"})
}

// body is u as the API takes it, or what is wrong with it.
func (u DirectUpload) body() (gen.DirectUploadRequest, error) {
	var vs []token.Violation
	secs := u.MaxDuration / time.Second
	if u.MaxDuration%time.Second != 0 || secs < 1 || secs > wire.MaxDurationSeconds {
		vs = append(vs, token.FieldViolation("must be whole seconds, 1s to 6h", "MaxDuration"))
	}
	if u.AllowedOrigins != nil {
		vs = append(vs, wire.CheckOrigins(u.AllowedOrigins, "AllowedOrigins")...)
	}
	if len(u.Creator) > wire.MaxCreatorBytes {
		vs = append(vs, token.FieldViolation(fmt.Sprintf("at most %d bytes", wire.MaxCreatorBytes), "Creator"))
	}
	if p := u.ThumbnailTimestampPct; p != nil && (*p < 0 || *p > 1) {
		vs = append(vs, token.FieldViolation("must be 0 to 1", "ThumbnailTimestampPct"))
	}
	if len(u.WatermarkID) > 32 {
		vs = append(vs, token.FieldViolation("at most 32 bytes", "WatermarkID"))
	}
	meta := maps.Clone(u.Meta)
	if u.Name != "" {
		if meta == nil {
			meta = map[string]any{}
		}
		meta["name"] = u.Name
	}
	if meta != nil {
		vs = append(vs, wire.CheckMeta(meta, "Meta")...)
	}
	vs = append(vs, wire.CheckNoNUL(map[string]any{"Creator": u.Creator, "Meta": meta})...)
	if len(vs) > 0 {
		return gen.DirectUploadRequest{}, fmt.Errorf("streamtoken: %w", &token.ValidationError{Violations: vs})
	}
	b := gen.DirectUploadRequest{MaxDurationSeconds: int(secs), Meta: meta}
	if p := u.ThumbnailTimestampPct; p != nil {
		b.ThumbnailTimestampPct = new(float32(*p))
	}
	if u.RequireSignedURLs {
		b.RequireSignedURLs = new(true)
	}
	if u.AllowedOrigins != nil {
		b.AllowedOrigins = new(gen.AllowedOrigins(slices.Clone(u.AllowedOrigins)))
	}
	if !u.Expiry.IsZero() {
		b.Expiry = new(u.Expiry.UTC())
	}
	if u.Creator != "" {
		b.Creator = new(u.Creator)
	}
	if !u.ScheduledDeletion.IsZero() {
		b.ScheduledDeletion = new(u.ScheduledDeletion.UTC())
	}
	if u.WatermarkID != "" {
		b.Watermark = &gen.WatermarkAtUpload{UID: new(u.WatermarkID)}
	}
	return b, nil
}

// CreateDirectUpload creates a video with u's settings and a URL that
// takes one upload of it. With u.RequireSignedURLs the video plays only
// with a signed token from its first second: no window in which it is
// public. The settings are checked before anything is sent: a
// *token.ValidationError lists what is wrong.
func (c *Client) CreateDirectUpload(ctx context.Context, accountID string, u DirectUpload) (*Upload, error) {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}); err != nil {
		return nil, err
	}
	body, err := u.body()
	if err != nil {
		return nil, err
	}
	var out *Upload
	err = c.exchange(ctx,
		func(ctx context.Context) (*http.Response, error) {
			return c.gen.CreateDirectUpload(ctx, accountID, &gen.CreateDirectUploadParams{}, body)
		},
		func(raw []byte) bool {
			var env gen.DirectUploadResponse
			if json.Unmarshal(raw, &env) != nil || !bool(env.Success) || ids.Check(env.Result.UID) != "" || env.Result.UploadURL == "" {
				return false
			}
			out = &Upload{VideoID: env.Result.UID, URL: env.Result.UploadURL}
			return true
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}
