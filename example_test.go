package streamtoken_test

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

func ExampleClient_CreateToken() {
	// A local token server stands in for the Cloudflare API here; in real
	// use leave out WithBaseURL and give your own API token.
	api := streamtokentest.NewServer()
	defer api.Close()

	c, err := streamtoken.NewClient(
		streamtoken.WithAPIToken(api.APIToken),
		streamtoken.WithBaseURL(api.URL),
	)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a",
		streamtoken.TokenRequest{
			ExpiresAt:    time.Now().Add(2 * time.Hour),
			Downloadable: true,
			AccessRules: []token.Rule{
				{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX"}},
			},
		})
	if err != nil {
		log.Fatal(err)
	}
	urls, err := tok.URLs("f33zs165nr7gyfy4")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok) // prints no token: use tok.Value
	fmt.Println(urls.Iframe[:55] + "...")
	// Output:
	// streamtoken.Token{AccountID: "023e105f4ecef8ad9ca31a8372d0c353", VideoID: "ea95132c15732412d22c1476fa83f27a", Value: [redacted]}
	// https://customer-f33zs165nr7gyfy4.cloudflarestream.com/...
}

func ExampleAPIError() {
	api := streamtokentest.NewServer()
	defer api.Close()

	c, err := streamtoken.NewClient(
		streamtoken.WithAPIToken("not-the-right-token"),
		streamtoken.WithBaseURL(api.URL),
	)
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a", streamtoken.TokenRequest{})

	var apiErr *streamtoken.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("status:", apiErr.StatusCode)
		for _, e := range apiErr.Errors {
			fmt.Println("error:", e.Code, e.Message)
		}
	}
	fmt.Println("authentication failure:", errors.Is(err, streamtoken.ErrAuthentication))
	// Output:
	// status: 401
	// error: 10000 Authentication error
	// authentication failure: true
}

// A request that breaks the API's rules is refused before it is sent, with
// every violation and where it lies.
func ExampleClient_CreateToken_validation() {
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken("your-api-token"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a",
		streamtoken.TokenRequest{
			ExpiresAt: time.Now().Add(48 * time.Hour),
			AccessRules: []token.Rule{
				{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"10.0.0.0/33"}},
			},
		})
	var invalid *token.ValidationError
	if errors.As(err, &invalid) {
		for _, v := range invalid.Violations {
			fmt.Println(v.Pointer)
		}
	}
	fmt.Println(errors.Is(err, streamtoken.ErrInvalid))
	// Output:
	// /exp
	// /accessRules/0/ip/0
	// true
}

// A token protects a video only once the video requires it: switch
// requireSignedURLs on (here against the fake, as a test would), and
// allow it to be embedded on one site.
func ExampleClient_SecureVideo() {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	const account, video = "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a"

	v, err := c.SecureVideo(ctx, account, video, streamtoken.Security{
		RequireSignedURLs: new(true),
		AllowedOrigins:    streamtoken.Origins("example.com"),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("requireSignedURLs:", v.RequireSignedURLs, "allowedOrigins:", v.AllowedOrigins)

	// A scheme is no origin: refused before anything is sent.
	_, err = c.SecureVideo(ctx, account, video, streamtoken.Security{AllowedOrigins: streamtoken.Origins("https://example.com")})
	fmt.Println(err)
	// Output:
	// requireSignedURLs: true allowedOrigins: [example.com]
	// streamtoken: invalid request: allowedOrigins[0]: must be a host name, without a scheme (example.com, not https://example.com)
}

// A client with a signing key signs CreateToken's tokens itself: the same
// request, checks and defaults as the API's, no call, no rate limit.
func ExampleWithSigner() {
	key, err := token.GenerateKey() // in real use, the key keys create saved: WithSigningKeyFile("key.json")
	if err != nil {
		log.Fatal(err)
	}
	signer, err := token.NewSigner(key)
	if err != nil {
		log.Fatal(err)
	}
	c, err := streamtoken.NewClient(streamtoken.WithSigner(signer)) // no credentials needed
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a",
		streamtoken.TokenRequest{AccessRules: []token.Rule{
			{Type: token.RuleCountry, Action: token.ActionAllow, Country: []string{"GB"}}, // and no block: see the message
		}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed here:", tok.Local)
	for _, m := range tok.Messages {
		fmt.Println(m.Code.Name(), m.Pointer)
	}
	// Output:
	// signed here: true
	// RulesRestrictNothing /accessRules/0
}

// Past Cloudflare's limit a token is locked out for five minutes: the
// client does not retry that, and says when it lifts.
func ExampleWithMaxRateLimitWait() {
	api := streamtokentest.NewServer(streamtokentest.WithRateLimit(1, streamtoken.CloudflareLockout)) // a fake with Cloudflare's lockout, at one request
	defer api.Close()
	c := api.NewClient(streamtoken.WithMaxRetries(3)) // WithMaxRateLimitWait: 5 s by default
	ctx := context.Background()
	if _, err := c.CreateToken(ctx, "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a", streamtoken.TokenRequest{}); err != nil {
		log.Fatal(err)
	}
	_, err := c.CreateToken(ctx, "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a", streamtoken.TokenRequest{})
	var apiErr *streamtoken.APIError
	if errors.As(err, &apiErr) && errors.Is(err, streamtoken.ErrRateLimited) {
		fmt.Println("attempts:", apiErr.Attempts)
		fmt.Println("lifts in about:", time.Until(apiErr.RateLimit.Reset).Round(time.Minute))
	}
	// Output:
	// attempts: 1
	// lifts in about: 5m0s
}

// Audit an account: create uploads secure from their first second, list
// the videos that play without a token, and secure them.
func ExampleClient_ListVideos() {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	const account = "023e105f4ecef8ad9ca31a8372d0c353"

	// One upload secured at creation, one not.
	if _, err := c.CreateDirectUpload(ctx, account, streamtoken.DirectUpload{MaxDuration: time.Hour,
		RequireSignedURLs: true, AllowedOrigins: []string{"example.com"}, Name: "launch.mp4"}); err != nil {
		log.Fatal(err)
	}
	if _, err := c.CreateDirectUpload(ctx, account, streamtoken.DirectUpload{MaxDuration: 10 * time.Minute,
		Name: "teaser.mp4", Creator: "team-a"}); err != nil {
		log.Fatal(err)
	}

	for v, err := range c.ListVideos(ctx, account, streamtoken.VideoFilter{}) {
		if err != nil {
			log.Fatal(err)
		}
		if v.RequireSignedURLs && len(v.AllowedOrigins) > 0 {
			continue
		}
		fmt.Printf("%s by %s plays without a token: securing it\n", v.Name, v.Creator)
		if _, err := c.SecureVideo(ctx, account, v.ID, streamtoken.Security{
			RequireSignedURLs: new(true),
			AllowedOrigins:    streamtoken.Origins("example.com"),
		}); err != nil {
			log.Fatal(err)
		}
	}
	open := 0
	for v, err := range c.ListVideos(ctx, account, streamtoken.VideoFilter{}) {
		if err != nil {
			log.Fatal(err)
		}
		if !v.RequireSignedURLs {
			open++
		}
	}
	fmt.Println("videos that play without a token:", open)
	// Output:
	// teaser.mp4 by team-a plays without a token: securing it
	// videos that play without a token: 0
}
