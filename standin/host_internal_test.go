package standin

import (
	"net/url"
	"testing"
)

func TestValidHost(t *testing.T) {
	for host, want := range map[string]bool{
		"example.com": true, "stream.example.com:8443": true, "127.0.0.1": true, "127.0.0.1:8787": true,
		"[::1]": true, "[::1]:8787": true, "localhost": true, "a-b.example.": true,
		"": false, "a]b[:::": false, "[::1": false, "::1": false, "[fe80::1%eth0]": false, "[127.0.0.1]": false,
		"example.com:": false, "example.com:0": false, "example.com:65536": false, "example.com:08": false,
		"-a.example.com": false, "a..b": false, "a_b.example.com": false, "exa mple.com": false,
		"example.com/x": false, "user@example.com": false, "example.com:80:80": false,
	} {
		if got := validHost(host); got != want {
			t.Errorf("validHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// FuzzValidHost: a Host header validHost takes makes a URL whose host is
// that header, and nothing else.
func FuzzValidHost(f *testing.F) {
	for _, s := range []string{"example.com:8443", "[::1]:80", "127.0.0.1", "a]b[:::", "x/y", "[fe80::1%eth0]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !validHost(host) {
			return
		}
		u, err := url.Parse("http://" + host + "/upload/a/b")
		if err != nil || u.Host != host || u.Path != "/upload/a/b" || u.User != nil {
			t.Fatalf("validHost(%q) = true, but http://HOST/upload/a/b parses as %v, %v", host, u, err)
		}
	})
}
