package compat

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/stream"

	"github.com/streamtoken/streamtoken/streamtokentest"
)

const liveInput = "66be4bf738797e01e1fca35a7bdecdcd"

// TestSDKSecuresAVideo: Stream.Edit switches requireSignedURLs on with an
// allowed origin, and Stream.Get reads them back.
func TestSDKSecuresAVideo(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	sdk := newSDK(srv)
	ctx := context.Background()
	edited, err := sdk.Stream.Edit(ctx, video, stream.StreamEditParams{
		AccountID:         cloudflare.F(account),
		RequireSignedURLs: cloudflare.F(true),
		AllowedOrigins:    cloudflare.F([]stream.AllowedOriginsParam{"example.com", "*.example.net"}),
	})
	if err != nil {
		t.Fatalf("Stream.Edit() error = %v", err)
	}
	got, err := sdk.Stream.Get(ctx, video, stream.StreamGetParams{AccountID: cloudflare.F(account)})
	if err != nil {
		t.Fatalf("Stream.Get() error = %v", err)
	}
	for _, v := range []*stream.Video{edited, got} {
		if v.UID != video || !v.RequireSignedURLs || !slices.Equal(v.AllowedOrigins, []string{"example.com", "*.example.net"}) {
			t.Errorf("video = uid %q, requireSignedURLs %v, allowedOrigins %v; want %s, true, [example.com *.example.net]", v.UID, v.RequireSignedURLs, v.AllowedOrigins, video)
		}
	}

	// The trap of cloudflare-go#1201: a misspelt field is refused, not
	// ignored.
	_, err = sdk.Stream.Edit(ctx, video, stream.StreamEditParams{AccountID: cloudflare.F(account)},
		option.WithJSONSet("requiredSignedURLs", false))
	var apiErr *cloudflare.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("Stream.Edit(requiredSignedURLs) error = %v, want a *cloudflare.Error 400", err)
	}
	if got, _ := sdk.Stream.Get(ctx, video, stream.StreamGetParams{AccountID: cloudflare.F(account)}); got == nil || !got.RequireSignedURLs {
		t.Error("the refused edit changed the video")
	}
}

// TestSDKSecuresALiveInput: LiveInputs.Update reads, then writes back the
// recording with requireSignedURLs on; the mode and timeout stay.
func TestSDKSecuresALiveInput(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	sdk := newSDK(srv)
	ctx := context.Background()
	if _, err := sdk.Stream.LiveInputs.Update(ctx, liveInput, stream.LiveInputUpdateParams{
		AccountID: cloudflare.F(account),
		Recording: cloudflare.F(stream.LiveInputUpdateParamsRecording{
			Mode:           cloudflare.F(stream.LiveInputUpdateParamsRecordingModeAutomatic),
			TimeoutSeconds: cloudflare.F(int64(30)),
		}),
	}); err != nil {
		t.Fatalf("LiveInputs.Update() error = %v", err)
	}
	current, err := sdk.Stream.LiveInputs.Get(ctx, liveInput, stream.LiveInputGetParams{AccountID: cloudflare.F(account)})
	if err != nil {
		t.Fatalf("LiveInputs.Get() error = %v", err)
	}
	rec := current.Recording
	if _, err := sdk.Stream.LiveInputs.Update(ctx, liveInput, stream.LiveInputUpdateParams{
		AccountID: cloudflare.F(account),
		Recording: cloudflare.F(stream.LiveInputUpdateParamsRecording{
			Mode:                cloudflare.F(stream.LiveInputUpdateParamsRecordingMode(rec.Mode)),
			TimeoutSeconds:      cloudflare.F(rec.TimeoutSeconds),
			HideLiveViewerCount: cloudflare.F(rec.HideLiveViewerCount),
			AllowedOrigins:      cloudflare.F([]string{"example.com"}),
			RequireSignedURLs:   cloudflare.F(true),
		}),
	}); err != nil {
		t.Fatalf("LiveInputs.Update() error = %v", err)
	}
	got, err := sdk.Stream.LiveInputs.Get(ctx, liveInput, stream.LiveInputGetParams{AccountID: cloudflare.F(account)})
	if err != nil {
		t.Fatalf("LiveInputs.Get() error = %v", err)
	}
	r := got.Recording
	if got.UID != liveInput || !r.RequireSignedURLs || r.Mode != stream.LiveInputRecordingModeAutomatic || r.TimeoutSeconds != 30 || !slices.Equal(r.AllowedOrigins, []string{"example.com"}) {
		t.Errorf("live input = uid %q, recording %+v; want requireSignedURLs, automatic, 30 s, [example.com]", got.UID, r)
	}
}
