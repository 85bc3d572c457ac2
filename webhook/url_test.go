package webhook

import (
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	exact := "https://example.com/" + strings.Repeat("x", MaxURLBytes-len("https://example.com/"))
	for raw, want := range map[string]string{
		"https://example.com/hook?x=1": "",
		"http://203.0.113.7:8080/":     "",
		exact:                          "",
		exact + "x":                    "is 2049 bytes, over 2048",
		"":                             "is required",
		"https://example.com/%zz":      "is not a URL",
		"example.com/hook":             "is not an http or https URL",
		"ftp://example.com/":           "is not an http or https URL",
		"https:///hook":                "has no host",
		"https://u:p@example.com/":     "has a user or password",
		"https://example.com/#top":     "has a fragment",
	} {
		if got := CheckURL(raw); (want == "") != (got == "") || !strings.HasPrefix(got, want) {
			t.Errorf("CheckURL(%.40q) = %q, want %q", raw, got, want)
		}
	}
}
