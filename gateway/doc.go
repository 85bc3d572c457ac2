// Package gateway is the token server in front of an upstream API
// (Cloudflare's, https://api.cloudflare.com/client/v4): what
// "streamtoken serve --upstream" runs. The official SDKs point their base
// URL at it and change nothing else. It answers the token operation
// itself, signing with a key that exists at the upstream for the account
// (the operator's, or one it creates through the upstream's keys API on
// the account's first token, once across replicas sharing a store), so
// that a token costs no upstream request; it forwards every other request
// under the base path unchanged (net/http/httputil.ReverseProxy), bodies
// streamed both ways.
//
// # Authorization
//
// Who may have a token is the upstream's to say. With callers' own
// credentials (the default), a credential is accepted for an account once
// the upstream accepted that same credential for that account: the first
// token request of each credential and account is forwarded as it is, and
// the upstream's answer returned as it came; a 2xx accepts, a 401 or 403
// refuses, anything else decides nothing. Decisions are kept by a SHA-256
// of the credential keyed by a secret of the process (never the
// credential), an acceptance for Config.AuthTTL, a refusal for
// Config.RefusalTTL; a
// credential revoked at the upstream is refused within AuthTTL. While the
// upstream cannot be reached, an acceptance past its TTL holds for
// Config.Grace more, and then the answer is a 503 envelope (1020).
//
// With the deployment's own upstream credentials instead
// (Config.UpstreamCredentials), callers hold local credentials
// (server.Config.Credentials) and never an upstream one: their requests
// are forwarded under the deployment's credential for the account in the
// path, only under /accounts/{an account their credential names}/; any
// other path is a 403 envelope (1021) and never reaches the upstream.
//
// The gateway does not ask the upstream whether a video exists: a token
// for a video that does not exist is signed, and plays nowhere.
package gateway
