package streamtoken_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

func TestSecureVideo(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	v, err := c.Video(ctx, testAccount, testVideo)
	if err != nil || v.ID != testVideo || v.RequireSignedURLs || len(v.AllowedOrigins) != 0 {
		t.Fatalf("Video() = %+v, %v; want the defaults", v, err)
	}
	v, err = c.SecureVideo(ctx, testAccount, testVideo, streamtoken.Security{RequireSignedURLs: new(true), AllowedOrigins: streamtoken.Origins("example.com", "*.example.net")})
	if err != nil || !v.RequireSignedURLs || !slices.Equal(v.AllowedOrigins, []string{"example.com", "*.example.net"}) {
		t.Fatalf("SecureVideo() = %+v, %v", v, err)
	}
	// A nil field is left as it is; false is sent; Origins() clears.
	v, err = c.SecureVideo(ctx, testAccount, testVideo, streamtoken.Security{AllowedOrigins: streamtoken.Origins()})
	if err != nil || !v.RequireSignedURLs || len(v.AllowedOrigins) != 0 {
		t.Errorf("SecureVideo(origins cleared) = %+v, %v; want requireSignedURLs kept on, no origins", v, err)
	}
	v, err = c.SecureVideo(ctx, testAccount, testVideo, streamtoken.Security{RequireSignedURLs: new(false)})
	if err != nil || v.RequireSignedURLs {
		t.Errorf("SecureVideo(false) = %+v, %v; want it off", v, err)
	}
	if got, err := c.Video(ctx, testAccount, testVideo); err != nil || got.RequireSignedURLs {
		t.Errorf("Video() after = %+v, %v", got, err)
	}
}

func TestSecureLiveInputKeepsTheRecordingSettings(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	mode, timeout := gen.LiveInputRecordingModeAutomatic, 30
	resp, err := c.Generated().UpdateLiveInput(ctx, testAccount, "input-1", gen.LiveInputUpdate{Recording: &gen.LiveInputRecording{Mode: &mode, TimeoutSeconds: &timeout}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("setting the mode: %v, %v", resp, err)
	}
	resp.Body.Close()
	li, err := c.SecureLiveInput(ctx, testAccount, "input-1", streamtoken.Security{RequireSignedURLs: new(true), AllowedOrigins: streamtoken.Origins("example.com")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.LiveInput(ctx, testAccount, "input-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*streamtoken.LiveInput{li, got} {
		if !x.RequireSignedURLs || x.Mode != "automatic" || x.TimeoutSeconds != 30 || !slices.Equal(x.AllowedOrigins, []string{"example.com"}) {
			t.Errorf("live input = %+v; want signed URLs required, mode automatic and 30 s kept, [example.com]", x)
		}
	}
}

func TestSecurityIsCheckedBeforeSending(t *testing.T) {
	s := newAPIServer(t)
	c := newClient(t, s)
	ctx := context.Background()
	for _, call := range []func() error{
		func() error {
			_, err := c.SecureVideo(ctx, testAccount, testVideo, streamtoken.Security{AllowedOrigins: streamtoken.Origins("https://example.com")})
			return err
		},
		func() error {
			_, err := c.SecureLiveInput(ctx, testAccount, "input-1", streamtoken.Security{AllowedOrigins: streamtoken.Origins("example.com/path")})
			return err
		},
		func() error { _, err := c.Video(ctx, testAccount, "a/b"); return err },
		func() error { _, err := c.LiveInput(ctx, "..", "input-1"); return err },
	} {
		var verr *token.ValidationError
		if err := call(); !errors.As(err, &verr) {
			t.Errorf("error = %v, want a *token.ValidationError", err)
		}
	}
	if n := len(s.Hits()); n != 0 {
		t.Errorf("the server received %d requests, want none", n)
	}
}

func TestSecureVideoAgainstAFakeWithItsIDs(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithVideos(testVideo))
	defer srv.Close()
	_, err := srv.NewClient().SecureVideo(context.Background(), testAccount, "unknown", streamtoken.Security{RequireSignedURLs: new(true)})
	var apiErr *streamtoken.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !errors.Is(err, streamtoken.ErrNotFound) {
		t.Errorf("SecureVideo(unknown video) error = %v, want a 404 *APIError", err)
	}
}

// A video whose ID makes its path another operation's is refused before
// anything is sent, naming the ambiguity.
func TestVideoPathClashIsRefused(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	_, err := c.Video(context.Background(), testAccount, "keys")
	var ve *token.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "another operation") {
		t.Errorf("Video(keys) = %v, want a ValidationError naming the ambiguity", err)
	}
	if _, err := c.SecureVideo(context.Background(), testAccount, "direct_upload", streamtoken.Security{RequireSignedURLs: new(true)}); !errors.As(err, &ve) {
		t.Errorf("SecureVideo(direct_upload) = %v, want a ValidationError", err)
	}
	// Its tokens are not affected.
	if _, err := c.CreateToken(context.Background(), testAccount, "keys", streamtoken.TokenRequest{}); err != nil {
		t.Errorf("CreateToken(keys) = %v", err)
	}
}

// A medium never changed has no dates, not the Unix epoch; one changed
// for the first time is created then.
func TestNeverChangedHasNoDates(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	v, err := c.Video(ctx, testAccount, testVideo)
	if err != nil || !v.Created.IsZero() || !v.Modified.IsZero() {
		t.Fatalf("Video(never changed) = %+v, %v; want zero dates", v, err)
	}
	li, err := c.LiveInput(ctx, testAccount, "in-1")
	if err != nil || !li.Modified.IsZero() {
		t.Fatalf("LiveInput(never changed) = %+v, %v; want zero dates", li, err)
	}
	v, err = c.SecureVideo(ctx, testAccount, testVideo, streamtoken.Security{RequireSignedURLs: new(true)})
	if err != nil || v.Created.IsZero() || time.Since(v.Created) > time.Minute || !v.Modified.Equal(v.Created) {
		t.Errorf("SecureVideo(first change) = created %v modified %v, %v; want both now", v.Created, v.Modified, err)
	}
}
