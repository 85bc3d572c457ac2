package streamtokentest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/streamtokentest"
)

func ExampleNewServer() {
	srv := streamtokentest.NewServer()
	defer srv.Close()

	// srv.NewClient is ready; any client works with srv.URL and srv.APIToken.
	tok, err := srv.NewClient().CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a",
		streamtoken.TokenRequest{Downloadable: true})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := srv.Verifier.Verify(tok.Value)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.VideoID, claims.Downloadable)
	// Output: ea95132c15732412d22c1476fa83f27a true
}

func ExampleServer_FailNext() {
	srv := streamtokentest.NewServer()
	defer srv.Close()

	srv.FailNext(1, streamtokentest.RateLimited(time.Second))
	_, err := srv.NewClient().CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a", streamtoken.TokenRequest{})
	fmt.Println(errors.Is(err, streamtoken.ErrRateLimited))
	// Output: true
}
