package token

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// oidRSA is rsaEncryption (RFC 8017, appendix A.1).
var oidRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

// checkDERSize reads only the modulus of a DER-encoded RSA key of the given
// PEM type and checks its size, before crypto/x509 parses (and validates)
// the whole key. A key of another algorithm is left to crypto/x509, which
// names it; a structure that is not even a key is malformed.
func checkDERSize(pemType string, der []byte) error {
	var modulus []byte
	var ok bool
	switch pemType {
	case "RSA PRIVATE KEY":
		modulus, ok = pkcs1PrivateModulus(der)
	case "RSA PUBLIC KEY":
		modulus, ok = pkcs1PublicModulus(der)
	case "PRIVATE KEY":
		var k struct {
			Version    int
			Algorithm  pkix.AlgorithmIdentifier
			PrivateKey []byte
		}
		if _, err := asn1.Unmarshal(der, &k); err != nil {
			return fmt.Errorf("malformed PKCS#8 private key: %w", ErrKeyFormat)
		}
		if !k.Algorithm.Algorithm.Equal(oidRSA) {
			return nil
		}
		modulus, ok = pkcs1PrivateModulus(k.PrivateKey)
	case "PUBLIC KEY":
		var k struct {
			Algorithm pkix.AlgorithmIdentifier
			PublicKey asn1.BitString
		}
		if _, err := asn1.Unmarshal(der, &k); err != nil {
			return fmt.Errorf("malformed public key: %w", ErrKeyFormat)
		}
		if !k.Algorithm.Algorithm.Equal(oidRSA) {
			return nil
		}
		modulus, ok = pkcs1PublicModulus(k.PublicKey.Bytes)
	default:
		return nil
	}
	if !ok {
		return fmt.Errorf("malformed RSA key: %w", ErrKeyFormat)
	}
	return checkBits(bitLen(modulus))
}

// pkcs1PrivateModulus returns the modulus of a PKCS#1 RSAPrivateKey
// (RFC 8017, appendix A.1.2) as big-endian bytes, reading nothing after it.
func pkcs1PrivateModulus(der []byte) ([]byte, bool) {
	var k struct {
		Version int
		N       asn1.RawValue
	}
	if _, err := asn1.Unmarshal(der, &k); err != nil || k.N.Tag != asn1.TagInteger {
		return nil, false
	}
	return k.N.Bytes, true
}

// pkcs1PublicModulus returns the modulus of a PKCS#1 RSAPublicKey.
func pkcs1PublicModulus(der []byte) ([]byte, bool) {
	var k struct {
		N asn1.RawValue
	}
	if _, err := asn1.Unmarshal(der, &k); err != nil || k.N.Tag != asn1.TagInteger {
		return nil, false
	}
	return k.N.Bytes, true
}

// bitLen is the length in bits of a big-endian unsigned integer: linear
// in its bytes, which the caller has bounded, and no RSA work.
func bitLen(b []byte) int { return new(big.Int).SetBytes(b).BitLen() }
