package streamtoken_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken"
)

// The default User-Agent carries the module's version from the build, not
// a number written by hand.
func TestUserAgentCarriesTheBuildsVersion(t *testing.T) {
	if streamtoken.Version == "" || streamtoken.Version == "0.1.0" {
		t.Errorf("Version = %q, want the build's", streamtoken.Version)
	}
	got := make(chan string, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.UserAgent()
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer ts.Close()
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("t"), streamtoken.WithBaseURL(ts.URL+"/client/v4"), streamtoken.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
	if ua := <-got; !strings.HasPrefix(ua, "streamtoken/"+streamtoken.Version+" ") {
		t.Errorf("User-Agent = %q, want streamtoken/%s", ua, streamtoken.Version)
	}
}
