package streamtokentest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

func ExampleNewServer() {
	srv := streamtokentest.NewServer()
	defer srv.Close()

	// srv.NewClient is ready; any client works with srv.URL and srv.APIToken.
	const account = "023e105f4ecef8ad9ca31a8372d0c353"
	tok, err := srv.NewClient().CreateToken(context.Background(), account, "ea95132c15732412d22c1476fa83f27a",
		streamtoken.TokenRequest{Downloadable: true})
	if err != nil {
		log.Fatal(err)
	}
	// What a verifier of the account's videos accepts; it fetches the
	// account's JWK set, srv.JWKSURL(account), as a streamtoken.KeySet.
	claims, err := srv.Verify(account, tok.Value)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.VideoID, claims.Downloadable)
	// Another account's set does not hold the key that signed it.
	_, err = srv.Verify("9a7806061c88ada191ed06f989cc3dac", tok.Value)
	fmt.Println(errors.Is(err, token.ErrUnknownKey))
	// Output:
	// ea95132c15732412d22c1476fa83f27a true
	// true
}

func ExampleServer_FailNext() {
	srv := streamtokentest.NewServer()
	defer srv.Close()

	srv.FailNext(1, streamtokentest.RateLimited(time.Second))
	_, err := srv.NewClient().CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a", streamtoken.TokenRequest{})
	fmt.Println(errors.Is(err, streamtoken.ErrRateLimited))
	// Output: true
}
