package token

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Verification errors, usable with errors.Is. None of them carries the token.
var (
	// ErrMalformed: not a JWT, or claims that are not a Stream token's
	// (no sub, no exp, a kid that differs from the header's).
	ErrMalformed = errors.New("malformed token")
	// ErrAlgorithm: the header's alg is not RS256 (none, HS256, RS512, …).
	ErrAlgorithm = errors.New("token algorithm is not RS256")
	// ErrUnknownKey: no key of the verifier has the header's kid.
	ErrUnknownKey = errors.New("token signed by an unknown key")
	// ErrSignature: the signature does not match.
	ErrSignature = errors.New("token signature is invalid")
	// ErrExpired: exp has passed (beyond the leeway).
	ErrExpired = errors.New("token has expired")
	// ErrNotYetValid: nbf is still ahead (beyond the leeway).
	ErrNotYetValid = errors.New("token is not valid yet")
)

// DefaultLeeway is how much clock skew a [Verifier] forgives by default when
// it checks exp and nbf; MaxLeeway is the most it can be told to forgive.
const (
	DefaultLeeway = 30 * time.Second
	MaxLeeway     = 5 * time.Minute
)

// Verifier checks Stream tokens against a set of public keys: RS256 only,
// the key chosen by kid, exp required and nbf honoured. It is safe for
// concurrent use. It does not evaluate access rules: see [Policy] and
// [Claims.Evaluate].
type Verifier struct {
	keys   map[string]*rsa.PublicKey
	parser *jwt.Parser
}

// NewVerifier returns a verifier for keys (public or private; only the
// public half is used), each with a distinct, non-empty ID. It takes
// [WithClock] and [WithLeeway]. With no keys, every token is
// [ErrUnknownKey]: an account's JWK set is empty until it has a key.
func NewVerifier(keys []*Key, opts ...VerifierOption) (*Verifier, error) {
	cfg, err := verifierConfig(opts)
	if err != nil {
		return nil, err
	}
	v := &Verifier{keys: make(map[string]*rsa.PublicKey, len(keys))}
	for i, k := range keys {
		switch {
		case k == nil || k.Public == nil:
			return nil, fmt.Errorf("key %d: no public key", i)
		case k.ID == "":
			return nil, fmt.Errorf("key %d: %w", i, ErrNoKeyID)
		case v.keys[k.ID] != nil:
			return nil, fmt.Errorf("key %d: ID %q given twice", i, k.ID)
		}
		if err := checkSize(k.Public); err != nil {
			return nil, fmt.Errorf("key %q: %w", k.ID, err)
		}
		v.keys[k.ID] = k.Public
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.leeway),
		jwt.WithTimeFunc(cfg.now),
	)
	return v, nil
}

// Verify checks a token's signature and its exp and nbf, and returns its
// claims. The algorithm is pinned to RS256 before any key is looked at. The
// error matches one of ErrMalformed, ErrAlgorithm, ErrUnknownKey,
// ErrSignature, ErrExpired or ErrNotYetValid, and never contains the token.
func (v *Verifier) Verify(token string) (*Claims, error) {
	var w wireClaims
	var keyErr error // what key said, without the library's wrapping
	t, err := v.parser.ParseWithClaims(token, &w, func(t *jwt.Token) (any, error) {
		k, err := v.key(t)
		keyErr = err
		return k, err
	})
	if keyErr != nil {
		return nil, keyErr
	}
	if err != nil {
		return nil, classify(t, err)
	}
	headerKID, _ := t.Header["kid"].(string)
	switch {
	case w.Subject == "":
		return nil, fmt.Errorf("%w: no sub (video ID)", ErrMalformed)
	case w.KeyID != "" && w.KeyID != headerKID:
		return nil, fmt.Errorf("%w: claims kid differs from the header's", ErrMalformed)
	}
	return w.claims(), nil
}

// key is the jwt.Keyfunc: it runs after the algorithm check and picks the
// key by the header's kid.
func (v *Verifier) key(t *jwt.Token) (any, error) {
	if t.Method.Alg() != "RS256" { // checked by the parser too; cheap to be sure
		return nil, ErrAlgorithm
	}
	// RFC 7515, 4.1.11: an extension named critical must be understood,
	// and this verifier understands none.
	if _, ok := t.Header["crit"]; ok {
		return nil, fmt.Errorf("%w: header names critical extensions (crit), none of which is supported", ErrMalformed)
	}
	kid, ok := t.Header["kid"].(string)
	if !ok || kid == "" {
		return nil, fmt.Errorf("%w: header has no kid", ErrUnknownKey)
	}
	pub, ok := v.keys[kid]
	if !ok {
		return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, truncate(kid, 64))
	}
	return pub, nil
}

// classify maps the JWT library's errors onto this package's.
func classify(t *jwt.Token, err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %s", ErrMalformed, reason(err))
	case t != nil && t.Method != nil && t.Method.Alg() != "RS256",
		errors.Is(err, jwt.ErrTokenUnverifiable):
		// An alg the library does not know, or one we refuse.
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return fmt.Errorf("%w: no exp", ErrMalformed)
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w (exp %s)", ErrExpired, claimTime(t, "exp"))
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fmt.Errorf("%w (nbf %s)", ErrNotYetValid, claimTime(t, "nbf"))
	}
	return fmt.Errorf("%w: %s", ErrMalformed, reason(err))
}

// reason is the library's description of a failure, which names the part
// of the token at fault but not its content.
func reason(err error) string {
	const max = 120
	return truncate(err.Error(), max)
}

func claimTime(t *jwt.Token, name string) string {
	if t == nil {
		return "?"
	}
	w, ok := t.Claims.(*wireClaims)
	if !ok {
		return "?"
	}
	var u *unixTime
	if name == "exp" {
		u = w.ExpiresAt
	} else {
		u = w.NotBefore
	}
	if u == nil {
		return "?"
	}
	return formatTime(u.time())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Decoded is a token taken apart without any check.
type Decoded struct {
	Header map[string]any
	Claims *Claims
	// RawHeader and RawClaims are the decoded JSON of the first two
	// segments, as they are in the token.
	RawHeader, RawClaims json.RawMessage
}

// Decode takes a token apart for debugging. It verifies nothing: not the
// signature, not the algorithm, not exp or nbf. Never trust what it returns.
func Decode(token string) (*Decoded, error) {
	var w wireClaims
	t, _, err := jwt.NewParser().ParseUnverified(token, &w)
	// An unknown alg is worth showing; anything else wrong is malformed.
	if err != nil && !errors.Is(err, jwt.ErrTokenUnverifiable) {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, reason(err))
	}
	d := &Decoded{Header: t.Header, Claims: w.claims()}
	parts := strings.SplitN(token, ".", 3)
	d.RawHeader, _ = base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	d.RawClaims, _ = base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	return d, nil
}
