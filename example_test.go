package streamtoken_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/token"
)

// exampleAPI stands in for the Cloudflare API: it answers every token request
// with the token of the API reference's example, or with an authentication
// error when the API token is wrong.
func exampleAPI() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /client/v4/accounts/{account_id}/stream/{identifier}/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+testAPIToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}`)
			return
		}
		io.WriteString(w, `{"success":true,"errors":[],"messages":[],"result":{"token":"eyJhbGciOiJSUzI1NiIsImtpZCI6ImU5ZGI5OTBhODI2NjZkZDU3MWM3N2Y5NDRhNWM1YzhkIn0.eyJzdWIiOiJlYTk1MTMyYzE1NzMyNDEyZDIyYzE0NzZmYTgzZjI3YSJ9.c2ln"}}`)
	})
	return httptest.NewServer(mux)
}

func ExampleClient_CreateToken() {
	api := exampleAPI() // in real use: leave out WithBaseURL
	defer api.Close()

	c, err := streamtoken.NewClient(
		streamtoken.WithAPIToken(testAPIToken),
		streamtoken.WithBaseURL(api.URL+"/client/v4"),
	)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a",
		streamtoken.TokenRequest{
			ExpiresAt:    time.Now().Add(2 * time.Hour),
			Downloadable: true,
			AccessRules: []streamtoken.AccessRule{
				{Type: streamtoken.AccessRuleTypeIPGeoIPCountry, Action: streamtoken.AccessRuleActionBlock, Country: []string{"US", "MX"}},
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
	api := exampleAPI()
	defer api.Close()

	c, err := streamtoken.NewClient(
		streamtoken.WithAPIToken("not-the-right-token"),
		streamtoken.WithBaseURL(api.URL+"/client/v4"),
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
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken(testAPIToken))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.CreateToken(context.Background(), "023e105f4ecef8ad9ca31a8372d0c353", "ea95132c15732412d22c1476fa83f27a",
		streamtoken.TokenRequest{
			ExpiresAt: time.Now().Add(48 * time.Hour),
			AccessRules: []streamtoken.AccessRule{
				{Type: streamtoken.AccessRuleTypeIPSrc, Action: streamtoken.AccessRuleActionAllow, IP: []string{"10.0.0.0/33"}},
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
