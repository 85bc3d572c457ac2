package streamtoken

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/token"
)

// MaxAllowedOrigins is the most entries an allowedOrigins list may hold.
const MaxAllowedOrigins = wire.MaxAllowedOrigins

// Video is what a signed URL depends on of a video: whether it plays only
// with a signed token, and the sites that may embed it.
type Video struct {
	// ID is the video's uid.
	ID string
	// RequireSignedURLs: the video plays only with a signed token. While it
	// is off, the video's plain ID plays anywhere, token or not.
	RequireSignedURLs bool
	// AllowedOrigins are the origins (host names, "*." for subdomains,
	// ":port") that may show the video; empty means every origin.
	AllowedOrigins []string
	// Name is the video's meta.name, and Creator its creator, when it
	// has them: what a person knows it by.
	Name, Creator string
	// State is its processing state ("pendingupload", "ready", ...), as
	// the API says; empty when it does not.
	State string
	// Created and Modified are as the API dates them; zero for a medium
	// the API knows of no change to (a token server's medium never
	// changed, which it dates at the Unix epoch).
	Created, Modified time.Time
}

// LiveInput is what a signed URL depends on of a live input: the security
// settings of its recordings, and the recording settings they sit among.
type LiveInput struct {
	// ID is the live input's uid.
	ID string
	// RequireSignedURLs and AllowedOrigins are as for a [Video], for the
	// input's broadcasts and recordings.
	RequireSignedURLs bool
	AllowedOrigins    []string
	// Mode is the recording mode: "off" or "automatic".
	Mode string
	// TimeoutSeconds is how long "automatic" waits before a recording goes
	// on demand; 0 is the platform's default.
	TimeoutSeconds int
	// Name is the live input's meta.name, when it has one.
	Name string
	// Created and Modified are as for a [Video].
	Created, Modified time.Time
}

// Security is a change of security settings: a nil field is left as it
// is: Security{RequireSignedURLs: new(true), AllowedOrigins:
// Origins("example.com")}; Origins() with no origin allows every origin
// again.
type Security struct {
	RequireSignedURLs *bool
	AllowedOrigins    *[]string
}

// Origins returns a pointer to the list of origins, for [Security]; with
// none, a pointer to an empty list (every origin allowed).
func Origins(origins ...string) *[]string {
	out := append([]string{}, origins...)
	return &out
}

// check checks s before it is sent: its origins by the API's rules, at
// most MaxAllowedOrigins of them.
func (s Security) check(pointer ...any) []token.Violation {
	if s.AllowedOrigins == nil {
		return nil
	}
	return wire.CheckOrigins(*s.AllowedOrigins, append(pointer, "allowedOrigins")...)
}

// Video reads a video's security settings.
func (c *Client) Video(ctx context.Context, accountID, videoID string) (*Video, error) {
	if err := checkVideoIDs(accountID, videoID); err != nil {
		return nil, err
	}
	var v *Video
	err := c.exchange(ctx,
		func(ctx context.Context) (*http.Response, error) { return c.gen.GetVideo(ctx, accountID, videoID) },
		func(raw []byte) bool { v = decodeVideo(raw); return v != nil })
	return v, err
}

// SecureVideo changes a video's security settings as s says and leaves
// its other details as they are. The origins are checked before anything
// is sent: a *token.ValidationError lists what is wrong.
func (c *Client) SecureVideo(ctx context.Context, accountID, videoID string, s Security) (*Video, error) {
	if err := checkVideoIDs(accountID, videoID); err != nil {
		return nil, err
	}
	if vs := s.check(); len(vs) > 0 {
		return nil, fmt.Errorf("streamtoken: %w", &token.ValidationError{Violations: vs})
	}
	body := gen.VideoEdit{RequireSignedURLs: s.RequireSignedURLs}
	if s.AllowedOrigins != nil {
		origins := gen.AllowedOrigins(slices.Clone(*s.AllowedOrigins))
		body.AllowedOrigins = &origins
	}
	var v *Video
	err := c.exchange(ctx,
		func(ctx context.Context) (*http.Response, error) {
			return c.gen.EditVideo(ctx, accountID, videoID, body)
		},
		func(raw []byte) bool { v = decodeVideo(raw); return v != nil })
	return v, err
}

// DeleteVideo deletes a video and its copies (on the token server: what
// it keeps of the video, a pending direct upload among them). An unknown
// video is an *APIError matching ErrNotFound. Like a key's delete, it is
// retried only when it cannot have been processed, so that a retry never
// reports as missing the video its first try deleted.
func (c *Client) DeleteVideo(ctx context.Context, accountID, videoID string) error {
	if err := checkVideoIDs(accountID, videoID); err != nil {
		return err
	}
	return c.exchange(withoutReplay(ctx),
		func(ctx context.Context) (*http.Response, error) {
			return c.gen.DeleteVideoWithBody(ctx, accountID, videoID, "application/json", http.NoBody)
		},
		func(raw []byte) bool {
			var env gen.DeletedResponse
			return json.Unmarshal(raw, &env) == nil && bool(env.Success)
		})
}

// checkVideoIDs checks the IDs of a video's path, and that the video's
// path is no other operation's (a video whose ID is "keys" cannot be read
// or edited through the API).
func checkVideoIDs(accountID, videoID string) error {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}, pathID{gen.ParamIdentifier, videoID}); err != nil {
		return err
	}
	if why := wire.VideoPathClash(videoID); why != "" {
		return fmt.Errorf("streamtoken: %w", &token.ValidationError{Violations: []token.Violation{{Field: gen.ParamIdentifier, Problem: why}}})
	}
	return nil
}

// LiveInput reads a live input's security settings.
func (c *Client) LiveInput(ctx context.Context, accountID, inputID string) (*LiveInput, error) {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}, pathID{gen.ParamLiveInputIdentifier, inputID}); err != nil {
		return nil, err
	}
	li, _, err := c.liveInput(ctx, accountID, inputID)
	return li, err
}

// SecureLiveInput changes a live input's security settings as s says. The
// API replaces a live input's recording settings whole, so it reads them
// first and sends them back with s applied: the mode, the timeout and the
// rest stay as they were (an update between the read and the write is
// overwritten). The origins are checked before anything is sent.
func (c *Client) SecureLiveInput(ctx context.Context, accountID, inputID string, s Security) (*LiveInput, error) {
	if err := checkIDs(pathID{gen.ParamAccountID, accountID}, pathID{gen.ParamLiveInputIdentifier, inputID}); err != nil {
		return nil, err
	}
	if vs := s.check("recording"); len(vs) > 0 {
		return nil, fmt.Errorf("streamtoken: %w", &token.ValidationError{Violations: vs})
	}
	_, recording, err := c.liveInput(ctx, accountID, inputID)
	if err != nil {
		return nil, err
	}
	if s.RequireSignedURLs != nil {
		recording.RequireSignedURLs = s.RequireSignedURLs
	}
	if s.AllowedOrigins != nil {
		origins := gen.AllowedOrigins(slices.Clone(*s.AllowedOrigins))
		recording.AllowedOrigins = &origins
	}
	var li *LiveInput
	err = c.exchange(ctx,
		func(ctx context.Context) (*http.Response, error) {
			return c.gen.UpdateLiveInput(ctx, accountID, inputID, gen.LiveInputUpdate{Recording: &recording})
		},
		func(raw []byte) bool { li, _ = decodeLiveInput(raw); return li != nil })
	return li, err
}

// liveInput reads a live input, and its recording settings as the API
// sent them (every field the API knows kept, for writing them back).
func (c *Client) liveInput(ctx context.Context, accountID, inputID string) (*LiveInput, gen.LiveInputRecording, error) {
	var li *LiveInput
	var recording gen.LiveInputRecording
	err := c.exchange(ctx,
		func(ctx context.Context) (*http.Response, error) { return c.gen.GetLiveInput(ctx, accountID, inputID) },
		func(raw []byte) bool { li, recording = decodeLiveInput(raw); return li != nil })
	return li, recording, err
}

// decodeVideo reads a video envelope, or returns nil.
func decodeVideo(raw []byte) *Video {
	var env gen.VideoResponse
	if json.Unmarshal(raw, &env) != nil || !bool(env.Success) || env.Result.UID == "" {
		return nil
	}
	return videoOf(env.Result)
}

// videoOf is the client's view of the API's video.
func videoOf(r gen.Video) *Video {
	v := &Video{ID: r.UID, RequireSignedURLs: r.RequireSignedURLs, AllowedOrigins: nonNil(r.AllowedOrigins),
		Name: metaName(r.Meta), Created: dated(r.Created), Modified: dated(r.Modified)}
	if r.Creator != nil {
		v.Creator = *r.Creator
	}
	if r.Status != nil {
		v.State = string(r.Status.State)
	}
	return v
}

// dated is t, or the zero time for the Unix epoch: the date a token
// server gives a medium it knows of no change to.
func dated(t time.Time) time.Time {
	if t.Equal(time.Unix(0, 0)) {
		return time.Time{}
	}
	return t
}

// metaName is meta.name, when it is a string.
func metaName(meta map[string]any) string {
	name, _ := meta["name"].(string)
	return name
}

// decodeLiveInput reads a live input envelope, or returns nil.
func decodeLiveInput(raw []byte) (*LiveInput, gen.LiveInputRecording) {
	var env gen.LiveInputResponse
	if json.Unmarshal(raw, &env) != nil || !bool(env.Success) || env.Result.UID == "" {
		return nil, gen.LiveInputRecording{}
	}
	r := env.Result
	li := &LiveInput{ID: r.UID, Mode: string(gen.LiveInputRecordingModeOff), AllowedOrigins: []string{}, Name: metaName(r.Meta),
		Created: dated(r.Created), Modified: dated(r.Modified)}
	rec := r.Recording
	if rec.RequireSignedURLs != nil {
		li.RequireSignedURLs = *rec.RequireSignedURLs
	}
	if rec.AllowedOrigins != nil {
		li.AllowedOrigins = nonNil(*rec.AllowedOrigins)
	}
	if rec.Mode != nil {
		li.Mode = string(*rec.Mode)
	}
	if rec.TimeoutSeconds != nil {
		li.TimeoutSeconds = *rec.TimeoutSeconds
	}
	return li, rec
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
