package standin_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/standin"
	"github.com/streamtoken/streamtoken/store"
)

// The token server with the Cloudflare stand-in beside its core, on one
// store: what `streamtoken serve` runs. The stand-in keeps the videos'
// settings, takes direct uploads, and tells token issuance which videos
// exist.
func Example() {
	st := store.NewMemory(0) // the keys and the media's details, in one place
	media := &standin.Service{Store: st}
	srv, err := server.New(server.Config{Credentials: []server.Credential{{Token: "an-api-token"}}, Store: st, Media: media})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("an-api-token"), streamtoken.WithBaseURL(ts.URL+server.BasePath))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	const account = "023e105f4ecef8ad9ca31a8372d0c353"
	up, err := c.CreateDirectUpload(ctx, account, streamtoken.DirectUpload{MaxDuration: time.Minute, RequireSignedURLs: true})
	if err != nil {
		log.Fatal(err)
	}
	v, err := c.Video(ctx, account, up.VideoID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("secured from its creation:", v.RequireSignedURLs, v.State)
	if _, err := c.CreateToken(ctx, account, up.VideoID, streamtoken.TokenRequest{}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("a token for it")
	// Output:
	// secured from its creation: true pendingupload
	// a token for it
}
