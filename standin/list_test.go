package standin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/standin"
)

// listVideos lists the account's videos with a query string, and returns
// the answer with the IDs in order.
func listVideos(t *testing.T, base, query string) (response, []string, map[string]any) {
	t.Helper()
	r := do(t, http.MethodGet, base+"/client/v4/accounts/"+account+"/stream?"+query, nil, bearer(apiToken)...)
	var env struct {
		Result []struct {
			UID string `json:"uid"`
		} `json:"result"`
	}
	var top map[string]any
	_ = json.Unmarshal([]byte(r.Raw), &env)
	_ = json.Unmarshal([]byte(r.Raw), &top)
	var ids []string
	for _, v := range env.Result {
		ids = append(ids, v.UID)
	}
	return r, ids, top
}

// upload creates a direct upload with body, and returns its ID and URL.
func upload(t *testing.T, base, body string, headers ...string) (string, string) {
	t.Helper()
	r, v := media(t, base, http.MethodPost, "direct_upload", body, headers...)
	if r.Status != 200 {
		t.Fatalf("direct upload %s = %d %s", body, r.Status, r.Raw)
	}
	return v["uid"].(string), v["uploadURL"].(string)
}

func TestDirectUploadCreatesASecuredVideo(t *testing.T) {
	base, _ := start(t, &standin.Service{})
	uid, url := upload(t, base, `{"maxDurationSeconds":3600,"requireSignedURLs":true,"allowedOrigins":["example.com"],"meta":{"name":"a.mp4"}}`, "Upload-Creator", "c-1")
	capability, ok := strings.CutPrefix(url, base+"/upload/"+account+"/")
	if len(uid) != 32 || !ok || len(capability) != 32 || capability == uid {
		t.Fatalf("direct upload = %s at %s; want a 32-digit ID, and a URL at %s/upload/ with a capability of its own", uid, url, base)
	}
	r, v := media(t, base, http.MethodGet, uid, "")
	if r.Status != 200 || v["requireSignedURLs"] != true || fmt.Sprint(v["allowedOrigins"]) != "[example.com]" ||
		v["creator"] != "c-1" || v["status"].(map[string]any)["state"] != "pendingupload" || v["maxDurationSeconds"] != 3600.0 {
		t.Fatalf("the uploaded video = %d %s", r.Status, r.Raw)
	}
	// The URL takes one upload, without credentials.
	send := func() response {
		return do(t, http.MethodPost, url, strings.NewReader("--b\r\n\r\nvideo bytes\r\n--b--\r\n"), "Content-Type", "multipart/form-data; boundary=b")
	}
	if r := send(); r.Status != 200 || !r.Env.Success {
		t.Fatalf("upload = %d %s", r.Status, r.Raw)
	}
	if _, v := media(t, base, http.MethodGet, uid, ""); v["status"].(map[string]any)["state"] != "ready" || v["requireSignedURLs"] != true {
		t.Errorf("after the upload = %v, want ready and still secured", v)
	}
	if r := send(); r.Status != http.StatusConflict || !slices.Contains(apicode.Code(r.Env.Errors[0].Code).Statuses(), r.Status) {
		t.Errorf("a second upload = %d %s, want 409 with a code whose table lists 409", r.Status, r.Raw)
	}
	// A video no direct upload created takes none.
	if r := do(t, http.MethodPost, base+"/upload/"+account+"/"+video, strings.NewReader("x")); r.Status != 404 {
		t.Errorf("an upload to a video not created by a direct upload = %d %s, want 404", r.Status, r.Raw)
	}
	// The video's ID, which a token's sub and an embed code show, is not
	// the upload URL's secret: a pending video takes no upload at it (as
	// pending uploads made before the capability, whose URL was the ID, do
	// not either).
	pending, _ := upload(t, base, `{"maxDurationSeconds":60}`)
	if r := do(t, http.MethodPost, base+"/upload/"+account+"/"+pending, strings.NewReader("replaced")); r.Status != 404 || strings.Contains(r.Raw, pending) {
		t.Errorf("an upload at the pending video's ID = %d %s, want a 404 that repeats nothing", r.Status, r.Raw)
	}
	if _, v := media(t, base, http.MethodGet, pending, ""); v["status"].(map[string]any)["state"] != "pendingupload" {
		t.Errorf("the pending video after an upload at its ID = %v, want still pending", v)
	}
	if r := do(t, http.MethodPost, base+"/upload/"+account+"/..x%2F", strings.NewReader("x")); r.Status != 400 {
		t.Errorf("an upload to a bad ID = %d %s, want 400", r.Status, r.Raw)
	}
}

func TestDirectUploadExpires(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	base, _ := start(t, &standin.Service{Now: func() time.Time { return clock() }})
	_, url := upload(t, base, `{"maxDurationSeconds":60,"expiry":"2026-11-30T08:05:00Z"}`)
	now = now.Add(6 * time.Minute)
	if r := do(t, http.MethodPost, url, strings.NewReader("x")); r.Status != http.StatusGone {
		t.Errorf("an upload after the expiry = %d %s, want 410", r.Status, r.Raw)
	}
	// The next direct upload reaps the expired one: it is gone from the
	// store, the listing and its caps.
	if r, _ := media(t, base, http.MethodPost, "direct_upload", `{"maxDurationSeconds":60}`); r.Status != 200 {
		t.Fatalf("a direct upload after one expired: %d %s", r.Status, r.Raw)
	}
	if _, ids, _ := listVideos(t, base, "status=pendingupload"); len(ids) != 1 {
		t.Errorf("pending uploads after the expired one was reaped = %v, want the new one alone", ids)
	}
	// The minimum, measured at the caller a moment before: forgiven by
	// the room left for the transit; well under it: refused.
	for body, want := range map[string]int{
		`{"maxDurationSeconds":60,"expiry":"2026-11-30T08:07:58Z"}`: 200,
		`{"maxDurationSeconds":60,"expiry":"2026-11-30T08:07:30Z"}`: 400,
	} {
		if r, _ := media(t, base, http.MethodPost, "direct_upload", body); r.Status != want {
			t.Errorf("direct upload %s at 08:06 = %d %s, want %d", body, r.Status, r.Raw, want)
		}
	}
}

func TestDirectUploadRefusals(t *testing.T) {
	urls, err := standin.UploadURLs("https://stream.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := start(t, &standin.Service{UploadURL: urls})
	for _, c := range []struct{ body, want string }{
		{`{}`, "maxDurationSeconds"},
		{`{"maxDurationSeconds":60,"requiredSignedURLs":true}`, "requiredSignedURLs"},
		{`{"maxDurationSeconds":0}`, "maxDurationSeconds"},
		{`{"maxDurationSeconds":21601}`, "maxDurationSeconds"},
		{`{"maxDurationSeconds":60,"expiry":"2000-01-01T00:00:00Z"}`, "expiry"},
		{`{"maxDurationSeconds":60,"allowedOrigins":["https://example.com/x"]}`, "allowedOrigins"},
		{`{"maxDurationSeconds":60,"creator":"` + strings.Repeat("c", 65) + `"}`, "creator"},
		{`{"maxDurationSeconds":60,"thumbnailTimestampPct":2}`, "thumbnailTimestampPct"},
		// PostgreSQL cannot keep U+0000: refused by every store alike.
		{`{"maxDurationSeconds":60,"creator":"r\u0000d"}`, `"pointer":"/creator"`},
		{`{"maxDurationSeconds":60,"meta":{"name":"a\u0000"}}`, `"pointer":"/meta/name"`},
	} {
		r, _ := media(t, base, http.MethodPost, "direct_upload", c.body)
		if r.Status != 400 || !strings.Contains(r.Raw, c.want) {
			t.Errorf("direct upload %s = %d %s, want a 400 naming %s", c.body, r.Status, r.Raw, c.want)
		}
	}
	if r, ids, _ := listVideos(t, base, ""); r.Status != 200 || ids != nil {
		t.Errorf("a refused upload created a video: %s", r.Raw)
	}
	// The public URL makes the upload URLs.
	if _, url := upload(t, base, `{"maxDurationSeconds":60}`); !strings.HasPrefix(url, "https://stream.example.com/upload/"+account+"/") {
		t.Errorf("upload URL with a PublicURL = %s", url)
	}
	if _, err := standin.UploadURLs("ftp://x"); err == nil {
		t.Error("UploadURLs(ftp://x) = nil error")
	}
}

func TestListVideos(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	base, _ := start(t, &standin.Service{Now: func() time.Time { return now }})
	if r, ids, top := listVideos(t, base, "include_counts=true"); r.Status != 200 || ids != nil || top["total"] != 0.0 || top["range"] != 0.0 {
		t.Fatalf("list of none = %d %s", r.Status, r.Raw)
	}
	// Five videos a second apart: two by direct upload, three edited.
	var made []string
	for i := range 5 {
		now = now.Add(time.Second)
		if i < 2 {
			uid, _ := upload(t, base, fmt.Sprintf(`{"maxDurationSeconds":60,"creator":"c-%d","meta":{"name":"Clip %d.mp4"}}`, i%2, i))
			made = append(made, uid)
			continue
		}
		id := fmt.Sprintf("v%d", i)
		media(t, base, http.MethodPost, id, fmt.Sprintf(`{"creator":"c-%d","meta":{"name":"clip %d.mp4"},"requireSignedURLs":true}`, i%2, i))
		made = append(made, id)
	}
	newest := func(idx ...int) string {
		var out []string
		for _, i := range idx {
			out = append(out, made[i])
		}
		return strings.Join(out, " ")
	}
	at := func(s int) string { return time.Date(2026, 11, 30, 8, 0, s, 0, time.UTC).Format(time.RFC3339) }
	for _, c := range []struct{ query, want string }{
		{"", newest(4, 3, 2, 1, 0)},
		{"asc=true", newest(0, 1, 2, 3, 4)},
		{"limit=2", newest(4, 3)},
		{"creator=c-1", newest(3, 1)},
		{"status=pendingupload", newest(1, 0)},
		{"status=ready", newest(4, 3, 2)},
		{"type=vod", newest(4, 3, 2, 1, 0)},
		{"type=live", ""},
		{"search=CLIP%203", newest(3)},
		{"video_name=Clip%200.mp4", newest(0)},
		{"name=v2,Clip%201.mp4", newest(2, 1)},
		{"id=v2,v4", newest(4, 2)},
		{"start=" + at(3), newest(4, 3, 2)},
		{"after=" + at(3) + "&asc=true", newest(2, 3, 4)},
		{"end=" + at(2), newest(1, 0)},
		{"before=" + at(4) + "&start=" + at(2), newest(3, 2, 1)},
	} {
		r, ids, _ := listVideos(t, base, c.query)
		if got := strings.Join(ids, " "); r.Status != 200 || got != c.want {
			t.Errorf("list ?%s = %d [%s]; want [%s] (%s)", c.query, r.Status, got, c.want, r.Raw)
		}
	}
	if _, _, top := listVideos(t, base, "include_counts=true&limit=2&creator=c-0"); top["total"] != 3.0 || top["range"] != 1.0 {
		t.Errorf("counts of a filtered page = total %v range %v, want 3 and 1", top["total"], top["range"])
	}
	for _, c := range []struct{ query, want string }{
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"status=done", "status"},
		{"type=vid", "type"},
		{"start=yesterday", "start"},
		{"start=" + at(1) + "&after=" + at(1), "after"},
		{"end=" + at(1) + "&start=" + at(2), "end"},
		{"id=" + strings.Repeat("a,", 101), "id"},
		{"creater=c-1", "creater"},
		{"asc=maybe", "asc"},
	} {
		if r, _, _ := listVideos(t, base, c.query); r.Status != 400 || !strings.Contains(r.Raw, c.want) {
			t.Errorf("list ?%s = %d %s, want a 400 naming %s", c.query, r.Status, r.Raw, c.want)
		}
	}
}

func TestListLiveInputs(t *testing.T) {
	base, _ := start(t, &standin.Service{})
	for _, id := range []string{"in-a", "in-b"} {
		if r, _ := media(t, base, http.MethodPut, "live_inputs/"+id, `{"meta":{"name":"`+id+`"},"recording":{"requireSignedURLs":true}}`); r.Status != 200 {
			t.Fatal(r.Raw)
		}
	}
	r := do(t, http.MethodGet, base+"/client/v4/accounts/"+account+"/stream/live_inputs?include_counts=true", nil, bearer(apiToken)...)
	var env struct {
		Result struct {
			LiveInputs []map[string]any `json:"liveInputs"`
			Total      int              `json:"total"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.Raw), &env); err != nil || r.Status != 200 || len(env.Result.LiveInputs) != 2 || env.Result.Total != 2 {
		t.Fatalf("list live inputs = %d %s", r.Status, r.Raw)
	}
	if _, ok := env.Result.LiveInputs[0]["recording"]; ok {
		t.Errorf("a listed live input has its recording settings, which Cloudflare lists without: %v", env.Result.LiveInputs[0])
	}
	if r := do(t, http.MethodGet, base+"/client/v4/accounts/"+account+"/stream/live_inputs", nil); r.Status != 401 {
		t.Errorf("list live inputs without credentials = %d", r.Status)
	}
}

// A path with a trailing slash is no route, said so: not a 405 claiming
// the route takes the method used.
func TestATrailingSlashIsNoRoute(t *testing.T) {
	base, _ := start(t, &standin.Service{})
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/stream/"}, {http.MethodPost, "/stream/keys/"}, {http.MethodPost, "/stream/" + video + "/token/"},
	} {
		r := do(t, c.method, base+"/client/v4/accounts/"+account+c.path, nil, bearer(apiToken)...)
		if r.Status != 404 || !strings.Contains(r.Raw, "ends in a slash") || r.Header.Get("Allow") != "" {
			t.Errorf("%s %s = %d %s, want a 404 saying the slash is the problem", c.method, c.path, r.Status, r.Raw)
		}
	}
}

// A video whose path is another operation's: the requests that reach the
// video operations say so.
func TestVideoPathClash(t *testing.T) {
	base, _ := start(t, &standin.Service{})
	for _, c := range []struct{ method, id, body string }{
		{http.MethodGet, "direct_upload", ""}, {http.MethodPost, "live_inputs", `{"requireSignedURLs":true}`},
	} {
		r, _ := media(t, base, c.method, c.id, c.body)
		if r.Status != 400 || !strings.Contains(r.Raw, "cannot be read or edited through the API") {
			t.Errorf("%s video %s = %d %s, want a 400 naming the ambiguity", c.method, c.id, r.Status, r.Raw)
		}
	}
	// The other method of the same path is the other operation's.
	if r, _ := media(t, base, http.MethodGet, "live_inputs", ""); r.Status != 200 || !strings.Contains(r.Raw, "liveInputs") {
		t.Errorf("GET .../stream/live_inputs = %d %s, want the list of live inputs", r.Status, r.Raw)
	}
}

// A video is deleted as Cloudflare deletes one (with no body, {} or null,
// as the SDKs send): the listing no longer has it, its pending upload's
// URL takes nothing, and a second delete is a 404.
func TestDeleteVideo(t *testing.T) {
	base, _ := start(t, &standin.Service{})
	for i, body := range []string{"", "{}", "null"} {
		uid, url := upload(t, base, `{"maxDurationSeconds":60}`)
		if r, _ := media(t, base, http.MethodDelete, uid, body); r.Status != 200 || !strings.Contains(r.Raw, `"result":"ok"`) {
			t.Fatalf("DELETE with body %q = %d %s", body, r.Status, r.Raw)
		}
		if r := do(t, http.MethodPost, url, strings.NewReader("x")); r.Status != 404 {
			t.Errorf("the deleted video's upload URL = %d %s, want 404", r.Status, r.Raw)
		}
		if r, _ := media(t, base, http.MethodDelete, uid, ""); r.Status != 404 || r.Env.Errors[0].Code != int(apicode.NoSuchMedia) {
			t.Errorf("a second DELETE = %d %s, want a 404", r.Status, r.Raw)
		}
		if _, ids, _ := listVideos(t, base, ""); len(ids) != 0 {
			t.Errorf("after %d deletes the listing holds %v", i+1, ids)
		}
	}
}
