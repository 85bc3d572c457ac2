package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
)

const liveInput = "66be4bf738797e01e1fca35a7bdecdcd"

// media sends method to a video's or live input's path (rest, after
// /stream/) with body, as the test API token, and decodes the result.
func media(t *testing.T, base, method, rest, body string, headers ...string) (response, map[string]any) {
	t.Helper()
	h := append(bearer(apiToken), "Content-Type", "application/json")
	var r response
	if body == "" {
		r = do(t, method, base+"/client/v4/accounts/"+account+"/stream/"+rest, nil, append(h, headers...)...)
	} else {
		r = do(t, method, base+"/client/v4/accounts/"+account+"/stream/"+rest, strings.NewReader(body), append(h, headers...)...)
	}
	var env struct {
		Result map[string]any `json:"result"`
	}
	_ = json.Unmarshal([]byte(r.Raw), &env)
	return r, env.Result
}

func TestVideoDetails(t *testing.T) {
	base, _ := start(t, server.Config{})
	r, v := media(t, base, http.MethodGet, video, "")
	if r.Status != 200 || v["uid"] != video || v["requireSignedURLs"] != false || len(v["allowedOrigins"].([]any)) != 0 {
		t.Fatalf("GET a video never changed = %d %s, want the defaults", r.Status, r.Raw)
	}
	r, v = media(t, base, http.MethodPost, video, `{"creator":"c-1","meta":{"name":"a.mp4"}}`)
	if r.Status != 200 || v["creator"] != "c-1" {
		t.Fatalf("edit = %d %s", r.Status, r.Raw)
	}
	// A partial update: what the body leaves out keeps its value.
	r, v = media(t, base, http.MethodPost, video, `{"requireSignedURLs":true,"allowedOrigins":["example.com","*.example.net:8443"]}`)
	if r.Status != 200 || v["requireSignedURLs"] != true || v["creator"] != "c-1" || len(v["allowedOrigins"].([]any)) != 2 {
		t.Fatalf("edit = %d %s, want requireSignedURLs on, two origins, the creator kept", r.Status, r.Raw)
	}
	_, v = media(t, base, http.MethodGet, video, "")
	if v["requireSignedURLs"] != true || v["meta"].(map[string]any)["name"] != "a.mp4" {
		t.Errorf("GET after the edits = %v", v)
	}
	// An empty list clears the origins; false is sent and kept.
	_, v = media(t, base, http.MethodPost, video, `{"requireSignedURLs":false,"allowedOrigins":[]}`)
	if v["requireSignedURLs"] != false || len(v["allowedOrigins"].([]any)) != 0 {
		t.Errorf("edit to false and no origins = %v", v)
	}
	// Another video, another account: untouched.
	if _, v := media(t, base, http.MethodGet, "other-video", ""); v["requireSignedURLs"] != false {
		t.Errorf("another video = %v, want the defaults", v)
	}
}

func TestVideoEditRefusals(t *testing.T) {
	base, _ := start(t, server.Config{})
	tests := []struct {
		name, body string
		status     int
		code       int
		pointer    string
	}{
		{"misspelt field", `{"requiredSignedURLs":true}`, 400, 1002, "/requiredSignedURLs"},
		{"string for a boolean", `{"requireSignedURLs":"true"}`, 400, 1002, "/requireSignedURLs"},
		{"origin with a scheme", `{"allowedOrigins":["example.com","https://example.com"]}`, 400, 1003, "/allowedOrigins/1"},
		{"origin with a path", `{"allowedOrigins":["example.com/x"]}`, 400, 1003, "/allowedOrigins/0"},
		{"another video's uid", `{"uid":"not-this-one"}`, 400, 1003, "/uid"},
		{"creator too long", `{"creator":"` + strings.Repeat("c", 65) + `"}`, 400, 1002, "/creator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := media(t, base, http.MethodPost, video, tt.body)
			if r.Status != tt.status || len(r.Env.Errors) == 0 || r.Env.Errors[0].Code != tt.code || r.pointers()[0] != tt.pointer {
				t.Errorf("POST %s = %d %s, want %d, code %d at %s", tt.body, r.Status, r.Raw, tt.status, tt.code, tt.pointer)
			}
		})
	}
	if _, v := media(t, base, http.MethodGet, video, ""); v["requireSignedURLs"] != false || len(v["allowedOrigins"].([]any)) != 0 {
		t.Errorf("after refused edits the video is %v, want it unchanged", v)
	}
	many := `{"allowedOrigins":[` + strings.Repeat(`"example.com",`, 100) + `"example.com"]}`
	if r, _ := media(t, base, http.MethodPost, video, many); r.Status != 400 {
		t.Errorf("101 origins = %d, want 400", r.Status)
	}
}

func TestLiveInputUpdate(t *testing.T) {
	base, _ := start(t, server.Config{})
	path := "live_inputs/" + liveInput
	r, li := media(t, base, http.MethodGet, path, "")
	rec, _ := li["recording"].(map[string]any)
	if r.Status != 200 || li["uid"] != liveInput || rec["mode"] != "off" || rec["requireSignedURLs"] != false {
		t.Fatalf("GET a live input never changed = %d %s, want the defaults", r.Status, r.Raw)
	}
	r, li = media(t, base, http.MethodPut, path, `{"recording":{"mode":"automatic","timeoutSeconds":30},"meta":{"name":"show"}}`)
	if r.Status != 200 || li["recording"].(map[string]any)["mode"] != "automatic" {
		t.Fatalf("PUT = %d %s", r.Status, r.Raw)
	}
	// A body without recording keeps it; one with recording replaces it
	// whole: a client that sends requireSignedURLs alone resets the mode.
	_, li = media(t, base, http.MethodPut, path, `{"enabled":true}`)
	if li["recording"].(map[string]any)["mode"] != "automatic" || li["meta"].(map[string]any)["name"] != "show" {
		t.Errorf("PUT without recording = %v, want the recording and meta kept", li)
	}
	_, li = media(t, base, http.MethodPut, path, `{"recording":{"mode":"automatic","timeoutSeconds":30,"requireSignedURLs":true,"allowedOrigins":["example.com"],"hideLiveViewerCount":true}}`)
	rec = li["recording"].(map[string]any)
	if rec["requireSignedURLs"] != true || rec["timeoutSeconds"] != float64(30) || len(rec["allowedOrigins"].([]any)) != 1 || rec["hideLiveViewerCount"] != true {
		t.Errorf("PUT of the whole recording = %v", rec)
	}
	for _, tt := range []struct{ body, pointer string }{
		{`{"recording":{"requiredSignedURLs":true}}`, "/recording/requiredSignedURLs"},
		{`{"recording":{"mode":"always"}}`, "/recording/mode"},
		{`{"recording":{"allowedOrigins":["a b"]}}`, "/recording/allowedOrigins/0"},
		{`{"requireSignedURLs":true}`, "/requireSignedURLs"},
	} {
		if r, _ := media(t, base, http.MethodPut, path, tt.body); r.Status != 400 || r.pointers()[0] != tt.pointer {
			t.Errorf("PUT %s = %d %s, want 400 at %s", tt.body, r.Status, r.Raw, tt.pointer)
		}
	}
}

func TestMediaAuthAndKnownIDs(t *testing.T) {
	base, _ := start(t, server.Config{
		Videos:     func(acct, id string) bool { return id == video },
		LiveInputs: func(acct, id string) bool { return id == liveInput },
	})
	for _, rest := range []string{video, "live_inputs/" + liveInput} {
		if r := do(t, http.MethodGet, base+"/client/v4/accounts/"+account+"/stream/"+rest, nil); r.Status != 401 || r.Env.Errors[0].Code != 10000 {
			t.Errorf("GET %s without credentials = %d", rest, r.Status)
		}
		if r := do(t, http.MethodGet, base+"/client/v4/accounts/"+account+"/stream/"+rest, nil, bearer(scoped)...); r.Status != 403 {
			t.Errorf("GET %s with another account's token = %d, want 403", rest, r.Status)
		}
		if r, _ := media(t, base, http.MethodGet, rest, ""); r.Status != 200 {
			t.Errorf("GET %s (known) = %d", rest, r.Status)
		}
	}
	for _, tt := range []struct{ method, rest, body string }{
		{http.MethodGet, "unknown-video", ""},
		{http.MethodPost, "unknown-video", `{"requireSignedURLs":true}`},
		{http.MethodGet, "live_inputs/unknown-input", ""},
		{http.MethodPut, "live_inputs/unknown-input", `{}`},
	} {
		if r, _ := media(t, base, tt.method, tt.rest, tt.body); r.Status != 404 || r.Env.Errors[0].Code != 1011 {
			t.Errorf("%s %s = %d %s, want 404 code 1011", tt.method, tt.rest, r.Status, r.Raw)
		}
	}
}

func TestMediaServiceFailsClosedAndCapsTheStore(t *testing.T) {
	ms := &server.MediaService{Store: server.NewMemoryMediaStore(), MaxPerAccount: 2}
	req := func(id string) gen.EditVideoRequestObject {
		return gen.EditVideoRequestObject{AccountID: account, Identifier: id, Body: &gen.VideoEdit{}}
	}
	resp, err := ms.EditVideo(context.Background(), req("v1"))
	if fail, ok := resp.(gen.EditVideo4XXJSONResponse); err != nil || !ok || fail.StatusCode != 401 {
		t.Fatalf("EditVideo() without a caller = %#v, %v; want a 401", resp, err)
	}
	ctx := server.WithCaller(context.Background(), &server.Caller{})
	for _, id := range []string{"v1", "v2", "v1"} {
		if resp, err := ms.EditVideo(ctx, req(id)); err != nil {
			t.Fatal(err)
		} else if _, ok := resp.(gen.EditVideo200JSONResponse); !ok {
			t.Fatalf("EditVideo(%s) = %#v, want a 200", id, resp)
		}
	}
	resp, err = ms.EditVideo(ctx, req("v3"))
	if fail, ok := resp.(gen.EditVideo4XXJSONResponse); err != nil || !ok || fail.StatusCode != 400 || fail.Body.Errors[0].Code != 1012 {
		t.Errorf("EditVideo(a third video, cap 2) = %#v, %v; want a 400 with code 1012", resp, err)
	}
}

func TestMemoryMediaStoreEditsAreAtomic(t *testing.T) {
	store := server.NewMemoryMediaStore()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := store.EditVideo(ctx, account, video, 10, func(v *gen.Video, found bool) {
				if v.Meta == nil {
					v.Meta = map[string]any{}
				}
				v.Meta[string(rune('a'+i%26))+string(rune('a'+i/26))] = true
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	v, found, err := store.Video(ctx, account, video)
	if err != nil || !found || len(v.Meta) != 50 {
		t.Errorf("after 50 concurrent edits: %d keys, found %v, error %v; want 50", len(v.Meta), found, err)
	}
	// What a caller gets is a copy.
	v.Meta["x"] = 1
	again, _, _ := store.Video(ctx, account, video)
	if _, ok := again.Meta["x"]; ok {
		t.Error("a change to what Video returned reached the store")
	}
}

func TestDirMediaStore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	store, err := server.NewDirMediaStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := store.Video(ctx, account, video); found || err != nil {
		t.Fatalf("Video() of an empty store = found %v, %v", found, err)
	}
	if _, err := store.EditVideo(ctx, account, video, 2, func(v *gen.Video, found bool) {
		v.UID, v.RequireSignedURLs, v.AllowedOrigins = video, true, gen.AllowedOrigins{"example.com"}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.EditLiveInput(ctx, account, liveInput, 2, func(li *gen.LiveInput, found bool) {
		li.UID = liveInput
		li.Recording.RequireSignedURLs = new(true)
	}); err != nil {
		t.Fatal(err)
	}
	// Another store on the same directory (a restart, a replica) sees it.
	again, err := server.NewDirMediaStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, found, err := again.Video(ctx, account, video)
	if err != nil || !found || !v.RequireSignedURLs || len(v.AllowedOrigins) != 1 {
		t.Errorf("Video() from a second store = %+v, %v, %v", v, found, err)
	}
	li, found, err := again.LiveInput(ctx, account, liveInput)
	if err != nil || !found || li.Recording.RequireSignedURLs == nil || !*li.Recording.RequireSignedURLs {
		t.Errorf("LiveInput() from a second store = %+v, %v, %v", li, found, err)
	}
	path := filepath.Join(dir, "videos", account, video+".json")
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want a file of mode 0600", path, info, err)
	}
	// The edit is found again, not counted anew; a third video is one too many.
	if _, err := again.EditVideo(ctx, account, video, 2, func(v *gen.Video, found bool) {
		if !found {
			t.Error("the edit did not find the stored video")
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := again.EditVideo(ctx, account, "v2", 2, func(*gen.Video, bool) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := again.EditVideo(ctx, account, "v3", 2, func(*gen.Video, bool) {}); !errors.Is(err, server.ErrMediaLimit) {
		t.Errorf("a third video with max 2: %v, want ErrMediaLimit", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "videos", account))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("a temporary file was left: %s", e.Name())
		}
	}
	for _, id := range []string{"..", "a/b", ""} {
		if _, _, err := again.Video(ctx, account, id); err == nil {
			t.Errorf("Video(%q) error = nil, want the ID refused", id)
		}
		if _, err := again.EditVideo(ctx, id, video, 2, func(*gen.Video, bool) {}); err == nil {
			t.Errorf("EditVideo(account %q) error = nil, want the ID refused", id)
		}
	}
}
