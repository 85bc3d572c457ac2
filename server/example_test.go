package server_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/server"
)

func ExampleNew() {
	srv, err := server.New(server.Config{
		Credentials: []server.Credential{
			{Token: "an-api-token"},
			{Email: "user@example.com", Key: "a-global-key", Accounts: []string{"023e105f4ecef8ad9ca31a8372d0c353"}},
		},
		// Signer: nil gives each account an RSA-2048 key of its own, on its
		// first token; see AccountSigners, LoadKey and token.NewSigner.
	})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler()) // or srv.Serve(ctx, listener)
	defer ts.Close()

	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("an-api-token"), streamtoken.WithBaseURL(ts.URL+server.BasePath))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a", streamtoken.TokenRequest{})
	if err != nil {
		log.Fatal(err)
	}
	// The account's JWK set (GET /.well-known/jwks/{account_id}.json) now
	// holds the key its token was signed with.
	keys, err := srv.PublicKeys(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.VideoID, len(keys))
	// Output: ea95132c15732412d22c1476fa83f27a 1
}
