package standin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Bounds of the listing and upload operations.
const (
	// MaxListedIDs is the most IDs (or names) the id and name filters of
	// a listing take.
	MaxListedIDs = wire.MaxListedIDs
	// MaxUploadBytes is the largest upload an upload URL takes, as a
	// basic upload on Cloudflare. The server keeps none of it.
	MaxUploadBytes = 200_000_000
	// DefaultUploadExpiry is how long an upload URL works when the direct
	// upload gives no expiry; MinUploadExpiry and MaxUploadExpiry bound one
	// it gives, from the time it is asked.
	DefaultUploadExpiry = wire.DefaultUploadExpiry
	MinUploadExpiry     = wire.MinUploadExpiry
	MaxUploadExpiry     = wire.MaxUploadExpiry
)

// CreateDirectUpload creates a video with the body's settings, secure from
// its creation when they say so, and answers its ID and the URL that takes
// one upload of it (see [Service.ServeUpload]).
func (ms *Service) CreateDirectUpload(ctx context.Context, req gen.CreateDirectUploadRequestObject) (gen.CreateDirectUploadResponseObject, error) {
	fail := func(ps ...server.Problem) gen.CreateDirectUploadResponseObject {
		return gen.CreateDirectUpload4XXJSONResponse{Body: server.Envelope(ps), StatusCode: ps[0].Status}
	}
	if p := server.Refuse(ctx, req.AccountID); p != nil {
		return fail(*p), nil
	}
	body := req.Body
	if body == nil { // the checker requires one; a server without it gets this
		return fail(server.Problem{Status: http.StatusBadRequest, Code: apicode.InvalidRequest, Message: "maxDurationSeconds: required"}), nil
	}
	now := ms.now()
	expiry := now.Add(DefaultUploadExpiry)
	var vs []token.Violation
	if body.AllowedOrigins != nil {
		vs = wire.CheckOrigins(*body.AllowedOrigins, "allowedOrigins")
	}
	if body.Meta != nil {
		vs = append(vs, wire.CheckMeta(body.Meta, "meta")...)
	}
	vs = append(vs, wire.CheckNoNUL(body)...)
	if body.MaxDurationSeconds < 1 || body.MaxDurationSeconds > wire.MaxDurationSeconds {
		vs = append(vs, token.FieldViolation(fmt.Sprintf("must be 1 to %d seconds", wire.MaxDurationSeconds), "maxDurationSeconds"))
	}
	if body.Expiry != nil {
		expiry = body.Expiry.UTC().Truncate(time.Microsecond)
		// A caller's "2 minutes from now" is a little less on arrival:
		// forgiven by wire.UploadExpiryRoom.
		if d := expiry.Sub(now); d < MinUploadExpiry-wire.UploadExpiryRoom || d > MaxUploadExpiry {
			vs = append(vs, token.FieldViolation(fmt.Sprintf("must be %v to %v from now", MinUploadExpiry, MaxUploadExpiry), "expiry"))
		}
	}
	if len(vs) > 0 {
		return fail(server.Violations(vs, 0)...), nil
	}
	if err := ms.reapExpiredUploads(ctx, req.AccountID, now); err != nil {
		return nil, err
	}
	capability, uid := newUploadCapability()
	v := gen.Video{UID: uid, RequireSignedURLs: deref(body.RequireSignedURLs), AllowedOrigins: gen.AllowedOrigins{},
		Meta: map[string]any{}, MaxDurationSeconds: new(body.MaxDurationSeconds), UploadExpiry: new(expiry),
		ThumbnailTimestampPct: body.ThumbnailTimestampPct, Status: &gen.VideoStatus{State: gen.VideoStatePendingupload},
		Created: now, Modified: now}
	if body.AllowedOrigins != nil {
		v.AllowedOrigins = slices.Clone(*body.AllowedOrigins)
	}
	if body.Meta != nil {
		v.Meta = body.Meta
	}
	switch {
	case body.Creator != nil:
		v.Creator = new(*body.Creator)
	case req.Params.UploadCreator != nil:
		v.Creator = new(*req.Params.UploadCreator)
	}
	if body.ScheduledDeletion != nil {
		v.ScheduledDeletion = new(body.ScheduledDeletion.UTC())
	}
	if body.Watermark != nil {
		v.Watermark = &gen.WatermarkAtUpload{UID: body.Watermark.UID}
	}
	_, p, err := editMedium(ctx, ms, store.Video, req.AccountID, uid, func() gen.Video { return v }, func(*gen.Video) {})
	switch {
	case p != nil:
		return fail(*p), nil
	case err != nil:
		return nil, err
	}
	url := gen.UploadVideoPath(req.AccountID, capability)
	if ms.UploadURL != nil {
		url = ms.UploadURL(ctx, req.AccountID, capability)
	} else if origin, ok := ctx.Value(originKey{}).(string); ok { // UploadOrigin's
		url = origin + url
	}
	return gen.CreateDirectUpload200JSONResponse{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{},
		Result: gen.DirectUpload{UID: uid, UploadURL: url, ScheduledDeletion: v.ScheduledDeletion}}, nil
}

// errUploaded and errExpired refuse an upload that its video no longer
// takes.
var (
	errUploaded = errors.New("uploaded")
	errExpired  = errors.New("expired")
	errNotOne   = errors.New("no direct upload")
)

// reapBatch is the most expired direct uploads one new direct upload
// reaps: each makes room for more than itself.
const reapBatch = 100

// reapExpiredUploads deletes the account's direct uploads whose URL
// expired unused (up to reapBatch, the oldest first), before it creates
// another: they take room under its caps and its quota, and can never
// take their upload.
func (ms *Service) reapExpiredUploads(ctx context.Context, accountID string, now time.Time) error {
	page, err := ms.Store.ListMedia(ctx, store.Video, accountID, store.MediaQuery{Asc: true, Limit: reapBatch,
		Filter: store.MediaFilter{State: string(gen.VideoStatePendingupload)}})
	if err != nil {
		return fmt.Errorf("listing the pending uploads of account %s: %w", accountID, err)
	}
	for _, m := range page.Media {
		if !errors.Is(uploadable(m.Details, true, now), errExpired) {
			continue
		}
		if err := ms.Store.DeleteMedia(ctx, store.Video, accountID, m.ID); err != nil && !errors.Is(err, store.ErrNoSuchMedium) {
			return fmt.Errorf("reaping the expired upload of video %s of account %s: %w", m.ID, accountID, err)
		}
	}
	return nil
}

// newUploadCapability makes a direct upload's capability, the upload
// URL's secret (128 random bits, 32 hex digits, in the path's identifier),
// and its video's ID, which is derived from it one way: whoever sees the
// video's ID (in a token's sub, an embed code) cannot make the URL, and
// the server keeps the capability only hashed, as that ID.
func newUploadCapability() (capability, videoID string) {
	var raw [16]byte
	_, _ = rand.Read(raw[:]) // never fails
	capability = hex.EncodeToString(raw[:])
	return capability, uploadVideoID(capability)
}

// uploadVideoID is the ID of the video a capability uploads: the first
// 128 bits of its SHA-256, in hex. An upload is found by this hash, never
// by comparing the capability itself, so that how long a look-up takes
// tells nothing of the capability.
func uploadVideoID(capability string) string {
	sum := sha256.Sum256([]byte("streamtoken direct upload\x00" + capability))
	return hex.EncodeToString(sum[:16])
}

// isCapability reports whether s has the form of an upload capability.
func isCapability(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// ServeUpload takes the one upload of a direct upload's video, at its
// upload URL ([gen.UploadVideoRoute], served at the server's root without
// credentials: the path's identifier is a random capability, from which
// the video's ID is derived, never the reverse). It reads and discards the
// body (at most [MaxUploadBytes]) and marks the video ready; the URL then
// takes no other upload (409), nor one after its expiry (410). A
// capability that no direct upload made is a 404.
func (ms *Service) ServeUpload(w http.ResponseWriter, r *http.Request) {
	accountID, capability := r.PathValue(gen.ParamAccountID), r.PathValue(gen.ParamIdentifier)
	if ps := server.CheckPath(server.PathID{Name: gen.ParamAccountID, ID: accountID}, server.PathID{Name: gen.ParamIdentifier, ID: capability}); ps != nil {
		server.WriteProblems(w, ps...)
		return
	}
	if !isCapability(capability) {
		writeUploadRefusal(w, errNotOne)
		return
	}
	id := uploadVideoID(capability)
	ctx := r.Context()
	// Refused before the body is read when it can be told already.
	if details, found, err := ms.Store.Media(ctx, store.Video, accountID, id); err == nil {
		if err := uploadable(details, found, ms.now()); err != nil {
			writeUploadRefusal(w, err)
			return
		}
	}
	n, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, MaxUploadBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			server.WriteProblems(w, server.Problem{Status: http.StatusRequestEntityTooLarge, Code: apicode.BodyTooLarge,
				Message: fmt.Sprintf("an upload is at most %d bytes", int64(MaxUploadBytes))})
			return
		}
		server.WriteProblems(w, server.Problem{Status: http.StatusBadRequest, Code: apicode.MalformedHTTP, Message: "the upload could not be read"})
		return
	}
	if n == 0 {
		server.WriteProblems(w, server.Problem{Status: http.StatusBadRequest, Code: apicode.InvalidRequest, Message: "the upload is empty"})
		return
	}
	now := ms.now()
	ready, err := ms.Store.EditMedia(ctx, store.Video, accountID, id, ms.max(), func(details []byte, found bool) ([]byte, error) {
		if err := uploadable(details, found, now); err != nil {
			return nil, err // the one-time check, in the same step as the change
		}
		var v gen.Video
		if err := json.Unmarshal(details, &v); err != nil {
			return nil, err
		}
		v.Status = &gen.VideoStatus{State: gen.VideoStateReady}
		v.ReadyToStream = new(true)
		v.Modified = now
		return json.Marshal(v)
	})
	if err == nil {
		ms.deliveries.notify(context.WithoutCancel(ctx), accountID, id, ready)
	}
	switch {
	case errors.Is(err, errUploaded), errors.Is(err, errExpired), errors.Is(err, errNotOne):
		writeUploadRefusal(w, err)
	case err != nil:
		server.InternalError(ms.log())(w, r, fmt.Errorf("taking an upload of video %s of account %s: %w", id, accountID, err))
	default:
		server.WriteJSON(w, http.StatusOK, uploaded{Success: true, Errors: []gen.Message{}, Messages: []gen.Message{}})
	}
}

// uploaded is the answer to an upload taken: the spec's UploadResponse
// (of a root route, which gen leaves out).
type uploaded struct {
	Success  bool          `json:"success"`
	Errors   []gen.Message `json:"errors"`
	Messages []gen.Message `json:"messages"`
}

// uploadable says why a video takes no upload now, if it does not: no
// direct upload created it, it was uploaded, or its URL expired.
func uploadable(details []byte, found bool, now time.Time) error {
	if !found {
		return errNotOne
	}
	var v struct {
		Status *struct {
			State string `json:"state"`
		} `json:"status"`
		UploadExpiry *time.Time `json:"uploadExpiry"`
	}
	if json.Unmarshal(details, &v) != nil || v.Status == nil {
		return errNotOne
	}
	switch {
	case v.Status.State != string(gen.VideoStatePendingupload):
		return errUploaded
	case v.UploadExpiry != nil && now.After(*v.UploadExpiry):
		return errExpired
	}
	return nil
}

// writeUploadRefusal answers an upload its URL does not take; it repeats
// nothing of the URL.
func writeUploadRefusal(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errUploaded):
		server.WriteProblems(w, server.Problem{Status: http.StatusConflict, Code: apicode.InvalidRequest, Message: "this upload URL was used: it takes one upload"})
	case errors.Is(err, errExpired):
		server.WriteProblems(w, server.Problem{Status: http.StatusGone, Code: apicode.InvalidRequest, Message: "this upload URL expired"})
	default:
		server.WriteProblems(w, server.Problem{Status: http.StatusNotFound, Code: apicode.NoSuchMedia, Message: "no direct upload has this upload URL"})
	}
}

// originKey keys the origin of a direct-upload request in its context.
type originKey struct{}

// UploadOrigin is the strict middleware (gen.StrictMiddlewareFunc) that
// keeps a direct-upload request's origin ("http://host:port", from its
// Host header, checked) in its context, where [Service] makes its
// upload URL from when its UploadURL is nil; the other operations pass
// through. A server of one's own behind a proxy that terminates TLS sets
// Service.UploadURL from its public URL ([UploadURLs]) instead.
func UploadOrigin(f gen.StrictHandlerFunc, operation string) gen.StrictHandlerFunc {
	if operation != gen.CreateDirectUploadRoute.Operation {
		return f
	}
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, request any) (any, error) {
		if host := r.Host; validHost(host) {
			scheme := "http://"
			if r.TLS != nil {
				scheme = "https://"
			}
			ctx = context.WithValue(ctx, originKey{}, scheme+host)
		}
		return f(ctx, w, r, request)
	}
}

// validHost reports whether a Host header is a host name (RFC 1123
// labels) or an IP address (IPv6 in brackets), with an optional port, and
// nothing else: it goes into URLs the server hands out.
func validHost(hostport string) bool {
	if hostport == "" || len(hostport) > 261 {
		return false
	}
	host, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		host, port = hostport[:i], hostport[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] < '1' || port[0] > '9' {
			return false
		}
	}
	if v6, ok := strings.CutPrefix(host, "["); ok {
		v6, ok = strings.CutSuffix(v6, "]")
		a, err := netip.ParseAddr(v6)
		return ok && err == nil && a.Is6() && a.Zone() == ""
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Is4()
	}
	if len(host) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// UploadURLs makes upload URLs beginning with publicURL (an http or https
// URL with a host, see [CheckPublicURL]), for Service.UploadURL; with
// publicURL empty, from each request's origin (see [UploadOrigin]).
func UploadURLs(publicURL string) (func(ctx context.Context, accountID, capability string) string, error) {
	if publicURL == "" {
		return func(ctx context.Context, accountID, capability string) string {
			origin, _ := ctx.Value(originKey{}).(string)
			return origin + gen.UploadVideoPath(accountID, capability)
		}, nil
	}
	if err := CheckPublicURL(publicURL); err != nil {
		return nil, fmt.Errorf("public URL: %w", err)
	}
	base := strings.TrimRight(publicURL, "/")
	return func(_ context.Context, accountID, capability string) string {
		return base + gen.UploadVideoPath(accountID, capability)
	}, nil
}

// CheckPublicURL refuses a public URL (of [UploadURLs]) that is no http
// or https URL with a host, or that has a user, a query or a fragment. The
// URL is not repeated.
func CheckPublicURL(publicURL string) error {
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !validHost(u.Host) || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
		return errors.New("want an http or https URL with a host, and no user, query or fragment (https://stream.example.com)")
	}
	return nil
}
