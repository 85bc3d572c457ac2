package token

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

// The API hands a created signing key out as one JSON object, {"id", "pem",
// "jwk", "created"}: pem is base64 of a PKCS#1 PEM, jwk base64 of a private
// JWK whose kid is id. ParseKey reads that object (alone, or as the result
// of the API's envelope), so that a key saved as the API gave it signs with
// its kid.

// apiKey is the create-key result, or the envelope around it.
type apiKey struct {
	ID     string          `json:"id"`
	PEM    string          `json:"pem"`
	JWK    string          `json:"jwk"`
	Kty    string          `json:"kty"`
	Result json.RawMessage `json:"result"`
}

// parseObject reads a JSON object: a JWK, or the API's key result, alone
// or (when not already inside one) in the API's envelope.
func parseObject(data []byte, inEnvelope bool) (*Key, error) {
	var a apiKey
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("malformed JSON key: %w", ErrKeyFormat)
	}
	switch {
	case a.Kty != "":
		return parseJWK(data)
	case len(a.Result) > 0 && a.Result[0] == '{' && !inEnvelope:
		return parseObject(a.Result, true) // the API's whole answer
	case a.JWK == "" && a.PEM == "":
		return nil, fmt.Errorf("a JSON object that is neither a JWK nor the API's key (id, pem, jwk): %w", ErrKeyFormat)
	}
	if a.ID != "" {
		if err := CheckKeyID(a.ID); err != nil {
			return nil, fmt.Errorf("the key's id %w: %w", err, ErrKeyFormat)
		}
	}
	// The JWK carries the kid; the PEM only the key.
	field, value := "jwk", a.JWK
	if value == "" {
		field, value = "pem", a.PEM
	}
	raw, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("the key's %s is not base64: %w", field, ErrKeyFormat)
	}
	raw = bytes.TrimSpace(raw)
	var k *Key
	switch {
	case field == "jwk" && len(raw) > 0 && raw[0] == '{':
		k, err = parseJWK(raw)
	case field == "pem" && bytes.HasPrefix(raw, []byte("-----BEGIN")):
		k, err = parsePEM(raw)
	default:
		return nil, fmt.Errorf("the key's %s holds no %s key: %w", field, field, ErrKeyFormat)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case a.ID == "":
	case k.ID == "":
		k.ID = a.ID
	case k.ID != a.ID:
		return nil, fmt.Errorf("the key's id and its JWK's kid differ: %w", ErrKeyFormat)
	}
	return k, nil
}

// PrivatePEM returns k's private key as a PKCS#1 PEM block ("RSA PRIVATE
// KEY"), the form the API's pem field holds base64 of. It is secret: write
// it only where a private key belongs.
func (k *Key) PrivatePEM() ([]byte, error) {
	if k.Private == nil {
		return nil, ErrNotPrivate
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.Private)}), nil
}

// PrivateJWK returns k as a private JWK (RFC 7518, section 6.3) with its ID
// as kid, for RS256 signatures: the form the API's jwk field holds base64
// of. It is secret: write it only where a private key belongs.
func (k *Key) PrivateJWK() ([]byte, error) {
	if k.Private == nil {
		return nil, ErrNotPrivate
	}
	if len(k.Private.Primes) != 2 {
		return nil, errors.New("a multi-prime RSA key has no standard JWK form")
	}
	priv := k.Private
	priv.Precompute()
	enc := func(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.Bytes()) }
	return json.Marshal(jwkPrivate{
		Use: "sig", Kty: "RSA", Kid: k.ID, Alg: "RS256",
		N: enc(priv.N), E: enc(big.NewInt(int64(priv.E))), D: enc(priv.D),
		P: enc(priv.Primes[0]), Q: enc(priv.Primes[1]),
		DP: enc(priv.Precomputed.Dp), DQ: enc(priv.Precomputed.Dq), QI: enc(priv.Precomputed.Qinv),
	})
}

// jwkPrivate is a private RSA JWK in the field order of the API's.
type jwkPrivate struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"`
	P   string `json:"p"`
	Q   string `json:"q"`
	DP  string `json:"dp"`
	DQ  string `json:"dq"`
	QI  string `json:"qi"`
}
