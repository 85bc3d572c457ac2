package streamtoken

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/token"
)

// TestTokenRequestIsGenerated holds the client's own builder of the token
// request to the generated one: the same method, URL, headers and body,
// for base URLs and IDs that need escaping.
func TestTokenRequestIsGenerated(t *testing.T) {
	bodies := []gen.TokenRequest{
		wire.Body(token.Request{VideoID: "v"}, "", ""),
		wire.Body(token.Request{VideoID: "v", Downloadable: true, AccessRules: []token.Rule{{Type: token.RuleAny, Action: token.ActionBlock}}}, "kid", "cGVt"),
	}
	for _, base := range []string{
		"https://api.cloudflare.com/client/v4",
		"http://127.0.0.1:8787/client/v4/",
		"http://host/a%20b/client/v4",
		"http://user:secret@host:1/v4",
	} {
		c, err := NewClient(WithAPIToken("t"), WithBaseURL(base))
		if err != nil {
			t.Fatalf("NewClient(%q) error = %v", base, err)
		}
		for _, ids := range [][2]string{
			{"023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a"},
			{"a b", "a%b"}, {"a?b", "a#b"}, {"a;b,c", "a+b=c"}, {"~x'y", `a"b`}, {"a:b", "@x"},
		} {
			for _, body := range bodies {
				ours, err := c.tokenRequest(context.Background(), ids[0], ids[1], body)
				if err != nil {
					t.Fatal(err)
				}
				want, err := gen.NewCreateStreamTokenRequest(c.gen.Server, ids[0], ids[1], body)
				if err != nil {
					t.Fatal(err)
				}
				c.setHeaders(want)
				if ours.Method != want.Method || ours.URL.String() != want.URL.String() {
					t.Errorf("base %q, IDs %q: %s %s, want %s %s", base, ids, ours.Method, ours.URL, want.Method, want.URL)
				}
				if len(ours.Header) != len(want.Header) {
					t.Errorf("base %q: headers %v, want %v", base, ours.Header, want.Header)
				}
				for name := range want.Header {
					if ours.Header.Get(name) != want.Header.Get(name) {
						t.Errorf("base %q: header %s = %q, want %q", base, name, ours.Header.Get(name), want.Header.Get(name))
					}
				}
				if got, exp := readAll(t, ours), readAll(t, want); !bytes.Equal(got, exp) || ours.ContentLength != want.ContentLength {
					t.Errorf("body %s (length %d), want %s (length %d)", got, ours.ContentLength, exp, want.ContentLength)
				}
				if ours.GetBody == nil {
					t.Error("the request's body cannot be replayed for a retry")
				}
			}
		}
	}
}

func readAll(t *testing.T, r *http.Request) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
