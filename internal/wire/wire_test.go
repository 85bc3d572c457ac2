package wire

import (
	"encoding/base64"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/token"
)

func ptr[T any](v T) *T { return &v }

func TestRequest(t *testing.T) {
	if got := Request("v", nil); !reflect.DeepEqual(got, token.Request{VideoID: "v"}) {
		t.Errorf("Request(nil body) = %+v, want only the video", got)
	}
	if got := Request("v", &gen.TokenRequest{AccessRules: []gen.AccessRule{}}); !reflect.DeepEqual(got, token.Request{VideoID: "v"}) {
		t.Errorf("Request(empty body) = %#v, want only the video (no empty rule list)", got)
	}
	body := &gen.TokenRequest{
		Exp: ptr(int64(1800000000)), Nbf: ptr(int64(1790000000)), Downloadable: ptr(true),
		Flags: &gen.TokenFlags{Original: ptr(true)},
		AccessRules: []gen.AccessRule{
			{Type: gen.AccessRuleTypeIPGeoIPCountry, Action: gen.AccessRuleActionBlock, Country: []string{"US"}},
			{Type: gen.AccessRuleTypeAny, Action: gen.AccessRuleActionAllow},
		},
	}
	want := token.Request{
		VideoID: "v", ExpiresAt: time.Unix(1800000000, 0), NotBefore: time.Unix(1790000000, 0), Downloadable: true, Original: true,
		AccessRules: []token.Rule{
			{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US"}},
			{Type: token.RuleAny, Action: token.ActionAllow},
		},
	}
	if got := Request("v", body); !reflect.DeepEqual(got, want) {
		t.Errorf("Request() = %+v\nwant %+v", got, want)
	}
	// An explicit exp of 0 is a time (and refused later), not "unset".
	if got := Request("v", &gen.TokenRequest{Exp: ptr(int64(0))}); got.ExpiresAt.IsZero() {
		t.Error("Request(exp: 0) left exp unset")
	}
	// Body is the way back: everything but the video, which is the path's.
	want.VideoID = ""
	back := Body(want, "", "")
	if !reflect.DeepEqual(&back, body) {
		t.Errorf("Body(Request(body)) = %+v\nwant %+v", back, *body)
	}
}

func TestBodySendsOnlyWhatIsSet(t *testing.T) {
	if got := Body(token.Request{VideoID: "v"}, "", ""); !reflect.DeepEqual(got, gen.TokenRequest{}) {
		t.Errorf("Body(only a video) = %+v, want an empty body", got)
	}
	got := Body(token.Request{}, "kid", "PEM")
	if got.ID == nil || *got.ID != "kid" || got.PEM == nil || *got.PEM != "PEM" {
		t.Errorf("Body(key) = %+v, want id and pem", got)
	}
	// A lone id is sent as it is, for the checks to name what is missing.
	if got := Body(token.Request{}, "kid", ""); got.ID == nil || got.PEM != nil {
		t.Errorf("Body(lone id) = %+v, want the id alone", got)
	}
	if got := Body(token.Request{}, "", "PEM"); got.ID != nil || got.PEM == nil {
		t.Errorf("Body(lone pem) = %+v, want the pem alone", got)
	}
}

func TestCheck(t *testing.T) {
	pemFile, err := os.ReadFile("../../token/testdata/rsa2048.pem")
	if err != nil {
		t.Fatal(err)
	}
	pemField := base64.StdEncoding.EncodeToString(pemFile)
	publicFile, err := os.ReadFile("../../token/testdata/rsa2048-public.pem")
	if err != nil {
		t.Fatal(err)
	}
	publicField := base64.StdEncoding.EncodeToString(publicFile)
	now := time.Now()
	tests := []struct {
		name    string
		account string
		video   string // "video" when empty and the test is not about it
		body    *gen.TokenRequest
		want    []string // fields of the violations
		wantKey string
	}{
		{name: "no body", account: "a"},
		{name: "id and pem", account: "a", body: &gen.TokenRequest{ID: ptr("kid-1"), PEM: &pemField}, wantKey: "kid-1"},
		{name: "empty id", account: "a", body: &gen.TokenRequest{ID: ptr(""), PEM: &pemField}, want: []string{"id"}},
		{name: "pem as plain PEM text", account: "a", body: &gen.TokenRequest{ID: ptr("k"), PEM: ptr("-----BEGIN RSA PRIVATE KEY-----")}, want: []string{"pem"}},
		{name: "pem of base64 not PEM", account: "a", body: &gen.TokenRequest{ID: ptr("k"), PEM: ptr(base64.StdEncoding.EncodeToString([]byte(`{"kty":"RSA"}`)))}, want: []string{"pem"}},
		{name: "everything wrong", account: "", body: &gen.TokenRequest{ID: ptr("k"), Exp: ptr(now.Add(-time.Hour).Unix())}, want: []string{"account_id", "pem", "exp"}},
		{name: "a dot segment as video", account: "a", video: "..", want: []string{"identifier"}},
		{name: "no video, said once", account: "a", video: "", want: []string{"identifier"}},
		{name: "a 33-character video, said once", account: "a", video: strings.Repeat("v", 33), want: []string{"identifier"}},
		{name: "a bad id", account: "a", body: &gen.TokenRequest{ID: ptr("a b"), PEM: &pemField}, want: []string{"id"}},
		{name: "a pem not base64", account: "a", body: &gen.TokenRequest{ID: ptr("k"), PEM: ptr("!!")}, want: []string{"pem"}},
		{name: "a public key as pem", account: "a", body: &gen.TokenRequest{ID: ptr("k"), PEM: &publicField}, want: []string{"pem"}},
		{name: "a lone pem", account: "a", body: &gen.TokenRequest{PEM: &pemField}, want: []string{"id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			video := tt.video
			if video == "" && !strings.Contains(tt.name, "no video") {
				video = "video"
			}
			// Check, the server's, leaves the path's IDs to its edge: the
			// same violations, but theirs.
			_, serverErr := Check(video, tt.body, now)
			var bodyOnly []string
			for _, f := range tt.want {
				if f != "account_id" && f != "identifier" {
					bodyOnly = append(bodyOnly, f)
				}
			}
			var sverr *token.ValidationError
			if errors.As(serverErr, &sverr) != (len(bodyOnly) > 0) && !strings.Contains(tt.name, "said once") {
				t.Errorf("Check() error = %v, want violations at %q", serverErr, bodyOnly)
			} else if sverr != nil {
				var got []string
				for _, v := range sverr.Violations {
					if v.Field != "VideoID" { // the token package's own rule, met first at the edge
						got = append(got, v.Field)
					}
				}
				if !reflect.DeepEqual(got, bodyOnly) {
					t.Errorf("Check() violations at %q, want %q", got, bodyOnly)
				}
			}
			key, err := CheckRequest(tt.account, video, Request(video, tt.body), tt.body, now)
			var verr *token.ValidationError
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckRequest() error = %v", err)
				}
				if (key == nil) != (tt.wantKey == "") || (key != nil && key.ID != tt.wantKey) {
					t.Errorf("CheckRequest() key = %v, want ID %q", key, tt.wantKey)
				}
				return
			}
			if !errors.As(err, &verr) || key != nil {
				t.Fatalf("CheckRequest() = %v, %v; want a *token.ValidationError", key, err)
			}
			var got []string
			for _, v := range verr.Violations {
				got = append(got, v.Field)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CheckRequest() violations at %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckOrigin(t *testing.T) {
	for _, ok := range []string{"example.com", "*.example.com", "example.com:8443", "*.a-b.example.co.uk:1", "localhost", "127.0.0.1:8080", "EXAMPLE.com", "x",
		"zZ09.example.com:65535", strings.Repeat("a", 63) + ".com", strings.Repeat("a.", 126) + "a"} {
		if why := CheckOrigin(ok); why != "" {
			t.Errorf("CheckOrigin(%q) = %q, want ok", ok, why)
		}
	}
	for _, bad := range []string{"", "*", "*.", "https://example.com", "example.com/path", "example.com?x", "example.com#f",
		"example.com:0", "example.com:65536", "example.com:", "example.com:+80", "example.com:080", "exa mple.com", "ex_ample.com",
		"-example.com", "example-.com", "a..b", ".example.com", "example.com.", "*.*.example.com", "é.com",
		strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "com"} {
		if why := CheckOrigin(bad); why == "" {
			t.Errorf("CheckOrigin(%q) = ok, want a problem", bad)
		}
	}
}

func TestCheckOrigins(t *testing.T) {
	vs := CheckOrigins([]string{"example.com", "https://x", "ok.net", "a/b"}, "recording", "allowedOrigins")
	if len(vs) != 2 || vs[0].Pointer != "/recording/allowedOrigins/1" || vs[1].Pointer != "/recording/allowedOrigins/3" {
		t.Errorf("CheckOrigins() = %+v, want violations at /recording/allowedOrigins/1 and /3", vs)
	}
	many := make([]string, MaxAllowedOrigins+1)
	for i := range many {
		many[i] = "example.com"
	}
	if vs := CheckOrigins(many, "allowedOrigins"); len(vs) != 1 || vs[0].Pointer != "/allowedOrigins" {
		t.Errorf("CheckOrigins(%d origins) = %+v, want one violation of the list", len(many), vs)
	}
	if vs := CheckOrigins(many[:MaxAllowedOrigins], "allowedOrigins"); len(vs) != 0 {
		t.Errorf("CheckOrigins(%d origins) = %+v, want none", MaxAllowedOrigins, vs)
	}
}

// A port is what follows the last ':', even with nothing before it.
func TestCheckOriginPortAtTheStart(t *testing.T) {
	if why := CheckOrigin(":x"); !strings.Contains(why, "the port after ':'") {
		t.Errorf("CheckOrigin(\":x\") = %q, want the port's problem", why)
	}
	if why := CheckOrigin(":8080"); !strings.Contains(why, "must name a host") {
		t.Errorf("CheckOrigin(\":8080\") = %q, want the missing host", why)
	}
}

func TestCheckOriginSaysWhatIsWrong(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com": "without a scheme",
		"example.com/watch":   "without a path",
		"example.com:99999":   "port",
		"*":                   "must name a host",
	} {
		if got := CheckOrigin(in); !strings.Contains(got, want) {
			t.Errorf("CheckOrigin(%q) = %q, want it to say %q", in, got, want)
		}
	}
}

// The client checks the request it converts into a body, not the body
// converted back: the two are the same request.
func TestBodyAndRequestAreOneConversion(t *testing.T) {
	in := token.Request{VideoID: "v", ExpiresAt: time.Unix(1_800_000_000, 0), NotBefore: time.Unix(1_799_990_000, 0), Downloadable: true, Original: true,
		AccessRules: []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"10.0.0.0/8"}}, {Type: token.RuleAny, Action: token.ActionBlock}}}
	body := Body(in, "", "")
	if back := Request("v", &body); !reflect.DeepEqual(back, in) {
		t.Errorf("Request(Body(r)) = %+v, want %+v", back, in)
	}
}

func TestVideoPathClash(t *testing.T) {
	for _, id := range []string{"keys", "live_inputs", "direct_upload"} {
		if why := VideoPathClash(id); !strings.Contains(why, "another operation") {
			t.Errorf("VideoPathClash(%q) = %q", id, why)
		}
	}
	for _, id := range []string{"ea95132c15732412d22c1476fa83f27a", "token", "key", "{identifier}", ""} {
		if why := VideoPathClash(id); why != "" {
			t.Errorf("VideoPathClash(%q) = %q, want none", id, why)
		}
	}
}
