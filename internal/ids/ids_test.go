package ids

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		id, want string // want: a prefix of the problem, "" for none
	}{
		{"ea95132c15732412d22c1476fa83f27a", ""},
		{"a-b_c.d~", ""},
		{"!x", ""},
		{"...", ""},
		{"~", ""},
		{strings.Repeat("a", 31), ""},
		{strings.Repeat("a", 32), ""},
		{"a b", `must be printable ASCII without spaces, got " " at character 2`},
		{"", "is required"},
		{".", `must not be "."`},
		{"..", `must not be ".."`},
		{"a/b", `must not contain "/"`},
		{"/", `must not contain "/"`},
		{"a\r\nb", "must be printable ASCII"},
		{"a\x00", "must be printable ASCII"},
		{"\x7f", "must be printable ASCII"},
		{"vidéo", `must be printable ASCII without spaces, got "é" at character 4`},
		{strings.Repeat("a", 33), "must be at most 32 characters, got 33"},
		{strings.Repeat("é", 20), "must be printable ASCII"},
		{strings.Repeat("é", 32), "must be printable ASCII"},
		{strings.Repeat("é", 33), "must be at most 32 characters, got 33"}, // characters, not 66 bytes
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got := Check(tt.id)
			if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
				t.Errorf("Check(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}
