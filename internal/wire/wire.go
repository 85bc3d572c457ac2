// Package wire holds what the client and the server both need to know about
// the API's request body beyond its schema: the conversion to token options
// and the one implementation of the API's validation rules.
package wire

import (
	"bytes"
	"encoding/base64"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/token"
)

// Options converts a request body (nil for none) for a video into the
// options of the token it asks for. Absent times stay zero: the defaults
// are the token package's.
func Options(videoID string, body *gen.TokenRequest) token.Options {
	o := token.Options{VideoID: videoID}
	if body == nil {
		return o
	}
	if body.Exp != nil {
		o.ExpiresAt = time.Unix(*body.Exp, 0)
	}
	if body.Nbf != nil {
		o.NotBefore = time.Unix(*body.Nbf, 0)
	}
	o.Downloadable = body.Downloadable != nil && *body.Downloadable
	o.Original = body.Flags != nil && body.Flags.Original != nil && *body.Flags.Original
	if len(body.AccessRules) > 0 {
		o.AccessRules = make([]token.Rule, len(body.AccessRules))
		for i, r := range body.AccessRules {
			o.AccessRules[i] = token.Rule{
				Type:    token.RuleType(r.Type),
				Action:  token.Action(r.Action),
				Country: r.Country,
				IP:      r.IP,
			}
		}
	}
	return o
}

// Check checks a whole token request at the time now: the path's account
// and video IDs, the id and pem pair, and the token's options (times and
// access rules). It returns the key the body asks to be signed with (nil for
// none) or a *token.ValidationError listing every violation. It never puts
// the pem, or anything decoded from it, in an error.
func Check(accountID, videoID string, body *gen.TokenRequest, now time.Time) (*token.Key, error) {
	var errs []error
	if problem := token.CheckID(accountID); problem != "" {
		errs = append(errs, invalid(token.Violation{Field: "account_id", Problem: problem}))
	}
	var key *token.Key
	if body != nil {
		var err error
		key, err = SigningKey(body)
		errs = append(errs, err)
	}
	errs = append(errs, Options(videoID, body).Validate(now))
	if verr := token.Join(errs...); verr != nil {
		return nil, verr
	}
	return key, nil
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
	if problem := token.CheckKeyID(*body.ID); problem != "" {
		return nil, invalid(token.FieldViolation(problem, "id"))
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
