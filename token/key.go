package token

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"path/filepath"
	"strings"

	"github.com/streamtoken/streamtoken/internal/files"
)

// The sizes of RSA modulus, in bits, that this package signs with or
// verifies against. The upper bound is crypto/tls's (since CVE-2023-29409):
// a larger key is refused before any RSA work, so that no key read from a
// request or a file can cost seconds of CPU.
const (
	MinKeyBits = 2048
	MaxKeyBits = 8192
)

// Key errors, usable with errors.Is. None of them carries key material.
var (
	// ErrKeyFormat means the bytes are not a key in any form this package
	// reads: PEM, base64 of PEM, a JWK or base64 of a JWK.
	ErrKeyFormat = errors.New("not a PEM or JWK key, nor base64 of one")
	// ErrKeyType means the key is not an RSA key.
	ErrKeyType = errors.New("not an RSA key")
	// ErrKeyTooShort means the RSA key is shorter than MinKeyBits.
	ErrKeyTooShort = errors.New("RSA key shorter than 2048 bits")
	// ErrKeyTooLong means the RSA key is longer than MaxKeyBits.
	ErrKeyTooLong = errors.New("RSA key longer than 8192 bits")
	// ErrKeyEncrypted means the PEM key is encrypted with a passphrase.
	ErrKeyEncrypted = errors.New("the key is encrypted: decrypt it first (openssl pkey -in F -out G)")
	// ErrNotPrivate means a private key was needed and a public key given.
	ErrNotPrivate = errors.New("a public key cannot sign")
	// ErrNoKeyID means no key ID was given and the key carries none.
	ErrNoKeyID = errors.New("no key ID: the key carries none and none was given")
)

// Key is an RSA key with the ID Stream knows it by (the kid of the tokens it
// signs). Private is nil for a public key.
type Key struct {
	ID      string
	Private *rsa.PrivateKey
	Public  *rsa.PublicKey
}

// GenerateKey makes a new RSA signing key of [MinKeyBits] bits, with an ID
// derived from its public key (see [KeyID]). It uses Go's crypto/rsa
// whatever the implementation that signs (see [WithCrypto]): it generates
// keys some three times faster than OpenSSL 3.0.
func GenerateKey() (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, MinKeyBits)
	if err != nil {
		return nil, err
	}
	return NewKey(KeyID(&priv.PublicKey), priv)
}

// NewKey wraps an RSA private key and its ID, checking its size.
func NewKey(id string, priv *rsa.PrivateKey) (*Key, error) {
	if priv == nil || priv.N == nil {
		return nil, errors.New("nil RSA key")
	}
	if err := checkSize(&priv.PublicKey); err != nil {
		return nil, err
	}
	return &Key{ID: id, Private: priv, Public: &priv.PublicKey}, nil
}

// ParseKey reads a key in any form Cloudflare hands out or a user keeps: a
// PEM file (PKCS#1 or PKCS#8 private key, PKIX or PKCS#1 public key), the
// API's pem field (base64 of a PEM), a JWK, the API's jwk field (base64 of
// a JWK), or the API's whole create-key result {"id", "pem", "jwk",
// "created"} (alone or in its envelope), as "streamtoken keys create --out"
// saves it. A JWK's kid, or the result's id, becomes the key's ID; for the
// other PEM forms the ID is empty and the caller sets it. Errors name the
// problem, never the key.
func ParseKey(data []byte) (*Key, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("empty: %w", ErrKeyFormat)
	}
	switch {
	case bytes.HasPrefix(data, []byte("-----BEGIN")):
		return parsePEM(data)
	case data[0] == '{':
		return parseObject(data, false)
	}
	decoded, err := decodeBase64(string(data))
	if err != nil {
		return nil, ErrKeyFormat
	}
	decoded = bytes.TrimSpace(decoded)
	switch {
	case bytes.HasPrefix(decoded, []byte("-----BEGIN")):
		return parsePEM(decoded)
	case bytes.HasPrefix(decoded, []byte("{")):
		return parseJWK(decoded)
	}
	return nil, ErrKeyFormat
}

// ReadPrivateKey reads a private key file in any form [ParsePrivateKey]
// reads (PEM, JWK, base64 of either, a key as the keys API answers it): a
// regular file of at most 1 MiB, refused before it is read otherwise. The
// key's ID is the file's own (a JWK's kid, the API's id), or empty.
func ReadPrivateKey(path string) (*Key, error) {
	data, err := files.Read(path)
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return key, nil
}

// ParsePrivateKey is [ParseKey] for a key that must sign: a public key is
// [ErrNotPrivate].
func ParsePrivateKey(data []byte) (*Key, error) {
	k, err := ParseKey(data)
	if err != nil {
		return nil, err
	}
	if k.Private == nil {
		return nil, ErrNotPrivate
	}
	return k, nil
}

// decodeBase64 takes standard or URL base64, padded or not, ignoring line
// breaks.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func parsePEM(data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("malformed PEM: %w", ErrKeyFormat)
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, ErrKeyEncrypted
	}
	// The modulus is sized before x509 parses the key: parsing validates
	// it, which is RSA work that grows with its size.
	if err := checkDERSize(block.Type, block.Bytes); err != nil {
		return nil, err
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("malformed PKCS#1 private key: %w", ErrKeyFormat)
		}
		return NewKey("", priv)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("malformed PKCS#8 private key: %w", ErrKeyFormat)
		}
		priv, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s private key: %w", algName(k), ErrKeyType)
		}
		return NewKey("", priv)
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("malformed public key: %w", ErrKeyFormat)
		}
		pub, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%s public key: %w", algName(k), ErrKeyType)
		}
		return publicKey("", pub)
	case "RSA PUBLIC KEY":
		pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("malformed PKCS#1 public key: %w", ErrKeyFormat)
		}
		return publicKey("", pub)
	case "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY":
		return nil, fmt.Errorf("PEM block %q: %w", block.Type, ErrKeyType)
	}
	return nil, fmt.Errorf("PEM block %q is not a key: %w", block.Type, ErrKeyFormat)
}

func publicKey(id string, pub *rsa.PublicKey) (*Key, error) {
	if err := checkSize(pub); err != nil {
		return nil, err
	}
	return &Key{ID: id, Public: pub}, nil
}

func checkSize(pub *rsa.PublicKey) error {
	return checkBits(pub.N.BitLen())
}

func checkBits(n int) error {
	switch {
	case n < MinKeyBits:
		return fmt.Errorf("%d bits: %w", n, ErrKeyTooShort)
	case n > MaxKeyBits:
		return fmt.Errorf("%d bits: %w", n, ErrKeyTooLong)
	}
	return nil
}

// algName names the algorithm of a non-RSA key for an error message.
func algName(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "ECDSA"
	case ed25519.PrivateKey, ed25519.PublicKey:
		return "Ed25519"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return "ECDH"
	}
	return "non-RSA"
}

// jwk is an RSA JSON Web Key (RFC 7517, 7518), public or private.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d,omitempty"`
	P   string `json:"p,omitempty"`
	Q   string `json:"q,omitempty"`
}

func parseJWK(data []byte) (*Key, error) {
	var j jwk
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("malformed JWK: %w", ErrKeyFormat)
	}
	if j.Kty != "RSA" {
		return nil, fmt.Errorf("JWK of kty %q: %w", j.Kty, ErrKeyType)
	}
	pub, err := jwkPublic(j.N, j.E)
	if errors.Is(err, errJWKNumbers) {
		return nil, fmt.Errorf("JWK with %w: %w", err, ErrKeyFormat)
	}
	if err != nil {
		return nil, err
	}
	if j.D == "" {
		return publicKey(j.Kid, pub)
	}
	d, errD := jwkInt(j.D)
	p, errP := jwkInt(j.P)
	q, errQ := jwkInt(j.Q)
	if errD != nil || errP != nil || errQ != nil {
		return nil, fmt.Errorf("JWK with a malformed d, p or q: %w", ErrKeyFormat)
	}
	priv := &rsa.PrivateKey{PublicKey: *pub, D: d, Primes: []*big.Int{p, q}}
	if err := priv.Validate(); err != nil {
		return nil, fmt.Errorf("JWK private key is inconsistent: %w", ErrKeyFormat)
	}
	priv.Precompute()
	return &Key{ID: j.Kid, Private: priv, Public: &priv.PublicKey}, nil
}

// errJWKNumbers is a JWK's n or e that is no number of an RSA key.
var errJWKNumbers = errors.New("a malformed n or e")

// jwkPublic decodes a JWK's modulus and exponent into a public key of a
// size this package takes. Both are bounded before they are decoded: a
// modulus of MaxKeyBits is 1366 characters of base64, an exponent that
// fits 31 bits at most 6; longer ones are refused unread.
func jwkPublic(nField, eField string) (*rsa.PublicKey, error) {
	if len(nField) > (MaxKeyBits/8+1)*4/3+4 {
		return nil, fmt.Errorf("JWK n of %d characters: %w", len(nField), ErrKeyTooLong)
	}
	if len(eField) > 8 {
		return nil, errJWKNumbers
	}
	n, errN := jwkInt(nField)
	e, errE := jwkInt(eField)
	if errN != nil || errE != nil || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, errJWKNumbers
	}
	pub := &rsa.PublicKey{N: n, E: int(e.Int64())}
	if err := checkSize(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

func jwkInt(s string) (*big.Int, error) {
	if s == "" {
		return nil, errors.New("missing")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}

// PublicJWK returns the public half of k as a JWK for RS256 signatures.
func (k *Key) PublicJWK() json.RawMessage {
	b, _ := json.Marshal(jwk{
		Kty: "RSA", Kid: k.ID, Use: "sig", Alg: "RS256",
		N: base64.RawURLEncoding.EncodeToString(k.Public.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.Public.E)).Bytes()),
	})
	return b
}

// KeyID derives a stable ID for a key with none: the first 16 bytes of the
// SHA-256 of its public key, in hex (32 characters, the shape of Stream's
// key IDs).
func KeyID(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(x509.MarshalPKCS1PublicKey(pub))
	return hex.EncodeToString(sum[:16])
}

// String describes the key without its material: its ID, size and whether
// it is private. Printing or logging a Key never shows the private key.
func (k Key) String() string {
	kind := "public"
	if k.Private != nil {
		kind = "private"
	}
	return fmt.Sprintf("token.Key{ID: %q, RSA-%d %s, [redacted]}", k.ID, k.bits(), kind)
}

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }

// LogValue keeps the key's material out of log/slog output.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.Int("bits", k.bits()), slog.Bool("private", k.Private != nil))
}

// MarshalJSON writes the key's ID and size, never its material; use
// [Key.PublicJWK] for the public key as a JWK.
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID      string `json:"id"`
		Bits    int    `json:"bits"`
		Private bool   `json:"private"`
	}{k.ID, k.bits(), k.Private != nil})
}

func (k Key) bits() int {
	if k.Public == nil || k.Public.N == nil {
		return 0
	}
	return k.Public.N.BitLen()
}

// NamedKey is the private key in pem (PEM text) under the ID id, as a
// token request names the key to sign with: the ID checked first
// ([CheckKeyID]), then the key sized and parsed ([ParsePrivateKey]). What
// is wrong is a *[ValidationError] whose violation names idField or
// pemField; it holds no key material.
func NamedKey(id string, pem []byte, idField, pemField string) (*Key, error) {
	if err := CheckKeyID(id); err != nil {
		return nil, &ValidationError{Violations: []Violation{FieldViolation(err.Error(), idField)}}
	}
	key, err := ParsePrivateKey(pem)
	if err != nil {
		return nil, &ValidationError{Violations: []Violation{FieldViolation(err.Error(), pemField)}}
	}
	key.ID = id
	return key, nil
}
