package token_test

import (
	"encoding/base64"
	"fmt"
	"log"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/streamtoken/streamtoken/token"
)

func ExampleSigner_Sign() {
	pemFile, err := os.ReadFile("testdata/rsa2048.pem") // or the API's pem or jwk field
	if err != nil {
		log.Fatal(err)
	}
	key, err := token.ParsePrivateKey(pemFile)
	if err != nil {
		log.Fatal(err)
	}
	key.ID = "e9db990a82666dd571c77f944a5c5c8d" // the signing key's id
	now := func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }
	signer, err := token.NewSigner(key, token.WithClock(now))
	if err != nil {
		log.Fatal(err)
	}
	tok, claims, err := signer.Sign(token.Request{
		VideoID:   "ea95132c15732412d22c1476fa83f27a",
		ExpiresAt: now().Add(2 * time.Hour),
		AccessRules: []token.Rule{
			{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	fmt.Println(string(header))
	fmt.Println(string(payload))
	fmt.Println(claims.NotBefore.UTC())
	// Output:
	// {"alg":"RS256","kid":"e9db990a82666dd571c77f944a5c5c8d"}
	// {"sub":"ea95132c15732412d22c1476fa83f27a","kid":"e9db990a82666dd571c77f944a5c5c8d","exp":1795874400,"nbf":1795863600,"accessRules":[{"type":"ip.geoip.country","action":"block","country":["US","MX"]}]}
	// 2026-11-28 11:00:00 +0000 UTC
}

func ExampleVerifier_Verify() {
	now := func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }
	pemFile, _ := os.ReadFile("testdata/rsa2048.pem")
	key, err := token.ParsePrivateKey(pemFile)
	if err != nil {
		log.Fatal(err)
	}
	key.ID = "e9db990a82666dd571c77f944a5c5c8d"
	signer, _ := token.NewSigner(key, token.WithClock(now))
	tok, _, err := signer.Sign(token.Request{VideoID: "ea95132c15732412d22c1476fa83f27a"})
	if err != nil {
		log.Fatal(err)
	}

	// The verifier needs only the public key: from a PEM, a JWK or a JWK set.
	verifier, err := token.NewVerifier([]*token.Key{signer.PublicKey()}, token.WithClock(now))
	if err != nil {
		log.Fatal(err)
	}
	claims, err := verifier.Verify(tok)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.VideoID, claims.ExpiresAt.UTC().Format(time.RFC3339))

	later := token.WithClock(func() time.Time { return now().Add(3 * time.Hour) })
	verifier, _ = token.NewVerifier([]*token.Key{signer.PublicKey()}, later)
	_, err = verifier.Verify(tok)
	fmt.Println(err)
	// Output:
	// ea95132c15732412d22c1476fa83f27a 2026-11-28T13:00:00Z
	// token has expired (exp 2026-11-28T13:00:00Z)
}

func ExamplePolicy_Evaluate() {
	policy, err := token.NewPolicy([]token.Rule{
		{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX"}},
		{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24", "2400:cb00::/32"}},
		{Type: token.RuleAny, Action: token.ActionBlock},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range []token.Viewer{
		{IP: netip.MustParseAddr("93.184.216.34"), Country: "US"},
		{IP: netip.MustParseAddr("::ffff:93.184.216.34"), Country: "GB"},
		{IP: netip.MustParseAddr("2400:cb00::1"), Country: "JP"},
		{IP: netip.MustParseAddr("198.51.100.1"), Country: "DE"},
	} {
		fmt.Printf("%s from %s: %v\n", v.IP, v.Country, policy.Evaluate(v))
	}
	// Output:
	// 93.184.216.34 from US: blocked by rule 1 (of 3)
	// ::ffff:93.184.216.34 from GB: allowed by rule 2 (of 3)
	// 2400:cb00::1 from JP: allowed by rule 2 (of 3)
	// 198.51.100.1 from DE: blocked by rule 3 (of 3)
}

func ExampleSignedURLs() {
	urls, err := token.SignedURLs("f33zs165nr7gyfy4", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(urls.Iframe)
	fmt.Println(urls.HLS)
	fmt.Println(urls.Download)
	// Output:
	// https://customer-f33zs165nr7gyfy4.cloudflarestream.com/eyJhbGciOiJSUzI1NiJ9.e30.c2ln/iframe
	// https://customer-f33zs165nr7gyfy4.cloudflarestream.com/eyJhbGciOiJSUzI1NiJ9.e30.c2ln/manifest/video.m3u8
	// https://customer-f33zs165nr7gyfy4.cloudflarestream.com/eyJhbGciOiJSUzI1NiJ9.e30.c2ln/downloads/default.mp4
}
