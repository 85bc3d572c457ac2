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

// Checked is a token request that passed [Check]: what to sign, the key
// its body asks to be signed with (nil: the account's), and what its
// access rules likely do not mean (token.Lint), as the answer's messages.
type Checked struct {
	Request  token.Request
	Key      *token.Key
	Findings []gen.Message
}

// Check checks a token request's body at the time now, for the video
// videoID: the id and pem pair, and what the token is to grant (times and
// access rules). The path's IDs are not checked again: the server's edge
// (its request checker) checked them as the request came in, as
// CheckRequest does for the client. The wire's own work comes first (the
// conversion, the pair, the pem's base64 and PEM form, the findings),
// then the token package's rules (the key ID, the key, sized before any
// RSA work, and the claims). A refusal is a *token.ValidationError
// listing every violation; it never holds the pem, or anything decoded
// from it.
func Check(videoID string, body *gen.TokenRequest, now time.Time) (Checked, error) {
	c := Checked{Request: Request(videoID, body)}
	id, pem, fieldErr := keyFields(body)
	c.Findings = Findings(c.Request.AccessRules)
	var keyErr error
	if pem != nil {
		c.Key, keyErr = token.NamedKey(id, pem, "id", "pem")
	}
	if verr := token.Join(fieldErr, keyErr, c.Request.Validate(now)); verr != nil {
		return Checked{}, verr
	}
	return c, nil
}

// CheckRequest is the client's check of a request it holds already, as
// body's conversion (nothing is converted again): it is the edge of its
// own request, so the path's account and video IDs are checked too, and
// every violation is listed together.
func CheckRequest(accountID, videoID string, r token.Request, body *gen.TokenRequest, now time.Time) (*token.Key, error) {
	var errs []error
	if problem := ids.Check(accountID); problem != "" {
		errs = append(errs, invalid(token.Violation{Field: gen.ParamAccountID, Problem: problem}))
	}
	if problem := ids.Check(videoID); problem != "" {
		errs = append(errs, invalid(token.Violation{Field: gen.ParamIdentifier, Problem: problem}))
	}
	id, pem, err := keyFields(body)
	errs = append(errs, err)
	var key *token.Key
	if pem != nil {
		key, err = token.NamedKey(id, pem, "id", "pem")
		errs = append(errs, err)
	}
	errs = append(errs, withoutVideo(r.Validate(now)))
	if verr := token.Join(errs...); verr != nil {
		return nil, verr
	}
	return key, nil
}

// withoutVideo drops the token package's verdict on the video ID from err:
// ids.Check, which includes its rule, has judged the path's identifier.
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

// keyFields reads the key a request body asks to be signed with, as far
// as the wire goes: its id, and its pem decoded from base64 into PEM text
// (nil when the body names no key). A lone id or pem, or a pem that is
// not base64 of PEM text, is a *token.ValidationError naming no key
// material.
func keyFields(body *gen.TokenRequest) (id string, pem []byte, err error) {
	if body == nil {
		return "", nil, nil
	}
	hasID, hasPEM := body.ID != nil, body.PEM != nil
	switch {
	case !hasID && !hasPEM:
		return "", nil, nil
	case hasID && !hasPEM:
		return "", nil, invalid(token.FieldViolation("is required when id is set", "pem"))
	case hasPEM && !hasID:
		return "", nil, invalid(token.FieldViolation("is required when pem is set", "id"))
	}
	decoded, err := base64.StdEncoding.DecodeString(*body.PEM)
	if err != nil {
		return "", nil, invalid(token.FieldViolation("must be base64 of a PEM private key: not base64", "pem"))
	}
	if !bytes.HasPrefix(bytes.TrimSpace(decoded), []byte("-----BEGIN ")) {
		return "", nil, invalid(token.FieldViolation("must be base64 of a PEM private key: not PEM", "pem"))
	}
	return *body.ID, decoded, nil
}

func invalid(v token.Violation) error {
	return &token.ValidationError{Violations: []token.Violation{v}}
}
