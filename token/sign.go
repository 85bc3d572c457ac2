package token

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/streamtoken/streamtoken/internal/ossl"
)

// Signer signs Stream tokens with one signing key: locally, with no API
// call and no rate limit. It is safe for concurrent use.
type Signer struct {
	kid    string
	header string // the token's first segment, {"alg":"RS256","kid":KID} encoded: the same for every token
	key    crypto.Signer
	public *Key
	now    func() time.Time
}

// NewSigner returns a signer for a private key with an ID (the Stream
// signing key's id), signing with the implementation of RSA that
// [WithCrypto] chooses (by default OpenSSL's where libcrypto loads, else
// Go's: see [ResolveCrypto]). It takes [WithClock] and [WithCrypto].
func NewSigner(key *Key, opts ...SignerOption) (*Signer, error) {
	if key == nil {
		return nil, errors.New("nil key")
	}
	if key.Private == nil {
		return nil, ErrNotPrivate
	}
	cfg, err := signerConfig(opts)
	if err != nil {
		return nil, err
	}
	// Every check first, on the key as Go holds it; then the hand-over.
	s, err := newSigner(key.ID, key.Private, cfg)
	if err != nil {
		return nil, err
	}
	if s.key, err = signerOf(key.Private, cfg.crypto); err != nil {
		return nil, err
	}
	return s, nil
}

// NewCryptoSigner returns a signer for any crypto.Signer whose public key is
// RSA of at least [MinKeyBits], such as a key held in a KMS or an HSM. It
// signs RSASSA-PKCS1-v1_5 with SHA-256. It takes [WithClock].
func NewCryptoSigner(kid string, key crypto.Signer, opts ...Option) (*Signer, error) {
	cfg, err := signerConfig(opts)
	if err != nil {
		return nil, err
	}
	return newSigner(kid, key, cfg)
}

// newSigner checks kid and key, and makes their signer.
func newSigner(kid string, key crypto.Signer, cfg config) (*Signer, error) {
	if kid == "" {
		return nil, ErrNoKeyID
	}
	if err := CheckKeyID(kid); err != nil {
		return nil, fmt.Errorf("key ID %w", err)
	}
	if key == nil {
		return nil, errors.New("nil crypto.Signer")
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s signer: %w", algName(key.Public()), ErrKeyType)
	}
	public, err := publicKey(kid, pub)
	if err != nil {
		return nil, err
	}
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}{"RS256", kid})
	if err != nil {
		return nil, err
	}
	return &Signer{kid: kid, header: base64.RawURLEncoding.EncodeToString(header), key: key, public: public, now: cfg.now}, nil
}

// Crypto returns the implementation of RSA the signer signs with:
// CryptoOpenSSL or CryptoGo, or "" for a crypto.Signer of another kind
// (a KMS's, say).
func (s Signer) Crypto() Crypto {
	switch s.key.(type) {
	case *ossl.PrivateKey:
		return CryptoOpenSSL
	case *rsa.PrivateKey:
		return CryptoGo
	}
	return ""
}

// String describes the signer without its key's material: its key ID,
// size and implementation. Printing or logging a Signer never shows the
// private key.
func (s Signer) String() string {
	return fmt.Sprintf("token.Signer{kid: %q, RSA-%d, crypto %q, [redacted]}", s.kid, s.public.bits(), s.Crypto())
}

// GoString is String, for %#v.
func (s Signer) GoString() string { return s.String() }

// LogValue keeps the key's material out of log/slog output.
func (s Signer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", s.kid), slog.Int("bits", s.public.bits()), slog.String("crypto", string(s.Crypto())))
}

// MarshalJSON writes the key ID, size and implementation, never the key.
func (s Signer) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		KeyID  string `json:"kid"`
		Bits   int    `json:"bits"`
		Crypto Crypto `json:"crypto"`
	}{s.kid, s.public.bits(), s.Crypto()})
}

// KeyID returns the ID of the signer's key: the kid of its tokens.
func (s *Signer) KeyID() string { return s.kid }

// PublicKey returns the public half of the signer's key, for a [Verifier]
// or a JWK set.
func (s *Signer) PublicKey() *Key { return s.public }

// Sign checks r against the API's rules at the signer's time (see
// [Request.Validate]), fills in the defaults (exp one hour from now, nbf one
// hour ago) and returns the signed token with its claims. The header is
// exactly {"alg":"RS256","kid":KID}. It is [Signer.Draft] then
// [Draft.Sign].
func (s *Signer) Sign(r Request) (string, *Claims, error) {
	d, err := s.Draft(r)
	if err != nil {
		return "", nil, err
	}
	tok, err := d.Sign()
	if err != nil {
		return "", nil, err
	}
	return tok, d.claims, nil
}

// Draft checks r and fills in its defaults as [Signer.Sign] does, and
// encodes the header and claims, but does not sign: the cheap half of
// Sign, microseconds where the signature costs a millisecond or more.
// A server can decide on a draft (a cached token, a place in a queue)
// before it spends the RSA work.
func (s *Signer) Draft(r Request) (*Draft, error) {
	now := s.now()
	if err := r.Validate(now); err != nil {
		return nil, err
	}
	exp, nbf := resolveTimes(now, r.ExpiresAt, r.NotBefore)
	c := &Claims{
		VideoID:      r.VideoID,
		KeyID:        s.kid,
		ExpiresAt:    time.Unix(exp.Unix(), 0),
		NotBefore:    time.Unix(nbf.Unix(), 0),
		Downloadable: r.Downloadable,
		AccessRules:  r.AccessRules,
		Original:     r.Original,
	}
	// The header is exactly {"alg":"RS256","kid":KID}, encoded once per
	// signer (a JWT library's would add "typ").
	claims, err := json.Marshal(c.wire())
	if err != nil {
		return nil, fmt.Errorf("encoding the claims: %w", err)
	}
	input := make([]byte, 0, len(s.header)+1+base64.RawURLEncoding.EncodedLen(len(claims)))
	input = append(append(input, s.header...), '.')
	input = base64.RawURLEncoding.AppendEncode(input, claims)
	return &Draft{signer: s, claims: c, input: string(input)}, nil
}

// Draft is a token before its signature: the header and claims a
// [Signer] made from a [Request], encoded. Its input is the token up to
// the signature, so two drafts with the same input and signer sign to the
// same bytes: RSASSA-PKCS1-v1_5 is deterministic.
type Draft struct {
	signer *Signer
	claims *Claims
	input  string
}

// Signer returns the signer that made the draft and signs it.
func (d *Draft) Signer() *Signer { return d.signer }

// Claims returns the draft's claims. They are shared: do not modify them.
func (d *Draft) Claims() *Claims { return d.claims }

// SigningInput returns what the signature covers: the token's encoded
// header and claims, joined by a dot. The signed token is this, a dot and
// the signature.
func (d *Draft) SigningInput() string { return d.input }

// Sign signs the draft with its signer's key: the RSA work of
// [Signer.Sign]. It does not check the clock again: a draft held past its
// claims' exp signs to a token that has expired.
func (d *Draft) Sign() (string, error) {
	sig, err := rs256Signer{}.Sign(d.input, d.signer.key)
	if err != nil {
		return "", fmt.Errorf("signing: %w", err)
	}
	return d.input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// rs256Signer is RS256 signing through any crypto.Signer; golang-jwt's own
// RS256 method takes only an *rsa.PrivateKey. It is not registered: tokens
// are verified with the library's RS256.
type rs256Signer struct{}

func (rs256Signer) Alg() string { return "RS256" }

func (rs256Signer) Verify(signingString string, sig []byte, key any) error {
	return jwt.SigningMethodRS256.Verify(signingString, sig, key)
}

func (rs256Signer) Sign(signingString string, key any) ([]byte, error) {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	digest := sha256.Sum256([]byte(signingString))
	return signer.Sign(rand.Reader, digest[:], crypto.SHA256)
}
