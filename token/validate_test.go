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
		opts token.Request
		want []string // "field: problem" prefixes, in order
	}{
		{name: "defaults", opts: token.Request{VideoID: "v"}},
		{name: "exp exactly 24h", opts: token.Request{VideoID: "v", ExpiresAt: now.Add(24 * time.Hour)}},
		{name: "exp one second past 24h", opts: token.Request{VideoID: "v", ExpiresAt: now.Add(24*time.Hour + time.Second)}, want: []string{"exp: must be at most 24h"}},
		{name: "exp 48h", opts: token.Request{VideoID: "v", ExpiresAt: now.Add(48 * time.Hour)}, want: []string{"exp: must be at most 24h"}},
		{name: "exp now", opts: token.Request{VideoID: "v", ExpiresAt: now}, want: []string{"exp: must be after now"}},
		{name: "exp zero unix", opts: token.Request{VideoID: "v", ExpiresAt: time.Unix(0, 0)}, want: []string{"exp: must be after now"}},
		{name: "nbf equals exp", opts: token.Request{VideoID: "v", ExpiresAt: now.Add(time.Hour), NotBefore: now.Add(time.Hour)}, want: []string{"nbf: must be before exp"}},
		{name: "nbf in the future before exp", opts: token.Request{VideoID: "v", ExpiresAt: now.Add(3 * time.Hour), NotBefore: now.Add(time.Hour)}},
		{name: "nbf after default exp", opts: token.Request{VideoID: "v", NotBefore: now.Add(2 * time.Hour)}, want: []string{"nbf: must be before exp"}},
		{name: "no video", opts: token.Request{}, want: []string{"VideoID: is required"}},
		{name: "video too long", opts: token.Request{VideoID: strings.Repeat("a", 33)}, want: []string{"VideoID: must be at most 32"}},
		{name: "video with space", opts: token.Request{VideoID: "a b"}, want: []string{"VideoID: must be printable ASCII"}},
		{name: "six rules", opts: token.Request{VideoID: "v", AccessRules: six}, want: []string{"accessRules: must hold at most 5"}},
		{name: "five rules", opts: token.Request{VideoID: "v", AccessRules: six[:5]}},
		{name: "unknown action and type", opts: token.Request{VideoID: "v", AccessRules: []token.Rule{rule("ip.dst", "deny", nil, nil)}},
			want: []string{"accessRules[0].action: must be", "accessRules[0].type: must be"}},
		{name: "ip.src rule empty", opts: token.Request{VideoID: "v", AccessRules: []token.Rule{rule(token.RuleIPSrc, token.ActionAllow, nil, nil)}},
			want: []string{"accessRules[0].ip: an ip.src rule needs"}},
		{name: "any rule with values", opts: token.Request{VideoID: "v", AccessRules: []token.Rule{rule(token.RuleAny, token.ActionAllow, []string{"US"}, []string{"10.0.0.0/8"})}},
			want: []string{"accessRules[0].ip: an any rule takes no addresses", "accessRules[0].country: an any rule takes no countries"}},
		{name: "country rule with addresses", opts: token.Request{VideoID: "v", AccessRules: []token.Rule{rule(token.RuleCountry, token.ActionAllow, []string{"US"}, []string{"10.0.0.0/8"})}},
			want: []string{"accessRules[0].ip: an ip.geoip.country rule takes no addresses"}},
		{name: "country rule empty", opts: token.Request{VideoID: "v", AccessRules: []token.Rule{rule(token.RuleCountry, token.ActionBlock, nil, nil)}},
			want: []string{"accessRules[0].country: an ip.geoip.country rule needs"}},
		{name: "lower-case country", opts: token.Request{VideoID: "v", AccessRules: []token.Rule{rule(token.RuleCountry, token.ActionBlock, []string{"us"}, nil)}},
			want: []string{`accessRules[0].country[0]: "us" is not`}},
		{name: "zone in address", opts: token.Request{VideoID: "v", AccessRules: []token.Rule{rule(token.RuleIPSrc, token.ActionBlock, nil, []string{"fe80::1%eth0"})}},
			want: []string{`accessRules[0].ip[0]: "fe80::1%eth0" is not`}},
		{name: "many problems in one", opts: token.Request{ExpiresAt: now.Add(-time.Hour), AccessRules: []token.Rule{rule(token.RuleIPSrc, token.ActionAllow, []string{"US"}, []string{"300.1.1.1"})}},
			want: []string{"VideoID:", "exp:", "accessRules[0].country: an ip.src rule takes no countries", "accessRules[0].ip[0]:"}},
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
		"@A": false, "[A": false, "A@": false, "A[": false, // just outside A to Z on each side
		"AZ": true, "ZA": true, "ZW": true, "AD": true,
		"JJ": false, "BX": false, // well-formed, unknown to the region table
	} {
		t.Run(c, func(t *testing.T) {
			if got := token.IsCountry(c); got != want {
				t.Errorf("IsCountry(%q) = %v, want %v", c, got, want)
			}
		})
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
		{"::ffff:0.0.0.0/96", "0.0.0.0/0"},     // exactly the mapped range: unmapped
		{"::ffff:0.0.0.0/95", "::fffe:0:0/95"}, // wider than it: left as IPv6
		{"::ffff:1.2.3.4/128", "1.2.3.4/32"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := token.ParsePrefix(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Errorf("ParsePrefix(%q) = %v, want an error", tt.in, got)
				} else if !strings.Contains(err.Error(), "is not an IP address or CIDR") {
					t.Errorf("ParsePrefix(%q) error = %q, want it to say what is wrong", tt.in, err)
				}
				return
			}
			if err != nil || got != netip.MustParsePrefix(tt.want) {
				t.Errorf("ParsePrefix(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSignedURLs(t *testing.T) {
	const tok = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln-_"
	urls, err := token.SignedURLs("f33zs165nr7gyfy4", tok)
	if err != nil {
		t.Fatal(err)
	}
	base := "https://customer-f33zs165nr7gyfy4.cloudflarestream.com/" + tok + "/"
	want := token.URLs{
		Iframe: base + "iframe", Watch: base + "watch", HLS: base + "manifest/video.m3u8", DASH: base + "manifest/video.mpd",
		Thumbnail: base + "thumbnails/thumbnail.jpg", Download: base + "downloads/default.mp4",
	}
	if urls != want {
		t.Errorf("SignedURLs() = %+v\nwant %+v", urls, want)
	}
}

func TestCheckCustomerCode(t *testing.T) {
	tests := []struct {
		code string
		ok   bool
	}{
		{"f33zs165nr7gyfy4", true},
		{"a", true},
		{"0", true},
		{"z9", true},
		{strings.Repeat("a", 53), true},
		{strings.Repeat("a", 54), true},
		{strings.Repeat("a", 55), false},
		{strings.Repeat("a", 63), false},
		{"", false},
		{"Upper", false},
		{"a.b", false},
		{"x/y", false},
		{"a b", false},
		{"a-b", false},
		{"`", false}, // just below a
		{"{", false}, // just above z
		{"/", false}, // just below 0
		{":", false}, // just above 9
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := token.CheckCustomerCode(tt.code)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, token.ErrCustomerCode)) {
				t.Errorf("CheckCustomerCode(%q) = %v, want ok %v", tt.code, err, tt.ok)
			}
			_, err = token.SignedURLs(tt.code, "a.b.c")
			if (err == nil) != tt.ok {
				t.Errorf("SignedURLs(%q, a.b.c) = %v, want ok %v", tt.code, err, tt.ok)
			}
		})
	}
}

func TestSignedURLsRefuseWhatIsNoToken(t *testing.T) {
	for _, tok := range []string{
		"", "a", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.", "/../../x?y=#/iframe",
		"a.b.c/..", "a.b.c?x", "a.b.c#", "a.b=.c", "a.b+c.d", "a b.c.d", "a.b.c\n", "é.b.c",
	} {
		if _, err := token.SignedURLs("abc", tok); !errors.Is(err, token.ErrMalformed) {
			t.Errorf("SignedURLs(abc, %q) = %v, want ErrMalformed", tok, err)
		} else if len(tok) > 3 && strings.Contains(err.Error(), tok) {
			t.Errorf("SignedURLs(abc, %q) error %q holds the token", tok, err)
		}
	}
	for _, tok := range []string{"a.b.c", "AZaz09-_.AZaz09-_.AZaz09-_"} {
		if _, err := token.SignedURLs("abc", tok); err != nil {
			t.Errorf("SignedURLs(abc, %q) = %v, want nil", tok, err)
		}
	}
}

func TestFieldViolation(t *testing.T) {
	got := token.FieldViolation("bad", "accessRules", 2, "ip", 0)
	want := token.Violation{Field: "accessRules[2].ip[0]", Pointer: "/accessRules/2/ip/0", Problem: "bad"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("token.FieldViolation() = %+v, want %+v", got, want)
	}
	if got := token.FieldViolation("x", "a/b~c").Pointer; got != "/a~1b~0c" {
		t.Errorf("token.FieldViolation(a/b~c).Pointer = %q, want /a~1b~0c", got)
	}
}
