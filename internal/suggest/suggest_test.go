package suggest

import "testing"

func TestClosest(t *testing.T) {
	known := []string{"token", "email", "key", "accounts", "video", "video-id", "account"}
	for _, c := range []struct{ name, want string }{
		{"tokn", "token"},
		{"toekn", "token"},
		{"acounts", "accounts"},
		{"emial", "email"},
		{"video", "video"},
		{"vidoe", "video"},
		{"video_id", "video-id"},
		{"videoid", "video-id"},
		{"ky", ""}, // one edit, but a third of two letters is none
		{"SECRET-TOKEN-123", ""},
		{"hunter2", ""},
		{"", ""},
		{"xyzzy", ""},
		{"token-SECRET", ""},
	} {
		if got := Closest(c.name, known); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.name, got, c.want)
		}
	}
	long := string(make([]byte, 65))
	if got := Closest(long, []string{long}); got != "" {
		t.Errorf("Closest(65 bytes) = %q, want none", got)
	}
}

func TestFlag(t *testing.T) {
	known := []string{"video", "account", "key"}
	for _, c := range []struct{ name, want string }{
		{"vidoe", "video"}, {"video-id", "video"}, {"account_id", "account"}, {"key-id", "key"}, {"keyfile", ""}, {"output", ""},
	} {
		if got := Flag(c.name, known); got != c.want {
			t.Errorf("Flag(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"", "ab", 2}, {"kitten", "sitting", 3}, {"token", "tokn", 1}, {"email", "emial", 1}, {"abc", "abc", 0}} {
		if got := distance(c.a, c.b); got != c.want {
			t.Errorf("distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func FuzzClosest(f *testing.F) {
	f.Add("tokn")
	f.Add("SECRET-TOKEN-123")
	f.Fuzz(func(t *testing.T, name string) {
		got := Closest(name, []string{"token", "email", "key", "accounts"})
		if got != "" && distance(name, got) > MaxDistance {
			t.Fatalf("Closest(%q) = %q, %d edits away", name, got, distance(name, got))
		}
	})
}
