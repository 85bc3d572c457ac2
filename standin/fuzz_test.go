package standin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
)

// FuzzMediaBodies sends any body to the video edit and the live-input
// update: the answer is a 200 or a 4xx envelope, never a fault; a 200 is
// the medium's details with the security settings of the kind the API
// has; and the store takes only what passed the checks (a second read
// shows only origins CheckOrigin accepts).
func FuzzMediaBodies(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"requireSignedURLs":true,"allowedOrigins":["example.com","*.example.net:8443"]}`,
		`{"requiredSignedURLs":true}`, `{"allowedOrigins":["https://x"]}`, `{"allowedOrigins":[""]}`,
		`{"scheduledDeletion":"2030-01-01T00:00:00Z","meta":{"a":{"b":[1,2]}}}`, `{"uid":"x"}`,
		`{"recording":{"mode":"automatic","requireSignedURLs":true,"timeoutSeconds":-1}}`,
		`{"recording":{"allowedOrigins":["a..b"]},"deleteRecordingAfterDays":29}`, `{"meta":` + strings.Repeat("[", 10000),
		`{"thumbnailTimestampPct":1e400}`, `{"publicDetails":{"title":null,"logo":"x"}}`,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	h := newServer(f, &standin.Service{}).Handler()
	send := func(method, path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	f.Fuzz(func(t *testing.T, body string, live bool) {
		method, path := http.MethodPost, server.BasePath+"/accounts/"+account+"/stream/"+video
		if live {
			method, path = http.MethodPut, server.BasePath+"/accounts/"+account+"/stream/live_inputs/"+video
		}
		rec := send(method, path, body)
		if rec.Code >= 500 || (rec.Code != 200 && rec.Code < 400) {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body.String())
		}
		var env struct {
			Success *bool `json:"success"`
			Result  *struct {
				RequireSignedURLs *bool     `json:"requireSignedURLs"`
				AllowedOrigins    *[]string `json:"allowedOrigins"`
				Recording         *struct {
					RequireSignedURLs *bool     `json:"requireSignedURLs"`
					AllowedOrigins    *[]string `json:"allowedOrigins"`
				} `json:"recording"`
			} `json:"result"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Success == nil || *env.Success != (rec.Code == 200) {
			t.Fatalf("answer %d is no envelope: %q", rec.Code, rec.Body.String())
		}
		if rec.Code != 200 {
			return
		}
		settings := env.Result
		var required *bool
		var origins *[]string
		if live {
			if settings.Recording == nil {
				t.Fatalf("a live input without recording: %s", rec.Body.String())
			}
			required, origins = settings.Recording.RequireSignedURLs, settings.Recording.AllowedOrigins
		} else {
			required, origins = settings.RequireSignedURLs, settings.AllowedOrigins
		}
		if required == nil || origins == nil {
			t.Fatalf("an answer without requireSignedURLs or allowedOrigins: %s", rec.Body.String())
		}
		for _, o := range *origins {
			if why := wire.CheckOrigin(o); why != "" {
				t.Fatalf("the store kept origin %q (%s) from body %q", o, why, body)
			}
		}
	})
}

// FuzzDirectUploadBody sends any body to the direct upload: the answer is
// a 200 or a 4xx envelope, never a fault; a 200 creates a video that reads
// back with the security settings the body gave (off when it gave none),
// and only origins CheckOrigin accepts.
func FuzzDirectUploadBody(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"maxDurationSeconds":60}`,
		`{"maxDurationSeconds":3600,"requireSignedURLs":true,"allowedOrigins":["example.com"],"meta":{"name":"a.mp4"}}`,
		`{"maxDurationSeconds":60,"requiredSignedURLs":true}`, `{"maxDurationSeconds":-1}`, `{"maxDurationSeconds":1e400}`,
		`{"maxDurationSeconds":60,"expiry":"2000-01-01T00:00:00Z"}`, `{"maxDurationSeconds":60,"watermark":{"uid":"` + strings.Repeat("w", 33) + `"}}`,
		`{"maxDurationSeconds":60,"allowedOrigins":["https://x"]}`, `{"maxDurationSeconds":60,"meta":` + strings.Repeat("[", 10000),
	} {
		f.Add(seed, "")
	}
	f.Add(`{"maxDurationSeconds":60}`, "creator-id_abcde12345")
	h := newServer(f, &standin.Service{}).Handler()
	f.Fuzz(func(t *testing.T, body, creator string) {
		req := httptest.NewRequest(http.MethodPost, server.BasePath+"/accounts/"+account+"/stream/direct_upload", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		if creator != "" {
			req.Header.Set("Upload-Creator", creator)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 || (rec.Code != 200 && rec.Code < 400) {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body.String())
		}
		var env struct {
			Success *bool `json:"success"`
			Result  struct {
				UID string `json:"uid"`
			} `json:"result"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Success == nil || *env.Success != (rec.Code == 200) {
			t.Fatalf("answer %d is no envelope: %q", rec.Code, rec.Body.String())
		}
		if rec.Code != 200 {
			return
		}
		var sent struct {
			RequireSignedURLs *bool `json:"requireSignedURLs"`
		}
		_ = json.Unmarshal([]byte(body), &sent)
		get := httptest.NewRequest(http.MethodGet, server.BasePath+"/accounts/"+account+"/stream/"+env.Result.UID, nil)
		get.Header.Set("Authorization", "Bearer "+apiToken)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, get)
		var v struct {
			Result struct {
				RequireSignedURLs bool     `json:"requireSignedURLs"`
				AllowedOrigins    []string `json:"allowedOrigins"`
			} `json:"result"`
		}
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &v) != nil {
			t.Fatalf("the created video reads %d %s", rec.Code, rec.Body.String())
		}
		if want := sent.RequireSignedURLs != nil && *sent.RequireSignedURLs; v.Result.RequireSignedURLs != want {
			t.Fatalf("body %q created a video with requireSignedURLs %v", body, v.Result.RequireSignedURLs)
		}
		for _, o := range v.Result.AllowedOrigins {
			if why := wire.CheckOrigin(o); why != "" {
				t.Fatalf("the store kept origin %q (%s) from body %q", o, why, body)
			}
		}
	})
}

// FuzzListQuery lists videos with any query string: the answer is a 200
// or a 4xx envelope, never a fault, and a 200 holds at most the limit.
func FuzzListQuery(f *testing.F) {
	for _, seed := range []string{
		"", "limit=1", "limit=0", "limit=1001", "limit=-1", "limit=1e3", "asc=true&include_counts=true", "asc=yes",
		"status=ready", "status=live-inprogress", "status=x", "type=live", "creator=%FF", "search=%00",
		"start=2026-11-30T08:00:00Z&end=2026-11-30T07:00:00Z", "after=2026-11-30T08:00:00Z&start=2026-11-30T08:00:00Z",
		"id=a,b,,c", "id=..", "name=" + strings.Repeat("n,", 200), "video_name=a&video_name=b", "creater=x", "%zz", "a=%",
		"live_input_id=" + strings.Repeat("l", 33), "before=2026-11-30T08:00:00.123456789+02:00",
	} {
		f.Add(seed)
	}
	h := newServer(f, &standin.Service{}).Handler()
	for i := range 5 { // a few videos to list
		req := httptest.NewRequest(http.MethodPost, server.BasePath+"/accounts/"+account+"/stream/direct_upload",
			strings.NewReader(fmt.Sprintf(`{"maxDurationSeconds":60,"creator":"c-%d","meta":{"name":"v%d.mp4"}}`, i%2, i)))
		req.Header.Set("Authorization", "Bearer "+apiToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			f.Fatal(rec.Body.String())
		}
	}
	f.Fuzz(func(t *testing.T, query string) {
		req, err := http.NewRequest(http.MethodGet, server.BasePath+"/accounts/"+account+"/stream?"+query, nil)
		if err != nil {
			return // not a request a client can send
		}
		req.Header.Set("Authorization", "Bearer "+apiToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 || (rec.Code != 200 && rec.Code < 400) {
			t.Fatalf("status %d for query %q: %s", rec.Code, query, rec.Body.String())
		}
		var env struct {
			Success *bool             `json:"success"`
			Result  []json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Success == nil || *env.Success != (rec.Code == 200) {
			t.Fatalf("answer %d is no envelope: %q", rec.Code, rec.Body.String())
		}
		if len(env.Result) > 5 {
			t.Fatalf("query %q listed %d of 5 videos", query, len(env.Result))
		}
	})
}
