package streamtoken_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

// ticking is a clock that moves on a millisecond each time it is read.
func ticking() func() time.Time {
	var mu sync.Mutex
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
}

func TestDirectUploadIsSecureFromCreation(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	up, err := c.CreateDirectUpload(ctx, testAccount, streamtoken.DirectUpload{MaxDuration: time.Hour, RequireSignedURLs: true,
		AllowedOrigins: []string{"example.com"}, Name: "launch.mp4", Creator: "team-a"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(up.URL, "http://127.0.0.1:") || !strings.Contains(up.URL, "/upload/"+testAccount+"/") || strings.Contains(up.URL, up.VideoID) {
		t.Errorf("upload URL = %s", up.URL)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("made", "upload", *up, "pointer", up)
	asJSON, _ := json.Marshal(up)
	for _, s := range []string{fmt.Sprint(up), fmt.Sprint(*up), fmt.Sprintf("%+v", *up), fmt.Sprintf("%#v", *up), fmt.Sprintf("%#v", up), logged.String(), string(asJSON)} {
		if strings.Contains(s, up.URL) || strings.Contains(s, "/upload/") || !strings.Contains(s, up.VideoID) {
			t.Errorf("an Upload shows its URL, or not its video: %s", s)
		}
	}
	v, err := c.Video(ctx, testAccount, up.VideoID)
	if err != nil || !v.RequireSignedURLs || fmt.Sprint(v.AllowedOrigins) != "[example.com]" || v.Name != "launch.mp4" || v.Creator != "team-a" || v.State != "pendingupload" {
		t.Fatalf("the created video = %+v, %v", v, err)
	}
	var ve *token.ValidationError
	for _, bad := range []streamtoken.DirectUpload{
		{}, {MaxDuration: 7 * time.Hour}, {MaxDuration: 1500 * time.Millisecond},
		{MaxDuration: time.Hour, AllowedOrigins: []string{"https://x/"}}, {MaxDuration: time.Hour, Creator: strings.Repeat("c", 65)},
	} {
		if _, err := c.CreateDirectUpload(ctx, testAccount, bad); !errors.As(err, &ve) {
			t.Errorf("CreateDirectUpload(%+v) = %v, want a ValidationError", bad, err)
		}
	}
}

func TestListVideosPagesThroughAll(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithClock(ticking()))
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	var made []string
	for i := range 7 {
		up, err := c.CreateDirectUpload(ctx, testAccount, streamtoken.DirectUpload{MaxDuration: time.Minute, RequireSignedURLs: i%2 == 0, Creator: fmt.Sprint("c-", i%3)})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, up.VideoID)
	}
	list := func(f streamtoken.VideoFilter) []string {
		t.Helper()
		var got []string
		for v, err := range c.ListVideos(ctx, testAccount, f) {
			if err != nil {
				t.Fatalf("ListVideos(%+v): %v", f, err)
			}
			got = append(got, v.ID)
		}
		return got
	}
	reversed := func(ids []string) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[len(ids)-1-i] = id
		}
		return out
	}
	for _, size := range []int{0, 1, 2, 3, 7} {
		if got := list(streamtoken.VideoFilter{PageSize: size}); fmt.Sprint(got) != fmt.Sprint(reversed(made)) {
			t.Errorf("ListVideos(page size %d) = %v, want %v", size, got, reversed(made))
		}
		if got := list(streamtoken.VideoFilter{PageSize: size, Asc: true}); fmt.Sprint(got) != fmt.Sprint(made) {
			t.Errorf("ListVideos(page size %d, oldest first) = %v, want %v", size, got, made)
		}
	}
	if got := list(streamtoken.VideoFilter{Creator: "c-1", PageSize: 1}); fmt.Sprint(got) != fmt.Sprint([]string{made[4], made[1]}) {
		t.Errorf("ListVideos(creator c-1) = %v", got)
	}
	// Breaking the loop stops the listing.
	for range c.ListVideos(ctx, testAccount, streamtoken.VideoFilter{PageSize: 1}) {
		break
	}
	// A bad filter is refused before anything is sent.
	for _, f := range []streamtoken.VideoFilter{{State: "done"}, {Type: "vid"}, {PageSize: 1001}, {IDs: []string{"../x"}},
		{Start: time.Now(), End: time.Now().Add(-time.Hour)}} {
		for _, err := range c.ListVideos(ctx, testAccount, f) {
			var ve *token.ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("ListVideos(%+v) = %v, want a ValidationError", f, err)
			}
		}
	}
}

func TestListVideosPagesThroughOneInstant(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	srv := streamtokentest.NewServer(streamtokentest.WithClock(func() time.Time { return at }))
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	for range 3 {
		if _, err := c.CreateDirectUpload(ctx, testAccount, streamtoken.DirectUpload{MaxDuration: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, err := range c.ListVideos(ctx, testAccount, streamtoken.VideoFilter{PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("three videos of one instant in pages of 2: %d listed", n)
	}
}

func TestListLiveInputsReadsTheirSettings(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithLiveInputs("in-a", "in-b"), streamtokentest.WithClock(ticking()))
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	if _, err := c.SecureLiveInput(ctx, testAccount, "in-b", streamtoken.Security{RequireSignedURLs: new(true)}); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for li, err := range c.ListLiveInputs(ctx, testAccount) {
		if err != nil {
			t.Fatal(err)
		}
		got[li.ID] = li.RequireSignedURLs
	}
	if len(got) != 2 || got["in-a"] || !got["in-b"] {
		t.Errorf("ListLiveInputs = %v, want in-a open and in-b secured", got)
	}
}

// More than a page of videos at one instant cannot be paged past: an
// error, not a loop.
func TestListVideosStopsAtAnInstantItCannotPagePast(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 1,001 videos; not with -short")
	}
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	srv := streamtokentest.NewServer(streamtokentest.WithClock(func() time.Time { return at }))
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	for range streamtoken.MaxPageSize + 1 {
		if _, err := c.CreateDirectUpload(ctx, testAccount, streamtoken.DirectUpload{MaxDuration: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	var last error
	for _, err := range c.ListVideos(ctx, testAccount, streamtoken.VideoFilter{}) {
		if err != nil {
			last = err
			break
		}
		n++
	}
	if n != streamtoken.MaxPageSize || last == nil || !strings.Contains(last.Error(), "cannot page past") {
		t.Errorf("1,001 videos of one instant: %d listed, then %v", n, last)
	}
}

// A page of 1,000 videos the size Cloudflare answers them (playback URLs,
// thumbnails: some 2 KB each) is over the 1 MiB the client reads of other
// answers: a list reads up to 16 MiB.
func TestListVideosReadsAFullPageOfLargeVideos(t *testing.T) {
	var page strings.Builder
	page.WriteString(`{"success":true,"errors":[],"messages":[],"result":[`)
	pad := strings.Repeat("x", 2000)
	for i := range streamtoken.MaxPageSize {
		if i > 0 {
			page.WriteString(",")
		}
		fmt.Fprintf(&page, `{"uid":"%032x","requireSignedURLs":true,"allowedOrigins":["example.com"],"meta":{"name":"v%d"},"created":"2026-11-30T08:00:00Z","modified":"2026-11-30T08:00:00Z","thumbnail":"%s"}`, i, i, pad)
	}
	page.WriteString(`]}`)
	if page.Len() <= 1<<20 {
		t.Fatalf("the page is %d bytes: not over 1 MiB", page.Len())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("end") != "" { // the second page: the same instant, all seen
			_, _ = io.WriteString(w, `{"success":true,"errors":[],"messages":[],"result":[]}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, page.String())
	}))
	defer srv.Close()
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("t"), streamtoken.WithBaseURL(srv.URL+"/client/v4"), streamtoken.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range c.ListVideos(context.Background(), testAccount, streamtoken.VideoFilter{}) {
		if err != nil {
			t.Fatalf("after %d videos: %v", n, err)
		}
		n++
	}
	if n != streamtoken.MaxPageSize {
		t.Errorf("listed %d videos, want %d", n, streamtoken.MaxPageSize)
	}
}

// pageServer answers every list request with page(n), n counting the
// requests from 1, and counts them.
func pageServer(t *testing.T, page func(n int) string) (*streamtoken.Client, *int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		body := page(n)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true,"errors":[],"messages":[],"result":[`+body+`]}`)
	}))
	t.Cleanup(srv.Close)
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("list-test-token"), streamtoken.WithBaseURL(srv.URL+"/client/v4"), streamtoken.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

// videos is a page of n videos: the i-th ID is id(i), created at at(i).
func videos(n int, id func(int) string, at func(int) time.Time) string {
	items := make([]string, n)
	for i := range n {
		uid, _ := json.Marshal(id(i))
		items[i] = fmt.Sprintf(`{"uid":%s,"created":%q}`, uid, at(i).Format(time.RFC3339Nano))
	}
	return strings.Join(items, ",")
}

// A server that ignores the cursor, orders nothing or never runs out of
// videos at one instant cannot keep a listing going: it ends with an
// error within a few requests, having kept no more than a page.
func TestListVideosEndsOnAServerThatDoesNotPage(t *testing.T) {
	base := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	hex := func(i int) string { return fmt.Sprintf("%032x", i) }
	for _, tt := range []struct {
		name string
		page func(n int) string
		want string
	}{
		{"the same page, ignoring the cursor", func(int) string {
			return videos(1000, hex, func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) })
		}, "ignores the listing's cursor"},
		{"the same page, out of order", func(int) string {
			return videos(1000, hex, func(i int) time.Time { return base.Add(time.Duration(i%7) * time.Second) })
		}, "out of the order"},
		{"fresh videos at one instant, forever", func(n int) string {
			return videos(1000, func(i int) string { return hex(n*1000 + i) }, func(int) time.Time { return base })
		}, "more than 1000 videos created at"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, requests := pageServer(t, tt.page)
			listed := 0
			var last error
			for _, err := range c.ListVideos(context.Background(), testAccount, streamtoken.VideoFilter{Asc: true}) {
				if err != nil {
					last = err
					break
				}
				listed++
			}
			if last == nil || !strings.Contains(last.Error(), tt.want) || *requests > 3 {
				t.Errorf("ListVideos = %d videos in %d requests, then %v; want an error saying %q within 3 requests", listed, *requests, last, tt.want)
			}
		})
	}
}

// Max bounds a listing of a server that never runs out: it ends with an
// IncompleteListError; and IDs that are not IDs are skipped and counted.
func TestListVideosMaxAndSkippedIDs(t *testing.T) {
	base := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	c, _ := pageServer(t, func(n int) string {
		return videos(1000, func(i int) string { return fmt.Sprintf("%032x", n*1000+i) }, func(i int) time.Time { return base.Add(time.Duration(n*1000+i) * time.Second) })
	})
	listed := 0
	var last error
	for _, err := range c.ListVideos(context.Background(), testAccount, streamtoken.VideoFilter{Asc: true, Max: 2500}) {
		if err != nil {
			last = err
			break
		}
		listed++
	}
	var inc *streamtoken.IncompleteListError
	if listed != 2500 || !errors.As(last, &inc) || inc.Max != 2500 || !errors.Is(last, streamtoken.ErrIncompleteList) {
		t.Errorf("ListVideos(Max 2500) of an endless server = %d, then %v", listed, last)
	}

	c, _ = pageServer(t, func(int) string {
		return videos(3, func(i int) string { return []string{"ok-1", "bad\x1b[2J", "../x"}[i] }, func(int) time.Time { return base })
	})
	var got []string
	last = nil
	for v, err := range c.ListVideos(context.Background(), testAccount, streamtoken.VideoFilter{}) {
		if err != nil {
			last = err
			break
		}
		got = append(got, v.ID)
	}
	if fmt.Sprint(got) != "[ok-1]" || !errors.As(last, &inc) || inc.Skipped != 2 || inc.Listed != 1 {
		t.Errorf("ListVideos with two bad IDs = %q, then %v; want ok-1, then 2 skipped", got, last)
	}
}

// The stand-in lists at most 1,000 live inputs, as Cloudflare does, and
// counts them all: the listing says it saw 1,000 of 1,050.
func TestListLiveInputsSaysWhenItIsIncomplete(t *testing.T) {
	inputs := make([]string, 1050)
	for i := range inputs {
		inputs[i] = fmt.Sprintf("in-%04d", i)
	}
	srv := streamtokentest.NewServer(streamtokentest.WithLiveInputs(inputs...))
	defer srv.Close()
	listed := 0
	var last error
	for _, err := range srv.NewClient().ListLiveInputs(context.Background(), testAccount) {
		if err != nil {
			last = err
			break
		}
		listed++
	}
	var inc *streamtoken.IncompleteListError
	if listed != 1000 || !errors.As(last, &inc) || inc.Listed != 1000 || inc.Total != 1050 ||
		last.Error() != "streamtoken: incomplete list: 1000 of 1050 live inputs listed: the API lists no more" {
		t.Errorf("ListLiveInputs of 1,050 = %d, then %v", listed, last)
	}
}

// What a server says in a failure reaches a terminal through Error(): no
// control character of it does.
func TestAPIErrorPrintsNoControlCharacters(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"success":false,"errors":[{"code":1000,"message":"bad\u001b[2J\r\nall protected\u2028","source":{"pointer":"/x\u0007"}}],"messages":[],"result":null}`)
	}))
	defer srv.Close()
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("list-test-token"), streamtoken.WithBaseURL(srv.URL+"/client/v4"), streamtoken.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Video(context.Background(), testAccount, "v")
	if err == nil || strings.ContainsAny(err.Error(), "\x1b\r\n\a\u2028") || !strings.Contains(err.Error(), "bad\ufffd[2J\ufffd\ufffdall protected") {
		t.Errorf("Video() = %q, want the server's message without its control characters", err)
	}
}
