package standin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/store"
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
	base, _ := start(t, &standin.Service{})
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
	base, _ := start(t, &standin.Service{})
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
		{"U+0000 in the creator", `{"creator":"r\u0000d"}`, 400, 1003, "/creator"},
		{"U+0000 in meta", `{"meta":{"tags":["a\u0000"]}}`, 400, 1003, "/meta/tags/0"},
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
	base, _ := start(t, &standin.Service{})
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
		{`{"meta":{"name":"\u0000"}}`, "/meta/name"},
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
	base, _ := start(t, &standin.Service{
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
	ms := &standin.Service{Store: store.NewMemory(0), MaxPerAccount: 2}
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

// meta is bounded in size and depth, so that what the server keeps is
// small and every JSON decoder (the client's too) reads it back.
func TestMetaIsBounded(t *testing.T) {
	base, _ := start(t, &standin.Service{})
	nested := func(depth int) string {
		return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
	}
	for _, tt := range []struct {
		name, meta string
		status     int
		code       apicode.Code
	}{
		{"32 levels deep", nested(32), 200, 0},
		{"33 levels deep", nested(33), 400, apicode.InvalidRequest},
		{"16 KiB", `{"name":"` + strings.Repeat("x", 16<<10-11) + `"}`, 200, 0},
		{"a byte over 16 KiB", `{"name":"` + strings.Repeat("x", 16<<10-10) + `"}`, 400, apicode.InvalidRequest},
		// Deeper than a JSON decoder goes: not JSON, to the server.
		{"10,000 levels deep", nested(10_000), 400, apicode.MalformedJSON},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, op := range []struct{ method, rest, body string }{
				{http.MethodPost, video, `{"meta":` + tt.meta + `}`},
				{http.MethodPut, "live_inputs/" + liveInput, `{"meta":` + tt.meta + `}`},
			} {
				r, _ := media(t, base, op.method, op.rest, op.body)
				if r.Status != tt.status {
					t.Errorf("%s %s with meta %s = %d %.200s, want %d", op.method, op.rest, tt.name, r.Status, r.Raw, tt.status)
					continue
				}
				switch {
				case tt.status == 200:
				case r.Env.Errors[0].Code != int(tt.code):
					t.Errorf("%s %s with meta %s = %.300s, want code %d", op.method, op.rest, tt.name, r.Raw, tt.code)
				case tt.code == apicode.InvalidRequest && (r.Env.Errors[0].Source == nil || r.Env.Errors[0].Source.Pointer != "/meta"):
					t.Errorf("%s %s with meta %s = %.300s, want a pointer to /meta", op.method, op.rest, tt.name, r.Raw)
				}
			}
		})
	}
}

// A store in memory that is full says so in a 4xx envelope, and keeps
// what it held.
func TestAFullStoreIsA400(t *testing.T) {
	st := store.NewMemory(8<<10, store.WithAccountMediaBytes(-1)) // the media's budget, all of it the one account's
	base, _ := start(t, &standin.Service{Store: st})
	body := `{"meta":{"name":"` + strings.Repeat("x", 3000) + `"}}`
	var last response
	for i := range 10 {
		if last, _ = media(t, base, http.MethodPost, fmt.Sprintf("video-%d", i), body); last.Status != 200 {
			break
		}
	}
	if last.Status != 400 || last.Env.Errors[0].Code != int(apicode.StoreFull) {
		t.Fatalf("edits past the store's bound: last %d %.200s, want a 400 with code %d", last.Status, last.Raw, apicode.StoreFull)
	}
	if r, v := media(t, base, http.MethodGet, "video-0", ""); r.Status != 200 || v["meta"] == nil {
		t.Errorf("the first video after the store filled: %d %.200s", r.Status, r.Raw)
	}
	if used, max := st.Used(); used > max {
		t.Errorf("the store holds %d bytes, over its %d", used, max)
	}
}

// One account cannot take the room of the others: past its quota its
// changes are refused (1019), counted in /metrics, while another account
// still creates a direct upload.
func TestOneAccountCannotFillTheStore(t *testing.T) {
	st := store.NewMemory(2<<20, store.WithAccountMediaBytes(256<<10))
	base, _ := start(t, &standin.Service{Store: st})
	body := `{"maxDurationSeconds":60,"meta":{"pad":"` + strings.Repeat("x", 15<<10) + `"}}`
	var last response
	for range 100 {
		if last, _ = media(t, base, http.MethodPost, "direct_upload", body); last.Status != 200 {
			break
		}
	}
	if last.Status != 400 || last.Env.Errors[0].Code != int(apicode.AccountQuota) {
		t.Fatalf("direct uploads past the account's quota: last %d %.200s, want a 400 with code %d", last.Status, last.Raw, apicode.AccountQuota)
	}
	other := base + "/client/v4/accounts/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/stream/direct_upload"
	if r := do(t, http.MethodPost, other, strings.NewReader(`{"maxDurationSeconds":60}`), append(bearer(apiToken), "Content-Type", "application/json")...); r.Status != 200 {
		t.Errorf("another account's direct upload after the first was refused: %d %.200s", r.Status, r.Raw)
	}
	if r := do(t, http.MethodGet, base+"/metrics", nil); !strings.Contains(r.Raw, `streamtoken_store_refusals_total{reason="account_quota"} 1`) {
		t.Errorf("/metrics counts no quota refusal")
	}
}
