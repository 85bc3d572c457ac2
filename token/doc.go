// Package token makes, checks and reads Cloudflare Stream's signed URL
// tokens locally: no API call, no rate limit. Cloudflare recommends signing
// tokens yourself above about a thousand a day.
//
// A [Signer] signs a [Request] with a Stream signing key (from [ParseKey],
// which reads every form Cloudflare hands out, from [GenerateKey], or any
// crypto.Signer), after checking it against the same rules the API
// enforces. A [Verifier] checks a token's signature (RS256 only), kid, exp
// and nbf. A [Policy] evaluates a token's access rules for a [Viewer].
// [SignedURLs] builds the URLs a viewer uses the token with.
//
// Signers and verifiers are configured with [Option]s, [WithClock] and
// [WithLeeway], which return an error for a bad value rather than panic.
//
// The package is pure: no I/O, no net/http, and the time always comes from
// a clock the caller may set. Rules of the API's paths (account and video
// IDs in a URL) are the client's and the server's, not this package's: it
// checks a video ID only as a token's sub.
//
// A token is a JWT whose header is exactly {"alg":"RS256","kid":KID} and
// whose claims are sub (the video ID), kid, exp, nbf and, when set,
// accessRules, downloadable and flags. Tokens are written with exp and nbf
// as JSON numbers and read with them as numbers or numeric strings, as
// Cloudflare's API writes them.
package token
