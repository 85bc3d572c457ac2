package compat

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/stream"

	"github.com/streamtoken/streamtoken/streamtokentest"
)

// TestSDKCreatesASecuredUpload: DirectUpload.New with RequireSignedURLs
// creates a video that Stream.Get shows secured, before any upload; its
// upload URL takes one upload.
func TestSDKCreatesASecuredUpload(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	sdk := newSDK(srv)
	ctx := context.Background()
	up, err := sdk.Stream.DirectUpload.New(ctx, stream.DirectUploadNewParams{
		AccountID:             cloudflare.F(account),
		MaxDurationSeconds:    cloudflare.F(int64(3600)),
		RequireSignedURLs:     cloudflare.F(true),
		AllowedOrigins:        cloudflare.F([]stream.AllowedOriginsParam{"example.com"}),
		Creator:               cloudflare.F("creator-id_abcde12345"),
		Expiry:                cloudflare.F(time.Now().Add(time.Hour)),
		Meta:                  cloudflare.F[any](map[string]any{"name": "puppy.mp4"}),
		ScheduledDeletion:     cloudflare.F(time.Now().Add(40 * 24 * time.Hour)),
		ThumbnailTimestampPct: cloudflare.F(0.5),
		Watermark:             cloudflare.F(stream.DirectUploadNewParamsWatermark{UID: cloudflare.F("ea95132c15732412d22c1476fa83f27a")}),
		UploadCreator:         cloudflare.F("header-creator"),
	})
	if err != nil {
		t.Fatalf("DirectUpload.New() error = %v", err)
	}
	if len(up.UID) != 32 || !strings.Contains(up.UploadURL, "/upload/"+account+"/") || strings.Contains(up.UploadURL, up.UID) {
		t.Fatalf("DirectUpload.New() = uid %q, uploadURL %q", up.UID, up.UploadURL)
	}
	v, err := sdk.Stream.Get(ctx, up.UID, stream.StreamGetParams{AccountID: cloudflare.F(account)})
	if err != nil {
		t.Fatalf("Stream.Get() error = %v", err)
	}
	if !v.RequireSignedURLs || len(v.AllowedOrigins) != 1 || v.AllowedOrigins[0] != "example.com" || v.Creator != "creator-id_abcde12345" ||
		v.Status.State != stream.VideoStatusStatePendingupload || v.MaxDurationSeconds != 3600 {
		t.Errorf("the created video = requireSignedURLs %v, allowedOrigins %v, creator %q, state %q, maxDurationSeconds %d",
			v.RequireSignedURLs, v.AllowedOrigins, v.Creator, v.Status.State, v.MaxDurationSeconds)
	}
	// The upload URL takes one upload, without credentials.
	for i, want := range []int{http.StatusOK, http.StatusConflict} {
		resp, err := srv.Client().Post(up.UploadURL, "multipart/form-data; boundary=b", strings.NewReader("--b\r\n\r\nbytes\r\n--b--\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("upload %d = %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	// The trap of cloudflare-go#1201, at creation.
	_, err = sdk.Stream.DirectUpload.New(ctx, stream.DirectUploadNewParams{AccountID: cloudflare.F(account), MaxDurationSeconds: cloudflare.F(int64(60))},
		option.WithJSONSet("requiredSignedURLs", true))
	var apiErr *cloudflare.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Errorf("DirectUpload.New(requiredSignedURLs) error = %v, want a *cloudflare.Error 400", err)
	}
	// Stream.Delete (a DELETE with no body) forgets the video; a second
	// is a 404.
	if err := sdk.Stream.Delete(ctx, up.UID, stream.StreamDeleteParams{AccountID: cloudflare.F(account)}); err != nil {
		t.Errorf("Stream.Delete() error = %v", err)
	}
	if err := sdk.Stream.Delete(ctx, up.UID, stream.StreamDeleteParams{AccountID: cloudflare.F(account)}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("Stream.Delete() again error = %v, want a *cloudflare.Error 404", err)
	}
}

// TestSDKListsVideos: Stream.List sees the videos and their settings, with
// the SDK's filters.
func TestSDKListsVideos(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithVideos(video))
	defer srv.Close()
	sdk := newSDK(srv)
	ctx := context.Background()
	up, err := sdk.Stream.DirectUpload.New(ctx, stream.DirectUploadNewParams{AccountID: cloudflare.F(account),
		MaxDurationSeconds: cloudflare.F(int64(60)), RequireSignedURLs: cloudflare.F(true), Creator: cloudflare.F("team-a"),
		Meta: cloudflare.F[any](map[string]any{"name": "launch.mp4"})})
	if err != nil {
		t.Fatal(err)
	}
	page, err := sdk.Stream.List(ctx, stream.StreamListParams{AccountID: cloudflare.F(account)})
	if err != nil {
		t.Fatalf("Stream.List() error = %v", err)
	}
	got := map[string]bool{}
	for _, v := range page.Result {
		got[v.UID] = v.RequireSignedURLs
	}
	if len(got) != 2 || !got[up.UID] || got[video] {
		t.Errorf("Stream.List() = %v, want %s secured and %s not", got, up.UID, video)
	}
	for _, c := range []struct {
		name   string
		params stream.StreamListParams
		want   []string
	}{
		{"creator", stream.StreamListParams{Creator: cloudflare.F("team-a")}, []string{up.UID}},
		{"status", stream.StreamListParams{Status: cloudflare.F(stream.StreamListParamsStatusPendingupload)}, []string{up.UID}},
		{"video_name", stream.StreamListParams{VideoName: cloudflare.F("launch.mp4")}, []string{up.UID}},
		{"search", stream.StreamListParams{Search: cloudflare.F("LAUNCH")}, []string{up.UID}},
		{"id", stream.StreamListParams{ID: cloudflare.F(video)}, []string{video}},
		{"name", stream.StreamListParams{Name: cloudflare.F(video + ",launch.mp4")}, []string{up.UID, video}},
		{"limit", stream.StreamListParams{Limit: cloudflare.F(int64(1)), Asc: cloudflare.F(true)}, []string{video}},
		{"after", stream.StreamListParams{After: cloudflare.F(time.Now().Add(time.Hour))}, nil},
		{"before and type", stream.StreamListParams{Before: cloudflare.F(time.Now().Add(time.Hour)), Type: cloudflare.F("vod"), IncludeCounts: cloudflare.F(true)}, []string{up.UID, video}},
	} {
		c.params.AccountID = cloudflare.F(account)
		page, err := sdk.Stream.List(ctx, c.params)
		if err != nil {
			t.Errorf("Stream.List(%s) error = %v", c.name, err)
			continue
		}
		var ids []string
		for _, v := range page.Result {
			ids = append(ids, v.UID)
		}
		if strings.Join(ids, " ") != strings.Join(c.want, " ") {
			t.Errorf("Stream.List(%s) = %v, want %v", c.name, ids, c.want)
		}
	}
}

// TestSDKListsLiveInputs: LiveInputs.List lists the inputs, counted.
func TestSDKListsLiveInputs(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithLiveInputs(liveInput, "66be4bf738797e01e1fca35a7bdecdce"))
	defer srv.Close()
	sdk := newSDK(srv)
	list, err := sdk.Stream.LiveInputs.List(context.Background(), stream.LiveInputListParams{AccountID: cloudflare.F(account), IncludeCounts: cloudflare.F(true)})
	if err != nil {
		t.Fatalf("LiveInputs.List() error = %v", err)
	}
	if len(list.LiveInputs) != 2 || list.Total != 2 || list.Range != 0 || list.LiveInputs[0].UID == "" {
		t.Errorf("LiveInputs.List() = %d inputs, total %d, range %d", len(list.LiveInputs), list.Total, list.Range)
	}
}
