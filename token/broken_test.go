package token_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/token"
)

// Keys broken past the point where their size is read: each reaches the
// error branch of crypto/x509 or of the JWK reader behind the size check.
func TestParseKeyRefusesBrokenKeys(t *testing.T) {
	n := modulus(2048)
	mustDER := func(v any) []byte {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A PKCS#1 private key of a sized modulus and nothing else.
	pkcs1Priv := mustDER(struct {
		Version int
		N       asn1.RawValue
	}{0, asn1.RawValue{Tag: asn1.TagInteger, Bytes: append([]byte{0}, n.Bytes()...)}})
	pkcs8 := mustDER(struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{0, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, Parameters: asn1.NullRawValue}, pkcs1Priv})
	pkcs1Pub := mustDER(struct{ N asn1.RawValue }{asn1.RawValue{Tag: asn1.TagInteger, Bytes: append([]byte{0}, n.Bytes()...)}})
	pkix := mustDER(struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, Parameters: asn1.NullRawValue}, asn1.BitString{Bytes: pkcs1Pub, BitLength: 8 * len(pkcs1Pub)}})
	ecPub, _ := x509.MarshalPKIXPublicKey(loadECPublic(t))
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }

	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"PKCS#1 private key, modulus only", block("RSA PRIVATE KEY", pkcs1Priv), token.ErrKeyFormat},
		{"PKCS#8 of it", block("PRIVATE KEY", pkcs8), token.ErrKeyFormat},
		{"PKCS#1 public key, modulus only", block("RSA PUBLIC KEY", pkcs1Pub), token.ErrKeyFormat},
		{"PKIX of it", block("PUBLIC KEY", pkix), token.ErrKeyFormat},
		{"PKIX of an EC key", block("PUBLIC KEY", ecPub), token.ErrKeyType},
		{"PKCS#8 not DER", block("PRIVATE KEY", []byte("nope")), token.ErrKeyFormat},
		{"PKIX not DER", block("PUBLIC KEY", []byte("nope")), token.ErrKeyFormat},
		{"PKCS#1 public not DER", block("RSA PUBLIC KEY", []byte("nope")), token.ErrKeyFormat},
		{"JWK n not base64", []byte(`{"kty":"RSA","n":"!!","e":"AQAB"}`), token.ErrKeyFormat},
		{"JWK e not base64", []byte(`{"kty":"RSA","n":"` + b64(n.Bytes()) + `","e":"!!"}`), token.ErrKeyFormat},
		{"JWK d not base64", []byte(`{"kty":"RSA","n":"` + b64(n.Bytes()) + `","e":"AQAB","d":"!!","p":"AQAB","q":"AQAB"}`), token.ErrKeyFormat},
		{"JWK private, inconsistent", []byte(`{"kty":"RSA","n":"` + b64(n.Bytes()) + `","e":"AQAB","d":"AQAB","p":"AQAB","q":"AQAB"}`), token.ErrKeyFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := token.ParseKey(tt.data)
			if !errors.Is(err, tt.want) {
				t.Errorf("ParseKey() = %v, %v; want %v", k, err, tt.want)
			}
		})
	}
}

func TestShortKeysAreRefusedEverywhere(t *testing.T) {
	block, _ := pem.Decode(testkey.Read(t, "rsa1024.pem"))
	short, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.NewKey("k", short); !errors.Is(err, token.ErrKeyTooShort) {
		t.Errorf("NewKey(1024 bits) = %v, want ErrKeyTooShort", err)
	}
	if _, err := token.NewKey("k", nil); err == nil {
		t.Error("NewKey(nil) = nil error")
	}
	if _, err := token.NewKey("k", &rsa.PrivateKey{}); err == nil {
		t.Error("NewKey(no modulus) = nil error")
	}
	if _, err := token.NewCryptoSigner("k", short); !errors.Is(err, token.ErrKeyTooShort) {
		t.Errorf("NewCryptoSigner(1024 bits) = %v, want ErrKeyTooShort", err)
	}
	if _, err := token.NewVerifier([]*token.Key{{ID: "k", Public: &short.PublicKey}}); !errors.Is(err, token.ErrKeyTooShort) {
		t.Errorf("NewVerifier(1024 bits) = %v, want ErrKeyTooShort", err)
	}
	for name, keys := range map[string][]*token.Key{
		"a nil key":     {nil},
		"no public key": {{ID: "k"}},
		"no ID":         {{Public: loadKey(t, "rsa2048.pem", "").Public}},
		"an ID twice":   {loadKey(t, "rsa2048.pem", "k"), loadKey(t, "rsa3072.pem", "k")},
	} {
		if _, err := token.NewVerifier(keys); err == nil {
			t.Errorf("NewVerifier(%s) = nil error", name)
		}
	}
	if _, err := token.ParsePrivateKey(testkey.Read(t, "rsa2048-public.pem")); !errors.Is(err, token.ErrNotPrivate) {
		t.Errorf("ParsePrivateKey(public) = %v, want ErrNotPrivate", err)
	}
	if _, err := token.ParsePrivateKey([]byte("garbage")); !errors.Is(err, token.ErrKeyFormat) || strings.Contains(err.Error(), "garbage") {
		t.Errorf("ParsePrivateKey(garbage) = %v, want ErrKeyFormat without the input", err)
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// loadECPublic is the public half of testdata's EC key.
func loadECPublic(t *testing.T) any {
	t.Helper()
	block, _ := pem.Decode(testkey.Read(t, "ec-p256.pem"))
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return k.(*ecdsa.PrivateKey).Public()
	}
	k, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

// failingSigner is a KMS that is down.
type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("kms unavailable")
}

// oddSigner holds a key of a type no one knows.
type oddSigner struct{ crypto.Signer }

func (oddSigner) Public() crypto.PublicKey { return struct{}{} }

func TestSignersSayWhatWentWrong(t *testing.T) {
	priv := loadKey(t, "rsa2048.pem", testKID).Private
	s, err := token.NewCryptoSigner("kms-key", failingSigner{priv})
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != "kms-key" || s.PublicKey().ID != "kms-key" || s.PublicKey().Private != nil {
		t.Errorf("KeyID() = %q, PublicKey() = %v; want kms-key's public half", s.KeyID(), s.PublicKey())
	}
	if tok, _, err := s.Sign(token.Request{VideoID: testVideo}); err == nil || tok != "" || !strings.Contains(err.Error(), "kms unavailable") {
		t.Errorf("Sign() with a failing KMS = %q, %v; want its error", tok, err)
	}
	if _, err := token.NewCryptoSigner("k", oddSigner{priv}); !errors.Is(err, token.ErrKeyType) || !strings.Contains(err.Error(), "non-RSA") {
		t.Errorf("NewCryptoSigner(unknown key type) = %v, want ErrKeyType", err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader) // cheap: not RSA
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(x.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	_, err = token.ParseKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if !errors.Is(err, token.ErrKeyType) || !strings.Contains(err.Error(), "ECDH") {
		t.Errorf("ParseKey(X25519) = %v, want ErrKeyType naming ECDH", err)
	}
}
