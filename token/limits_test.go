package token_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/netip"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/token"
)

// Limits tested at, just under and just over them.

// modulus returns an odd number of exactly bits bits: a public key of that
// size needs no factoring to write down.
func modulus(bits int) *big.Int {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return n.Add(n, big.NewInt(1))
}

func jwkOf(n *big.Int, e int64) []byte {
	b, _ := json.Marshal(map[string]string{
		"kty": "RSA", "kid": "k",
		"n": base64.RawURLEncoding.EncodeToString(n.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(e).Bytes()),
	})
	return b
}

func TestModulusSizeLimits(t *testing.T) {
	for _, tt := range []struct {
		bits int
		want error // nil: accepted
	}{
		{token.MinKeyBits - 1, token.ErrKeyTooShort},
		{token.MinKeyBits, nil},
		{token.MaxKeyBits - 1, nil},
		{token.MaxKeyBits, nil},
		{token.MaxKeyBits + 1, token.ErrKeyTooLong},
	} {
		pub := &rsa.PublicKey{N: modulus(tt.bits), E: 65537}
		pkix, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		forms := map[string][]byte{
			"PKIX PEM":   pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
			"PKCS#1 PEM": pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)}),
			"JWK":        jwkOf(pub.N, 65537),
		}
		for form, data := range forms {
			k, err := token.ParseKey(data)
			if tt.want == nil && (err != nil || k.Public.N.BitLen() != tt.bits) {
				t.Errorf("ParseKey(%s of %d bits) = %v, want it accepted", form, tt.bits, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("ParseKey(%s of %d bits) = %v, want %v", form, tt.bits, err, tt.want)
			}
		}
	}
	// A modulus of zero (all its bytes stripped) is refused, not a panic.
	zero := []byte{0x30, 0x08, 0x02, 0x01, 0x00, 0x02, 0x03, 0x01, 0x00, 0x01}
	if _, err := token.ParseKey(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: zero})); err == nil {
		t.Error("ParseKey(modulus 0) = nil error")
	}
}

func TestJWKModulusLengthIsCheckedBeforeDecoding(t *testing.T) {
	// The bound is what a MaxKeyBits modulus and a little slack take in
	// base64: 1,370 characters.
	const bound = (token.MaxKeyBits/8+1)*4/3 + 4
	for _, tt := range []struct {
		chars   int
		precede bool // refused by the length check, before any decoding
	}{
		{bound - 2, false}, // bound-1 is no base64 length
		{bound, false},
		{bound + 1, true},
	} {
		n := "w" + strings.Repeat("A", tt.chars-1)
		_, err := token.ParseKey([]byte(`{"kty":"RSA","n":"` + n + `","e":"AQAB"}`))
		if !errors.Is(err, token.ErrKeyTooLong) {
			t.Errorf("n of %d characters: %v, want ErrKeyTooLong", tt.chars, err)
		}
		if said := strings.Contains(err.Error(), "characters"); said != tt.precede {
			t.Errorf("n of %d characters: %q, want the length check to decide: %v", tt.chars, err, tt.precede)
		}
	}
}

func TestJWKExponentLimits(t *testing.T) {
	n := modulus(2048)
	for _, tt := range []struct {
		e  int64
		ok bool
	}{
		{1, false}, {2, false}, {3, true}, {65537, true},
		{1<<31 - 1, true}, {1 << 31, false}, {1 << 40, false},
	} {
		_, err := token.ParseKey(jwkOf(n, tt.e))
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, token.ErrKeyFormat)) {
			t.Errorf("ParseKey(JWK with e %d) = %v, want ok %v", tt.e, err, tt.ok)
		}
	}
}

func TestCountriesMatchInAnyCase(t *testing.T) {
	p, err := token.NewPolicy([]token.Rule{{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"AS", "ZW", "MZ"}}})
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("192.0.2.1")
	for _, c := range []string{"as", "aS", "As", "zw", "Zw", "mz", "ZW"} {
		if d := p.Evaluate(token.Viewer{IP: ip, Country: c}); d.Allowed {
			t.Errorf("viewer from %q: %s, want blocked", c, d)
		}
	}
	for _, c := range []string{"`s", "{w", "@S", "[W", "A", "ASX", ""} { // just outside a-z and A-Z, or not two letters
		if d := p.Evaluate(token.Viewer{IP: ip, Country: c}); !d.Allowed {
			t.Errorf("viewer from %q: %s, want no rule to match", c, d)
		}
	}
}

func TestQuotedValuesAreCut(t *testing.T) {
	for _, tt := range []struct {
		n   int
		cut bool
	}{{47, false}, {48, false}, {49, true}} {
		bad := strings.Repeat("x", tt.n)
		err := token.Request{VideoID: "v", AccessRules: []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{bad}}}}.Validate(fixedNow)
		if err == nil {
			t.Fatal("Validate() = nil")
		}
		if got := strings.Contains(err.Error(), "…"); got != tt.cut {
			t.Errorf("a %d-character value: %q, want cut %v", tt.n, err, tt.cut)
		}
		if !strings.Contains(err.Error(), `"`+strings.Repeat("x", min(tt.n, 48))+`"`) {
			t.Errorf("a %d-character value: %q, want its first 48 characters quoted", tt.n, err)
		}
	}
}

func TestUnknownKIDsAreCut(t *testing.T) {
	v := newVerifier(t, fixedNow)
	for _, tt := range []struct {
		n   int
		cut bool
	}{{63, false}, {64, false}, {65, true}} {
		kid := strings.Repeat("k", tt.n)
		tok := forge(`{"alg":"RS256","kid":"`+kid+`"}`, `{"sub":"v","exp":9999999999}`, func(string) []byte { return []byte("sig") })
		_, err := v.Verify(tok)
		if !errors.Is(err, token.ErrUnknownKey) {
			t.Fatalf("Verify(kid of %d) = %v, want ErrUnknownKey", tt.n, err)
		}
		if got := strings.Contains(err.Error(), kid[:min(tt.n, 64)]+"…"); got != tt.cut {
			t.Errorf("kid of %d: %q, want cut %v", tt.n, err, tt.cut)
		}
	}
}

func TestKeyDescribesItself(t *testing.T) {
	priv := loadKey(t, "rsa2048.pem", testKID)
	pub := &token.Key{ID: testKID, Public: priv.Public}
	tests := []struct {
		name             string
		key              token.Key
		kind, bits, priv string
	}{
		{"private", *priv, "private", "2048", "true"},
		{"public", *pub, "public", "2048", "false"},
		{"zero", token.Key{}, "public", "0", "false"},
		{"no modulus", token.Key{Public: &rsa.PublicKey{}}, "public", "0", "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s := tt.key.String(); !strings.Contains(s, tt.kind) || !strings.Contains(s, tt.bits) {
				t.Errorf("String() = %q, want %s and %s bits", s, tt.kind, tt.bits)
			}
			var logs strings.Builder
			slog.New(slog.NewTextHandler(&logs, nil)).Info("k", "key", tt.key)
			if !strings.Contains(logs.String(), "key.bits="+tt.bits) || !strings.Contains(logs.String(), "key.private="+tt.priv) {
				t.Errorf("LogValue() logs %q, want bits %s and private %s", logs.String(), tt.bits, tt.priv)
			}
			b, err := json.Marshal(tt.key)
			if err != nil || !strings.Contains(string(b), `"bits":`+tt.bits) || !strings.Contains(string(b), `"private":`+tt.priv) {
				t.Errorf("MarshalJSON() = %s, %v; want bits %s and private %s", b, err, tt.bits, tt.priv)
			}
		})
	}
}

func TestDecodeTakesApartWhatItCannotVerify(t *testing.T) {
	// An algorithm nobody signs with is still decoded, for debugging.
	tok := forge(`{"alg":"XYZ","kid":"k"}`, `{"sub":"v","exp":1}`, func(string) []byte { return []byte("sig") })
	d, err := token.Decode(tok)
	if err != nil || d.Header["alg"] != "XYZ" || d.Claims.VideoID != "v" {
		t.Errorf("Decode(alg XYZ) = %+v, %v; want it taken apart", d, err)
	}
	for _, bad := range []string{"a.b", "a.b.c.d", "!!.e30.x", "e30.!!.x", "bm90IGpzb24.e30.x"} {
		if _, err := token.Decode(bad); !errors.Is(err, token.ErrMalformed) {
			t.Errorf("Decode(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}
