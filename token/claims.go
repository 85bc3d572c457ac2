package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the claims of a Stream token, as [Signer.Sign] makes them and
// [Verifier.Verify] returns them. A token always has an exp: claims with a
// zero ExpiresAt do not marshal.
type Claims struct {
	// VideoID is sub: the video the token grants.
	VideoID string
	// KeyID is kid: the signing key's ID, also in the header.
	KeyID string
	// ExpiresAt is exp. NotBefore is nbf, zero when the token has none.
	ExpiresAt, NotBefore time.Time
	// Downloadable grants the MP4 download links too.
	Downloadable bool
	// AccessRules decide which viewers may use the token; see
	// [Claims.Evaluate].
	AccessRules []Rule
	// Original is flags.original.
	Original bool
}

// wireClaims is the claims' JSON: the field order of Cloudflare's own
// tokens, exp and nbf as integers, optional claims left out when unset.
type wireClaims struct {
	Subject      string     `json:"sub"`
	KeyID        string     `json:"kid,omitempty"`
	ExpiresAt    *unixTime  `json:"exp,omitempty"`
	NotBefore    *unixTime  `json:"nbf,omitempty"`
	AccessRules  []Rule     `json:"accessRules,omitempty"`
	Downloadable bool       `json:"downloadable,omitempty"`
	Flags        *wireFlags `json:"flags,omitempty"`
}

type wireFlags struct {
	Original bool `json:"original,omitempty"`
}

func (c *Claims) wire() *wireClaims {
	w := &wireClaims{
		Subject:      c.VideoID,
		KeyID:        c.KeyID,
		AccessRules:  c.AccessRules,
		Downloadable: c.Downloadable,
	}
	exp := unixTime(c.ExpiresAt.Unix())
	w.ExpiresAt = &exp
	if !c.NotBefore.IsZero() {
		nbf := unixTime(c.NotBefore.Unix())
		w.NotBefore = &nbf
	}
	if c.Original {
		w.Flags = &wireFlags{Original: true}
	}
	return w
}

func (w *wireClaims) claims() *Claims {
	c := &Claims{
		VideoID:      w.Subject,
		KeyID:        w.KeyID,
		AccessRules:  w.AccessRules,
		Downloadable: w.Downloadable,
		Original:     w.Flags != nil && w.Flags.Original,
	}
	if w.ExpiresAt != nil {
		c.ExpiresAt = w.ExpiresAt.time()
	}
	if w.NotBefore != nil {
		c.NotBefore = w.NotBefore.time()
	}
	return c
}

// The jwt.Claims methods, through which the JWT library checks exp and nbf.

func (w *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return w.ExpiresAt.numeric(), nil }
func (w *wireClaims) GetNotBefore() (*jwt.NumericDate, error)      { return w.NotBefore.numeric(), nil }
func (w *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (w *wireClaims) GetIssuer() (string, error)                   { return "", nil }
func (w *wireClaims) GetSubject() (string, error)                  { return w.Subject, nil }
func (w *wireClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// unixTime is a NumericDate: written as an integer number of seconds, read
// from a number or a numeric string (Cloudflare's API writes strings) of
// decimal digits alone, within maxUnixDigits digits: no fraction, exponent,
// sign other than '-', or hexadecimal.
type unixTime int64

// maxUnixDigits bounds a time's digits: 10^15 s is some 31 million years.
const maxUnixDigits = 15

var errNumericDate = errors.New("not a number of seconds")

func (t unixTime) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(t), 10), nil
}

func (t *unixTime) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	digits, negative := bytes.CutPrefix(b, []byte("-"))
	if len(digits) == 0 || len(digits) > maxUnixDigits {
		return errNumericDate
	}
	var n int64 // 15 digits cannot overflow it
	for _, c := range digits {
		if c < '0' || c > '9' {
			return errNumericDate
		}
		n = n*10 + int64(c-'0')
	}
	if negative {
		n = -n
	}
	*t = unixTime(n)
	return nil
}

func (t *unixTime) time() time.Time { return time.Unix(int64(*t), 0) }

func (t *unixTime) numeric() *jwt.NumericDate {
	if t == nil {
		return nil
	}
	return jwt.NewNumericDate(t.time())
}

// errNoExpiry is what marshalling claims without an exp says.
var errNoExpiry = errors.New("claims without ExpiresAt: a Stream token needs an exp")

// MarshalJSON writes the claims as they appear in a token. Claims with a
// zero ExpiresAt are an error rather than an exp in year 1.
func (c Claims) MarshalJSON() ([]byte, error) {
	if c.ExpiresAt.IsZero() {
		return nil, errNoExpiry
	}
	return json.Marshal(c.wire())
}

// UnmarshalJSON reads claims as they appear in a token.
func (c *Claims) UnmarshalJSON(b []byte) error {
	var w wireClaims
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = *w.claims()
	return nil
}
