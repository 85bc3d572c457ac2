package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/ids"
)

// Caller is who a request authenticated as: what [Authenticator.Middleware]
// puts in the request's context. It holds no secret.
type Caller struct {
	// Email is the email of an email-and-key credential; empty for an API
	// token.
	Email string
	// Accounts are the accounts the caller may act on; nil means every
	// account.
	Accounts []string
	// Index is the credential's position in the list the Authenticator
	// was made from.
	Index int
}

// Allowed reports whether the caller may act on account.
func (c *Caller) Allowed(account string) bool {
	return c.Accounts == nil || slices.Contains(c.Accounts, account)
}

type callerKey struct{}

// WithCaller returns a context that carries c, as the Authenticator's
// middleware does; for handlers that authenticate by other means, and tests.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the authenticated caller of a request's context, or
// nil when the request went through no authentication: a handler that
// needs a caller refuses then (fail closed).
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}

// Authenticator checks requests against a set of credentials, as
// Cloudflare's API does: "Authorization: Bearer <API token>", or
// X-Auth-Email with X-Auth-Key. It keeps only SHA-256 digests of the
// secrets and compares every one in constant time, so that neither a
// memory dump nor timing reveals which exist.
type Authenticator struct {
	creds []storedCredential
}

type storedCredential struct {
	digest [sha256.Size]byte
	caller Caller
}

func bearerDigest(token string) [sha256.Size]byte {
	return sha256.Sum256([]byte("bearer\x00" + token))
}

func keyDigest(email, key string) [sha256.Size]byte {
	return sha256.Sum256([]byte("key\x00" + email + "\x00" + key))
}

// NewAuthenticator checks creds (at least one) and returns an
// authenticator that accepts them.
func NewAuthenticator(creds []Credential) (*Authenticator, error) {
	if len(creds) == 0 {
		return nil, fmt.Errorf("no credentials: the API would be open to anyone")
	}
	a := &Authenticator{}
	for i, c := range creds {
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("credential %d: %w", i, err)
		}
		s := storedCredential{digest: bearerDigest(c.Token), caller: Caller{Index: i, Accounts: slices.Clone(c.Accounts)}}
		if c.Token == "" {
			s.digest = keyDigest(c.Email, c.Key)
			s.caller.Email = c.Email
		}
		a.creds = append(a.creds, s)
	}
	return a, nil
}

// Authenticate returns the caller r's credentials name, or a 401 problem
// when they match none. It does not check the account: see
// [Caller.Allowed].
func (a *Authenticator) Authenticate(r *http.Request) (*Caller, *Problem) {
	var presented [][sha256.Size]byte
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != "" {
			presented = append(presented, bearerDigest(strings.TrimSpace(token)))
		}
	}
	if email, key := r.Header.Get("X-Auth-Email"), r.Header.Get("X-Auth-Key"); email != "" && key != "" {
		presented = append(presented, keyDigest(email, key))
	}
	match := -1
	for _, p := range presented {
		for i := range a.creds {
			if subtle.ConstantTimeCompare(p[:], a.creds[i].digest[:]) == 1 && match < 0 {
				match = i
			}
		}
	}
	if match < 0 {
		return nil, &Problem{Status: http.StatusUnauthorized, Code: apicode.Authentication, Message: "Authentication error"}
	}
	c := a.creds[match].caller
	return &c, nil
}

// RequestAuthenticator says who a request is from: its [Caller], or the
// 401 (or 403) problem to answer. An [*Authenticator] is one;
// [AuthenticatorFunc] makes one of a function.
type RequestAuthenticator interface {
	Authenticate(r *http.Request) (*Caller, *Problem)
}

// AuthenticatorFunc is a function that is a [RequestAuthenticator].
type AuthenticatorFunc func(r *http.Request) (*Caller, *Problem)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*Caller, *Problem) { return f(r) }

// Middleware lets through only authenticated requests allowed for the
// account in the path (the account_id path value), with the [Caller] in
// their context; it answers the others with a 401 or 403 envelope. Mount it
// inside the http.ServeMux, as gen.StdHTTPServerOptions.Middlewares does, so
// that the path values are set.
func (a *Authenticator) Middleware(next http.Handler) http.Handler { return AuthMiddleware(a)(next) }

// AuthMiddleware is [Authenticator.Middleware] for any
// [RequestAuthenticator].
func AuthMiddleware(a RequestAuthenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return authMiddleware(a, next)
	}
}

func authMiddleware(a RequestAuthenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, p := a.Authenticate(r)
		if p == nil {
			p = forbidden(caller, r.PathValue(gen.ParamAccountID))
		}
		if p != nil {
			WriteProblems(w, *p)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), caller)))
	})
}

// Refuse is what a service answers, before anything else, a request
// whose context carries no [Caller] (a 401) or a caller not allowed for
// the account (a 403), or nil: the fail-closed check of every operation,
// whatever middleware ran before it. The path's IDs are not checked again
// here: the [RequestChecker] checked them as the request came in (and a
// store refuses one it is handed anyway).
func Refuse(ctx context.Context, accountID string) *Problem {
	caller := CallerFrom(ctx)
	if caller == nil {
		return &Problem{Status: http.StatusUnauthorized, Code: apicode.Authentication, Message: "Authentication error"}
	}
	return forbidden(caller, accountID)
}

// PathID is a path parameter's name (gen.ParamIdentifier) and value, for
// [CheckPath] to check.
type PathID struct{ Name, ID string }

// CheckPath is the 400 (1004) of each path ID that breaks the API's rule,
// or nil: what the [RequestChecker] answers for the API's operations, for
// a route of one's own outside them (an upload URL).
func CheckPath(path ...PathID) []Problem {
	var ps []Problem
	for _, p := range path {
		if why := ids.Check(p.ID); why != "" {
			ps = append(ps, badPathID(p.Name, why))
		}
	}
	return ps
}

// forbidden is the 403 for a caller not allowed for account, or nil.
func forbidden(c *Caller, account string) *Problem {
	if account == "" || c.Allowed(account) {
		return nil
	}
	return &Problem{Status: http.StatusForbidden, Code: apicode.Forbidden, Message: "Authentication error: this credential is not allowed for the account"}
}
