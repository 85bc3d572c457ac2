package streamtoken

import "strconv"

// Code is an error code of a response envelope's errors[]: Cloudflare's
// own codes and this project's server's, which are stable, documented in
// the README, and at least 1000. The client reads any code into a Code; the
// server and streamtokentest answer with the constants below.
type Code int

// The codes this project's server answers with; CodeAuthentication and
// CodeForbidden are Cloudflare's own.
const (
	CodeInternal         Code = 1000  // 500: a fault of the server; the detail is only logged
	CodeMalformedJSON    Code = 1001  // 400: the body is not JSON
	CodeSchema           Code = 1002  // 400: the body breaks the spec's schema (unknown field, wrong type, bad enum, …)
	CodeInvalidRequest   Code = 1003  // 400: the body breaks the API's rules (times, access rules, id and pem)
	CodeInvalidPath      Code = 1004  // 400: account_id or identifier is not 1 to 32 printable ASCII characters without "/", or is "." or ".."
	CodeBodyTooLarge     Code = 1005  // 413: the body is over 64 KiB
	CodeUnsupportedType  Code = 1006  // 415: a body that is not application/json
	CodeMalformedHTTP    Code = 1007  // 400, 431, 501: a request net/http cannot parse (bad request line, headers over 32 KiB, unknown transfer coding)
	CodeUncleanPath      Code = 1008  // 400: a path with an empty, "." or ".." segment
	CodeKeyLimit         Code = 1009  // 400: the account holds 1,000 signing keys, the most it may
	CodeNoSuchKey        Code = 1010  // 404: the account has no signing key of that ID
	CodeNoSuchMedia      Code = 1011  // 404: no such video or live input (a fake given its set of IDs)
	CodeMediaLimit       Code = 1012  // 400: the account has changed the settings of as many videos (or live inputs) as the server keeps
	CodeAccountLimit     Code = 1013  // 400: the server keeps signing keys for as many accounts as it may, and this one has none
	CodeKeySetPerAccount Code = 1014  // 404: the server serves several accounts: each has its own JWK set, at /.well-known/jwks/{account_id}.json
	CodeRateLimited      Code = 1015  // 429: too many requests
	CodeStoreFull        Code = 1016  // 400: the server's store in memory holds as much as it may (serve --store-memory-bytes)
	CodeStoreUnavailable Code = 1017  // 503: the server's store (its database) cannot be reached now: retry after the Retry-After header's seconds
	CodeMethod           Code = 7001  // 405: the route does not take the method
	CodeNoRoute          Code = 7003  // 404: no such route
	CodeAuthentication   Code = 10000 // 401: credentials missing or wrong
	CodeForbidden        Code = 10001 // 403: the credential is not allowed for this account
)

// String is the code's number.
func (c Code) String() string { return strconv.Itoa(int(c)) }
