package token_test

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/token"
)

func TestOptionsValidate(t *testing.T) {
	now := fixedNow
	rule := func(typ token.RuleType, action token.Action, country, ip []string) token.Rule {
		return token.Rule{Type: typ, Action: action, Country: country, IP: ip}
	}
	six := make([]token.Rule, 6)
	for i := range six {
		six[i] = rule(token.RuleAny, token.ActionAllow, nil, nil)
	}
	tests := []struct {
		name string
		opts token.Options
		want []string // "field: problem" prefixes, in order
	}{
		{name: "defaults", opts: token.Options{VideoID: "v"}},
		{name: "exp exactly 24h", opts: token.Options{VideoID: "v", ExpiresAt: now.Add(24 * time.Hour)}},
		{name: "exp one second past 24h", opts: token.Options{VideoID: "v", ExpiresAt: now.Add(24*time.Hour + time.Second)}, want: []string{"exp: must be at most 24h"}},
		{name: "exp 48h", opts: token.Options{VideoID: "v", ExpiresAt: now.Add(48 * time.Hour)}, want: []string{"exp: must be at most 24h"}},
		{name: "exp now", opts: token.Options{VideoID: "v", ExpiresAt: now}, want: []string{"exp: must be after now"}},
		{name: "exp zero unix", opts: token.Options{VideoID: "v", ExpiresAt: time.Unix(0, 0)}, want: []string{"exp: must be after now"}},
		{name: "nbf equals exp", opts: token.Options{VideoID: "v", ExpiresAt: now.Add(time.Hour), NotBefore: now.Add(time.Hour)}, want: []string{"nbf: must be before exp"}},
		{name: "nbf in the future before exp", opts: token.Options{VideoID: "v", ExpiresAt: now.Add(3 * time.Hour), NotBefore: now.Add(time.Hour)}},
		{name: "nbf after default exp", opts: token.Options{VideoID: "v", NotBefore: now.Add(2 * time.Hour)}, want: []string{"nbf: must be before exp"}},
		{name: "no video", opts: token.Options{}, want: []string{"identifier: is required"}},
		{name: "video too long", opts: token.Options{VideoID: strings.Repeat("a", 33)}, want: []string{"identifier: must be at most 32"}},
		{name: "video with slash", opts: token.Options{VideoID: "../x"}, want: []string{"identifier: must not contain"}},
		{name: "six rules", opts: token.Options{VideoID: "v", AccessRules: six}, want: []string{"accessRules: must hold at most 5"}},
		{name: "five rules", opts: token.Options{VideoID: "v", AccessRules: six[:5]}},
		{name: "unknown action and type", opts: token.Options{VideoID: "v", AccessRules: []token.Rule{rule("ip.dst", "deny", nil, nil)}},
			want: []string{"accessRules[0].action: must be", "accessRules[0].type: must be"}},
		{name: "country rule empty", opts: token.Options{VideoID: "v", AccessRules: []token.Rule{rule(token.RuleCountry, token.ActionBlock, nil, nil)}},
			want: []string{"accessRules[0].country: an ip.geoip.country rule needs"}},
		{name: "lower-case country", opts: token.Options{VideoID: "v", AccessRules: []token.Rule{rule(token.RuleCountry, token.ActionBlock, []string{"us"}, nil)}},
			want: []string{`accessRules[0].country[0]: "us" is not`}},
		{name: "zone in address", opts: token.Options{VideoID: "v", AccessRules: []token.Rule{rule(token.RuleIPSrc, token.ActionBlock, nil, []string{"fe80::1%eth0"})}},
			want: []string{`accessRules[0].ip[0]: "fe80::1%eth0" is not`}},
		{name: "many problems in one", opts: token.Options{ExpiresAt: now.Add(-time.Hour), AccessRules: []token.Rule{rule(token.RuleIPSrc, token.ActionAllow, []string{"US"}, []string{"300.1.1.1"})}},
			want: []string{"identifier:", "exp:", "accessRules[0].country: an ip.src rule takes no countries", "accessRules[0].ip[0]:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate(now)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var verr *token.ValidationError
			if !errors.As(err, &verr) || !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			var got []string
			for _, v := range verr.Violations {
				got = append(got, v.String())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Validate() violations = %q, want %d starting %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("violation %d = %q, want it to start %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestIsCountry(t *testing.T) {
	for c, want := range map[string]bool{
		"US": true, "MX": true, "GB": true, "AQ": true, "KP": true, "BQ": true,
		"USA": false, "us": false, "U": false, "": false, "UK": false, "XK": false, "ZZ": false,
		"AA": false, "EU": false, "UN": false, "T1": false, "XX": false, "DD": false, "12": false,
	} {
		if got := token.IsCountry(c); got != want {
			t.Errorf("IsCountry(%q) = %v, want %v", c, got, want)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for an error
	}{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"198.51.100.7", "198.51.100.7/32"},
		{"2400:cb00::/32", "2400:cb00::/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"::ffff:1.2.3.4", "1.2.3.4/32"},
		{"10.0.0.0/33", ""},
		{"10.0.0", ""},
		{"fe80::1%eth0", ""},
		{"", ""},
		{"example.com", ""},
	}
	for _, tt := range tests {
		got, err := token.ParsePrefix(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParsePrefix(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != netip.MustParsePrefix(tt.want) {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestFieldViolation(t *testing.T) {
	got := token.FieldViolation("bad", "accessRules", 2, "ip", 0)
	want := token.Violation{Field: "accessRules[2].ip[0]", Pointer: "/accessRules/2/ip/0", Problem: "bad"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FieldViolation() = %+v, want %+v", got, want)
	}
	if got := token.FieldViolation("x", "a/b~c").Pointer; got != "/a~1b~0c" {
		t.Errorf("FieldViolation(a/b~c).Pointer = %q, want /a~1b~0c", got)
	}
}

func TestSignedURLs(t *testing.T) {
	urls, err := token.SignedURLs("f33zs165nr7gyfy4", "TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	base := "https://customer-f33zs165nr7gyfy4.cloudflarestream.com/TOKEN/"
	want := token.URLs{
		Iframe: base + "iframe", Watch: base + "watch", HLS: base + "manifest/video.m3u8", DASH: base + "manifest/video.mpd",
		Thumbnail: base + "thumbnails/thumbnail.jpg", Download: base + "downloads/default.mp4",
	}
	if urls != want {
		t.Errorf("SignedURLs() = %+v\nwant %+v", urls, want)
	}
	for _, code := range []string{"", "Upper", "a.b", "x/y", "a b"} {
		if _, err := token.SignedURLs(code, "T"); !errors.Is(err, token.ErrCustomerCode) {
			t.Errorf("SignedURLs(%q) error = %v, want ErrCustomerCode", code, err)
		}
	}
}
