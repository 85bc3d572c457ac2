// Package server is a Cloudflare-compatible token server: it serves
// POST /client/v4/accounts/{account_id}/stream/{identifier}/token on the
// same wire as Cloudflare's API, and signs tokens with its own keys.
//
// Teams run it to self-host the endpoint in front of their signing keys
// (the official clients work unchanged against it); tests run it through
// package streamtokentest. [New] builds it from a [Config]; [Server.Handler]
// is the http.Handler; [Server.Serve] runs it with timeouts, a cap on open
// connections (the longest idle closed to make room) and a graceful
// shutdown that closes what is left when it runs out of time. Like
// net/http's Server, it is configured by a struct: a server's settings are
// data an operator gives (files, flags), read in one place.
//
// The package is the core: token issuance, key sets, authentication, the
// signing queue, the token cache and metrics. The operations on videos and
// live inputs are not its own: a [Media] serves them beside it
// (Config.Media), the Cloudflare stand-in of package standin in the
// command's server and in streamtokentest's; token issuance asks nothing
// of the media but whether a video exists ([VideoChecker]).
//
// The server is assembled from building blocks that a server of one's own,
// built on the generated gen.StrictServerInterface, uses the same way: the
// services that serve the operations, [TokenService] (with a
// [SigningQueue] and a [TokenCache]) and [KeyService] (and the stand-in's
// for the media); and around them [Authenticator], [RequestChecker],
// [StrictOptions], [ParamErrorHandler], [NoRoute], [RefuseUncleanPaths],
// [KeySets] and [WriteProblems]. See the custom-server example.
//
// Each account's tokens are signed by a key of that account, as on
// Cloudflare: the operator's key for it (Config.AccountSigners), else one
// the server generates on the account's first token and keeps in its
// store ([store.Store]), so that a restart or a second server on the same store
// signs with the same key. Each account has a public JWK set of its
// own, at /.well-known/jwks/<account_id>.json (gen.GetAccountKeySetPath): its
// signing key and the keys created through its keys API ([KeyService]),
// and no other account's, so that a token minted for one account verifies
// for no other's videos. One
// key for every account (Config.Signer) is for a deployment of one
// account: with credentials scoped to two or more accounts that would
// share it, [New] refuses it unless told to accept that
// ([SharedSignerError]).
//
// A request goes through, in order: authentication (bearer API tokens or
// X-Auth-Email and X-Auth-Key, each scoped to accounts), the request checks
// of the OpenAPI spec (size, content type, JSON, schema), the API's own
// rules (times, access rules, the id and pem pair), and signing: a token
// identical to one signed before (same key, account and claims) comes from
// the cache; otherwise the request waits its turn for a signing worker, in
// arrival order, and is answered 429 with Retry-After when that wait would
// pass a bound. Every
// failure is a Cloudflare envelope with a stable code (an
// [apicode.Code], the type the client reads too) and, for
// a bad field, its JSON pointer; at most 20 of them, then one counting the
// rest. Under Serve, even net/http's own refusals of a request it cannot
// parse are envelopes. Every key is sized (2048 to 8192 bits) before any
// RSA work. Nothing it logs or answers holds an API token, a key or a
// token.
package server
