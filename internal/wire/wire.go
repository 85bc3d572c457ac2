// Package wire holds what the client and the server both need to know about
// the token request beyond its schema: the API's rules for its path, the
// conversions between its wire form (package gen) and the token package's
// [token.Request], and the one implementation of the API's validation.
package wire

import (
	"bytes"
	"encoding/base64"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/token"
)

// Request converts a request body (nil for none) for a video into what the
// token is asked to grant. Absent times stay zero: the defaults are the
// token package's.
func Request(videoID string, body *gen.TokenRequest) token.Request {
	r := token.Request{VideoID: videoID}
	if body == nil {
		return r
	}
	if body.Exp != nil {
		r.ExpiresAt = time.Unix(*body.Exp, 0)
	}
	if body.Nbf != nil {
		r.NotBefore = time.Unix(*body.Nbf, 0)
	}
	r.Downloadable = body.Downloadable != nil && *body.Downloadable
	r.Original = body.Flags != nil && body.Flags.Original != nil && *body.Flags.Original
	if len(body.AccessRules) > 0 {
		r.AccessRules = make([]token.Rule, len(body.AccessRules))
		for i, a := range body.AccessRules {
			r.AccessRules[i] = token.Rule{
				Type:    token.RuleType(a.Type),
				Action:  token.Action(a.Action),
				Country: a.Country,
				IP:      a.IP,
			}
		}
	}
	return r
}

// Body is the wire form of a token request: r's fields that are set (its
// VideoID goes in the path, not the body) and the signing key's id and pem
// when they are not empty.
func Body(r token.Request, keyID, pem string) gen.TokenRequest {
	var b gen.TokenRequest
	if keyID != "" {
		b.ID = &keyID
	}
	if pem != "" {
		b.PEM = &pem
	}
	if !r.ExpiresAt.IsZero() {
		exp := r.ExpiresAt.Unix()
		b.Exp = &exp
	}
	if !r.NotBefore.IsZero() {
		nbf := r.NotBefore.Unix()
		b.Nbf = &nbf
	}
	if r.Downloadable {
		b.Downloadable = &r.Downloadable
	}
	if r.Original {
		b.Flags = &gen.TokenFlags{Original: &r.Original}
	}
	if len(r.AccessRules) > 0 {
		b.AccessRules = make([]gen.AccessRule, len(r.AccessRules))
		for i, a := range r.AccessRules {
			b.AccessRules[i] = gen.AccessRule{
				Type:    gen.AccessRuleType(a.Type),
				Action:  gen.AccessRuleAction(a.Action),
				Country: a.Country,
				IP:      a.IP,
			}
		}
	}
	return b
}

// Check checks a whole token request at the time now: the path's account
// and video IDs, the id and pem pair, and what the token is to grant (times
// and access rules). It returns the key the body asks to be signed with
// (nil for none) or a *token.ValidationError listing every violation. It
// never puts the pem, or anything decoded from it, in an error.
func Check(accountID, videoID string, body *gen.TokenRequest, now time.Time) (token.Request, *token.Key, error) {
	r := Request(videoID, body)
	key, err := CheckRequest(accountID, videoID, r, body, now)
	return r, key, err
}

// CheckRequest is Check for a caller that holds the request already, as
// body's conversion (the client, which made body from it): nothing is
// converted again.
func CheckRequest(accountID, videoID string, r token.Request, body *gen.TokenRequest, now time.Time) (*token.Key, error) {
	var errs []error
	if problem := ids.Check(accountID); problem != "" {
		errs = append(errs, invalid(token.Violation{Field: gen.ParamAccountID, Problem: problem}))
	}
	if problem := ids.Check(videoID); problem != "" {
		errs = append(errs, invalid(token.Violation{Field: gen.ParamIdentifier, Problem: problem}))
	}
	var key *token.Key
	if body != nil {
		var err error
		key, err = SigningKey(body)
		errs = append(errs, err)
	}
	errs = append(errs, withoutVideo(r.Validate(now)))
	if verr := token.Join(errs...); verr != nil {
		return nil, verr
	}
	return key, nil
}

// withoutVideo drops the token package's verdict on the video ID from err:
// CheckID, which includes its rule, has judged the path's identifier.
func withoutVideo(err error) error {
	verr, ok := err.(*token.ValidationError)
	if !ok {
		return err
	}
	kept := &token.ValidationError{More: verr.More}
	for _, v := range verr.Violations {
		if v.Field != "VideoID" {
			kept.Violations = append(kept.Violations, v)
		}
	}
	return kept
}

// SigningKey returns the key a request body asks to be signed with (its id
// and pem), or nil when it names none. A lone id or pem, an id that is not
// 1 to 64 printable ASCII characters, a pem that is not base64 of a PEM RSA
// private key of 2048 to 8192 bits: a *token.ValidationError. The key is
// sized before any RSA work.
func SigningKey(body *gen.TokenRequest) (*token.Key, error) {
	hasID, hasPEM := body.ID != nil, body.PEM != nil
	switch {
	case !hasID && !hasPEM:
		return nil, nil
	case hasID && !hasPEM:
		return nil, invalid(token.FieldViolation("is required when id is set", "pem"))
	case hasPEM && !hasID:
		return nil, invalid(token.FieldViolation("is required when pem is set", "id"))
	}
	if err := token.CheckKeyID(*body.ID); err != nil {
		return nil, invalid(token.FieldViolation(err.Error(), "id"))
	}
	key, problem := parsePEMField(*body.PEM)
	if problem != "" {
		return nil, invalid(token.FieldViolation(problem, "pem"))
	}
	key.ID = *body.ID
	return key, nil
}

// parsePEMField decodes the API's pem field: standard base64 of a PEM RSA
// private key. The problem it reports names no key material.
func parsePEMField(s string) (*token.Key, string) {
	decoded, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, "must be base64 of a PEM private key: not base64"
	}
	if !bytes.HasPrefix(bytes.TrimSpace(decoded), []byte("-----BEGIN ")) {
		return nil, "must be base64 of a PEM private key: not PEM"
	}
	key, err := token.ParsePrivateKey(decoded)
	if err != nil {
		return nil, err.Error()
	}
	return key, ""
}

func invalid(v token.Violation) error {
	return &token.ValidationError{Violations: []token.Violation{v}}
}
