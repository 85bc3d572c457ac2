package streamtoken_test

// The README's Go snippets, compiled: each region between "// snippet:NAME"
// and "// end snippet" is a block of the README, word for word (the
// command line's TestREADMESnippets holds them equal). The functions
// around them give the snippets their variables; TestREADMESnippetsRun
// runs those that need no network against streamtokentest.

import (
	"context"
	"errors"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

func readmeClient(ctx context.Context, accountID, videoID string) error {
	// snippet:client
	c, err := streamtoken.NewClient(
		streamtoken.WithAPIToken(os.Getenv("CLOUDFLARE_API_TOKEN")),
		// Leave out for Cloudflare's API. For `make run`'s server, its URL with
		// the API's /client/v4 (a 404 without it says so):
		streamtoken.WithBaseURL("http://127.0.0.1:8787/client/v4"),
	)
	if err != nil {
		return err
	}
	tok, err := c.CreateToken(ctx, accountID, videoID, streamtoken.TokenRequest{
		ExpiresAt:    time.Now().Add(2 * time.Hour), // zero: the API's default, one hour
		Downloadable: true,
		AccessRules: []token.Rule{
			{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX"}},
			{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24", "2400:cb00::/32"}},
			{Type: token.RuleAny, Action: token.ActionBlock},
		},
	})
	if err != nil {
		var apiErr *streamtoken.APIError
		switch {
		case errors.Is(err, streamtoken.ErrInvalid): // refused before sending (a *token.ValidationError) or by the API
		case errors.Is(err, streamtoken.ErrAuthentication):
		case errors.As(err, &apiErr): // apiErr.StatusCode, apiErr.Errors[i].Code/.Message/.Pointer, apiErr.RayID, apiErr.Attempts, apiErr.Hint
		}
		return err
	}
	urls, err := tok.URLs("f33zs165nr7gyfy4") // urls.Iframe, .Watch, .HLS, .DASH, .Thumbnail, .Download
	// end snippet
	_ = urls
	return err
}

func readmeSigningKeys(ctx context.Context, c *streamtoken.Client, dir, accountID string) error {
	// snippet:signing-keys
	key, err := c.CreateSigningKey(ctx, accountID) // the only time its private half is shown
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "key.json")
	if err := os.WriteFile(path, key.Export(), 0o600); err != nil { // the API's answer, kid included
		return err
	}
	signer, err := token.NewSigner(key.Key) // or streamtoken.WithSigningKeyFile(path) for a client that signs
	if err != nil {
		return err
	}
	keys, err := c.ListSigningKeys(ctx, accountID) // []SigningKeyInfo{ID, Created}
	if err != nil {
		return err
	}
	err = c.DeleteSigningKey(ctx, accountID, key.ID)
	// end snippet
	_, _ = signer, keys
	return err
}

func readmeRateLimits(ctx context.Context, apiToken, accountID, videoID string) error {
	// snippet:budget
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken(apiToken),
		streamtoken.WithRequestBudget(streamtoken.CloudflareRequests/2, streamtoken.CloudflareWindow)) // two processes share the token
	if err != nil {
		return err
	}
	tok, err := c.CreateToken(ctx, accountID, videoID, streamtoken.TokenRequest{})
	var apiErr *streamtoken.APIError
	if errors.As(err, &apiErr) && errors.Is(err, streamtoken.ErrRateLimited) && apiErr.RateLimit != nil {
		log.Printf("locked out until %v", apiErr.RateLimit.Reset) // come back then, or sign locally
	}
	// end snippet
	_ = tok
	return err
}

func readmeLocal(ctx context.Context, accountID, videoID string, req streamtoken.TokenRequest) error {
	// snippet:local
	c, err := streamtoken.NewClient(streamtoken.WithSigningKeyFile("key.json")) // as keys create --out saved it, or a JWK
	// or streamtoken.WithSigner(signer): a PEM key given its ID, or a KMS key (token.NewCryptoSigner)
	if err != nil {
		return err
	}
	tok, err := c.CreateToken(ctx, accountID, videoID, req) // tok.Local == true
	// end snippet
	_ = tok
	return err
}

func readmeSecure(ctx context.Context, c *streamtoken.Client, accountID, videoID, inputID string) error {
	// snippet:secure
	v, err := c.SecureVideo(ctx, accountID, videoID, streamtoken.Security{
		RequireSignedURLs: new(true),
		AllowedOrigins:    streamtoken.Origins("example.com"),
	})
	if err != nil {
		return err
	}
	// v.RequireSignedURLs, v.AllowedOrigins; c.Video reads them again.
	li, err := c.SecureLiveInput(ctx, accountID, inputID, streamtoken.Security{RequireSignedURLs: new(true)})
	// end snippet
	_, _ = v, li
	return err
}

func readmeAudit(ctx context.Context, c *streamtoken.Client, accountID string) error {
	// snippet:audit
	up, err := c.CreateDirectUpload(ctx, accountID, streamtoken.DirectUpload{MaxDuration: time.Hour,
		RequireSignedURLs: true, AllowedOrigins: []string{"example.com"}, Name: "launch.mp4"})
	if err != nil {
		return err
	}
	log.Printf("upload %s", up.VideoID) // up.URL takes the upload: hand it to the uploader alone
	for v, err := range c.ListVideos(ctx, accountID, streamtoken.VideoFilter{}) {
		if err != nil {
			return err
		}
		if !v.RequireSignedURLs || len(v.AllowedOrigins) == 0 {
			if _, err := c.SecureVideo(ctx, accountID, v.ID, streamtoken.Security{
				RequireSignedURLs: new(true), AllowedOrigins: streamtoken.Origins("example.com")}); err != nil {
				return err
			}
		}
	}
	// end snippet
	return nil
}

func readmeSignLocally(ctx context.Context, keyFile, accountID, videoID string) error {
	// snippet:sign
	key, err := token.ReadPrivateKey(keyFile) // key.json as keys create saved it (kid included), a JWK, or PEM
	if err != nil {
		return err
	}
	if key.ID == "" { // a PEM file has no kid: give the key's ID, as the API named it
		key.ID = "5213cfa121f70b8c1380686ffc371ba3"
	}
	signer, err := token.NewSigner(key) // token.WithClock(now) to set its clock; any crypto.Signer via NewCryptoSigner
	if err != nil {
		return err
	}
	tok, signed, err := signer.Sign(token.Request{ // signed: the claims, as signed
		VideoID:   videoID,
		ExpiresAt: time.Now().Add(2 * time.Hour), // zero: one hour from now; at most 24 h
		AccessRules: []token.Rule{
			{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24"}},
			{Type: token.RuleAny, Action: token.ActionBlock},
		},
	})
	if err != nil {
		return err
	}

	verifier, err := token.NewVerifier([]*token.Key{signer.PublicKey()}, token.WithLeeway(time.Minute)) // or keys from token.ParseJWKS
	if err != nil {
		return err
	}
	claims, err := verifier.Verify(tok) // errors.Is: ErrExpired, ErrNotYetValid, ErrSignature, ErrAlgorithm, ErrUnknownKey, ErrMalformed
	if err != nil {
		return err
	}

	policy, err := token.NewPolicy(claims.AccessRules)
	if err != nil {
		return err
	}
	decision := policy.Evaluate(token.Viewer{IP: netip.MustParseAddr("93.184.216.34"), Country: "GB"})
	// decision.Allowed == true, decision.RuleIndex == 0, decision.String() == "allowed by rule 1 (of 2)"

	urls, err := token.SignedURLs("f33zs165nr7gyfy4", tok) // Iframe, Watch, HLS, DASH, Thumbnail, Download
	// end snippet
	_, _, _ = signed, decision, urls
	return err
}

func readmeKeySet(ctx context.Context, accountID, tok string) error {
	// snippet:keyset
	// An account's JWK set on a token server, fetched when needed, refreshed
	// from 30 s on and never used past 60 s (streamtoken.KeySetMaxAge to change):
	jwksURL, err := streamtoken.KeySetURL("https://tokens.example.com/client/v4", accountID)
	if err != nil {
		return err
	}
	set, err := streamtoken.NewKeySet(jwksURL) // https://tokens.example.com/.well-known/jwks/<accountID>.json
	if err != nil {
		return err
	}
	claims, err := set.Verify(ctx, tok)
	// end snippet
	_ = claims
	return err
}

func readmeCrypto(key *token.Key) error {
	// snippet:crypto
	signer, err := token.NewSigner(key, token.WithCrypto(token.CryptoAuto)) // the default; or CryptoOpenSSL (an error without libcrypto), CryptoGo
	if err != nil {
		return err
	}
	use, version, _ := token.ResolveCrypto(token.CryptoAuto) // what auto is here, without a signer
	// signer.Crypto() == use == token.CryptoOpenSSL, version == "OpenSSL 3.0.19 27 Jan 2026"
	// end snippet
	_, _, _ = use, version, signer
	return err
}

func readmeFake(accountID, videoID string, key, key2 *token.Key, at time.Time, gen func() (*token.Key, error), tok *streamtoken.Token) error {
	// snippet:fake
	srv := streamtokentest.NewServer(
		streamtokentest.WithAccountKey(accountID, key), // default: a key generated per account, on its first token
		streamtokentest.WithSigningKey(key2),           // or one key for every account without its own
		streamtokentest.WithCredentials(server.Credential{Token: "t", Accounts: []string{accountID}}),
		streamtokentest.WithClock(func() time.Time { return at }),
		streamtokentest.WithVideos(videoID),   // these videos exist, and those a direct upload makes (default: every valid ID)
		streamtokentest.WithKeyGenerator(gen), // keys the server makes, without spending CPU on RSA in tests
	)
	defer srv.Close()                                  // safe twice
	c := srv.NewClient()                               // our client for srv.URL, as srv.APIToken ("t" here), retries off
	as := srv.NewClient(streamtoken.WithAPIToken("t")) // its own credentials take the server's place
	hc := srv.Client()                                 // an *http.Client, as httptest's
	claims, err := srv.Verify(accountID, tok.Value)    // against the account's set as it is now: none of another account's keys
	if err != nil {
		return err
	}
	set, err := streamtoken.NewKeySet(srv.JWKSURL(accountID)) // the account's set, as a verifier fetches it
	if err != nil {
		return err
	}
	public, err := srv.SigningKey(accountID)                  // the public half of what signs the account's tokens
	srv.FailNext(2, streamtokentest.RateLimited(time.Second)) // or InternalError(), or any Failure
	// Any operation fails as told:
	srv.FailNext(1, streamtokentest.Failure{Operation: "CreateSigningKey", Status: 503, Code: apicode.StoreUnavailable, Message: "down"})
	tokenServer := srv.TokenServer // the *server.Server behind it
	// end snippet
	_, _, _, _, _, _, _ = c, as, hc, claims, set, public, tokenServer
	return err
}

// The snippets that need a network (Cloudflare's API, a server of
// yours) are compiled, not run.
var _ = []any{readmeClient, readmeRateLimits, readmeKeySet}

// The snippets that need no network run against the fake.
func TestREADMESnippetsRun(t *testing.T) {
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	if err := readmeSigningKeys(ctx, c, t.TempDir(), testAccount); err != nil {
		t.Errorf("signing-keys: %v", err)
	}
	if err := readmeSecure(ctx, c, testAccount, testVideo, "in-1"); err != nil {
		t.Errorf("secure: %v", err)
	}
	if err := readmeAudit(ctx, c, testAccount); err != nil {
		t.Errorf("audit: %v", err)
	}
	for v, err := range c.ListVideos(ctx, testAccount, streamtoken.VideoFilter{}) {
		if err != nil || !v.RequireSignedURLs {
			t.Errorf("after the audit snippet: %+v, %v", v, err)
		}
	}
	if err := readmeSignLocally(ctx, filepath.Join(root, "token/testdata/rsa2048.pem"), testAccount, testVideo); err != nil {
		t.Errorf("sign: %v", err)
	}
	key, err := token.ReadPrivateKey(filepath.Join(root, "token/testdata/rsa2048.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key.ID = "k"
	if err := readmeCrypto(key); err != nil {
		t.Errorf("crypto: %v", err)
	}
	// The local client, with the key file where the snippet reads it.
	made, err := c.CreateSigningKey(ctx, testAccount)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := os.WriteFile("key.json", made.Export(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := readmeLocal(ctx, testAccount, testVideo, streamtoken.TokenRequest{}); err != nil {
		t.Errorf("local: %v", err)
	}
	other, err := token.ReadPrivateKey(filepath.Join(root, "token/testdata/rsa2048-b.pem"))
	if err != nil {
		t.Fatal(err)
	}
	other.ID = "k2"
	tok, err := streamtokentest.NewServer(streamtokentest.WithAccountKey(testAccount, key)).NewClient().CreateToken(ctx, testAccount, testVideo, streamtoken.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	gen := func() (*token.Key, error) { return other, nil }
	if err := readmeFake(testAccount, testVideo, key, other, time.Now(), gen, tok); err != nil {
		t.Errorf("fake: %v", err)
	}
}
