package gateway

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/internal/ids"
)

// FuzzForwardedPath: a path the gateway forwards has no segment that the
// upstream could read as a dot segment or as two segments, and the
// account it finds in a path is a valid ID, the path's own.
func FuzzForwardedPath(f *testing.F) {
	for _, p := range []string{
		"/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/stream",
		"/client/v4/accounts/a/%2e%2e/zones", "/client/v4/accounts/a%2Fb/stream", "/client/v4/zones%5c..",
		"/client/v4/accounts/%30%32%33/stream", "/client/v4/%", "/client/v4/accounts//x",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		if len(escaped) > 4096 {
			return
		}
		if ambiguousPath(escaped) == nil {
			for seg := range strings.SplitSeq(escaped, "/") {
				dec, err := url.PathUnescape(seg)
				if err != nil || dec == "." && seg != "." || dec == ".." && seg != ".." || strings.ContainsAny(dec, "/\\\\") && !strings.ContainsAny(seg, "/\\\\") {
					t.Fatalf("ambiguousPath(%q) = nil, but segment %q reads as %q", escaped, seg, dec)
				}
			}
		}
		path, err := url.PathUnescape(escaped)
		if err != nil {
			return
		}
		if a := accountOf(path); a != "" && (ids.Check(a) != "" || !strings.HasPrefix(path, accountsPrefix+a)) {
			t.Fatalf("accountOf(%q) = %q", path, a)
		}
	})
}

func TestACredentialRedactsItself(t *testing.T) {
	c := credential{bearer: "secret-bearer", email: "a@example.com", key: "secret-key"}
	b, _ := c.MarshalJSON()
	for _, s := range []string{c.String(), c.GoString(), c.LogValue().String(), string(b), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, "secret") {
			t.Errorf("a credential printed its secret: %s", s)
		}
	}
}
