// Package streamtoken is a client for Cloudflare Stream's signed URL tokens:
// POST /accounts/{account_id}/stream/{identifier}/token.
//
// A [Client] holds the credentials (an API token, or an email and a global
// API key), checks every request against the API's rules before sending it
// (so a bad request costs no round trip and no rate limit), retries what is
// worth retrying, and turns every failure into an [*APIError] that works with
// errors.Is and errors.As:
//
//	c, err := streamtoken.NewClient(streamtoken.WithAPIToken(apiToken))
//	...
//	tok, err := c.CreateToken(ctx, accountID, videoID, streamtoken.TokenRequest{
//		ExpiresAt: time.Now().Add(2 * time.Hour),
//		AccessRules: []token.Rule{
//			{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US"}},
//		},
//	})
//
// Above about a thousand tokens a day, sign them yourself with a Stream
// signing key instead: [Client.CreateSigningKey] gets one (a [SigningKey]
// that signs at once and prints no secret), [Client.ListSigningKeys] and
// [Client.DeleteSigningKey] manage and rotate them, and package
// [github.com/streamtoken/streamtoken/token] signs, verifies and evaluates
// tokens with no API call. The same call does it: a client given a key
// ([WithSigningKeyFile], [WithSigner]) signs CreateToken's tokens itself.
//
// Cloudflare's API allows 1,200 requests per 5 minutes per token, and
// locks a token out for 5 minutes past that. The client reads the limit
// an answer states ([RateLimit]), does not retry a lockout
// ([WithMaxRateLimitWait]), and can keep itself under a budget
// ([WithRequestBudget]).
//
// Failures carry a [Code], the one type of the envelope's codes that the
// server and streamtokentest answer with too. A [KeySet] verifies tokens
// against a JWK set that a server publishes, fetched when needed, cached and
// bounded.
//
// The client is a thin layer over the code that oapi-codegen generates from
// openapi/stream-token.yaml, in package
// [github.com/streamtoken/streamtoken/gen]; [Client.Generated] reaches it.
//
// # One type per layer
//
// A key and a token request have a type in each layer they cross, each for
// what that layer needs of them; conversions between them are in one place
// each (internal/wire for the wire's, the client for its own):
//
//	layer       key                                          token request
//	wire (gen)  gen.SigningKey (created: id, pem, jwk),      gen.TokenRequest (the body)
//	            gen.SigningKeyInfo (listed: id, created)
//	client      SigningKey (created, signs, redacts itself), TokenRequest (times as time.Time,
//	            SigningKeyInfo (listed)                      rules as token.Rule)
//	signer      token.Key (an RSA key with its ID;           token.Request (what the token
//	            private, or public alone)                    grants: the video, times, rules)
//	store       store.Key (an account's token.Key, public,   none: a request is never kept
//	            with its creation time)
//
// # Clocks and logs
//
// A clock is given one way per kind of constructor: WithClock where a
// constructor takes options (this package's NewClient, token's NewSigner
// and NewVerifier, streamtokentest's NewServer), the Now field where a
// type is configured by a struct (server.Config, and the services it is
// made of); nil is time.Now. A server gives its clock to what it builds.
// A logger is a field or an option too, and nothing logs unless given one:
// no package falls back to slog's default logger.
package streamtoken
