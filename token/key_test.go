package token

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// privateJWK writes k as a private JWK, the form of the API's jwk field.
func privateJWK(k *rsa.PrivateKey, kid string) []byte {
	enc := func(i *big.Int) string { return base64.RawURLEncoding.EncodeToString(i.Bytes()) }
	b, _ := json.Marshal(map[string]string{
		"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": enc(k.N), "e": enc(big.NewInt(int64(k.E))), "d": enc(k.D),
		"p": enc(k.Primes[0]), "q": enc(k.Primes[1]),
		"dp": enc(k.Precomputed.Dp), "dq": enc(k.Precomputed.Dq), "qi": enc(k.Precomputed.Qinv),
	})
	return b
}

func TestParseKeyForms(t *testing.T) {
	pkcs1 := readTestdata(t, "rsa2048.pem")
	ref, err := ParseKey(pkcs1)
	if err != nil {
		t.Fatalf("ParseKey(PKCS#1 PEM) error = %v", err)
	}
	jwkJSON := privateJWK(ref.Private, "5213cfa121f70b8c1380686ffc371ba3")
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name        string
		data        []byte
		wantPrivate bool
		wantID      string
	}{
		{name: "PKCS#1 PEM", data: pkcs1, wantPrivate: true},
		{name: "PKCS#8 PEM", data: readTestdata(t, "rsa2048-pkcs8.pem"), wantPrivate: true},
		{name: "PKIX public PEM", data: readTestdata(t, "rsa2048-public.pem")},
		{name: "PKCS#1 public PEM", data: readTestdata(t, "rsa2048-public-pkcs1.pem")},
		{name: "API pem field (base64 of PEM)", data: []byte(b64(pkcs1)), wantPrivate: true},
		{name: "base64 with line breaks", data: []byte(wrap(b64(pkcs1), 76)), wantPrivate: true},
		{name: "private JWK", data: jwkJSON, wantPrivate: true, wantID: "5213cfa121f70b8c1380686ffc371ba3"},
		{name: "API jwk field (base64 of JWK)", data: []byte(b64(jwkJSON)), wantPrivate: true, wantID: "5213cfa121f70b8c1380686ffc371ba3"},
		{name: "public JWK", data: []byte(ref.PublicJWK()), wantID: ""},
		{name: "PEM with surrounding blank lines", data: append(append([]byte("\n\n"), pkcs1...), '\n'), wantPrivate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.data)
			if err != nil {
				t.Fatalf("ParseKey() error = %v", err)
			}
			if k.Public.N.Cmp(ref.Public.N) != 0 || k.Public.E != ref.Public.E {
				t.Error("ParseKey() returned a different public key")
			}
			if (k.Private != nil) != tt.wantPrivate {
				t.Errorf("ParseKey() private = %v, want %v", k.Private != nil, tt.wantPrivate)
			}
			if k.Private != nil && k.Private.D.Cmp(ref.Private.D) != 0 {
				t.Error("ParseKey() returned a different private exponent")
			}
			if k.ID != tt.wantID {
				t.Errorf("ParseKey() ID = %q, want %q", k.ID, tt.wantID)
			}
		})
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestParseKeyErrors(t *testing.T) {
	pkcs1 := readTestdata(t, "rsa2048.pem")
	k, _ := ParseKey(pkcs1)
	badJWK := privateJWK(k.Private, "x")
	badJWK = []byte(strings.Replace(string(badJWK), `"d":"`, `"d":"AQAB`, 1))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{name: "empty", data: nil, want: ErrKeyFormat},
		{name: "garbage", data: []byte("hello, world"), want: ErrKeyFormat},
		{name: "base64 of garbage", data: []byte(base64.StdEncoding.EncodeToString([]byte("hello"))), want: ErrKeyFormat},
		{name: "truncated PEM", data: pkcs1[:200], want: ErrKeyFormat},
		{name: "certificate request PEM", data: []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), want: ErrKeyFormat},
		{name: "EC key", data: readTestdata(t, "ec-p256.pem"), want: ErrKeyType},
		{name: "Ed25519 key", data: readTestdata(t, "ed25519.pem"), want: ErrKeyType},
		{name: "RSA-1024", data: readTestdata(t, "rsa1024.pem"), want: ErrKeyTooShort},
		{name: "EC JWK", data: []byte(`{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}`), want: ErrKeyType},
		{name: "JWK without n", data: []byte(`{"kty":"RSA","e":"AQAB"}`), want: ErrKeyFormat},
		{name: "JWK with a wrong d", data: badJWK, want: ErrKeyFormat},
		{name: "malformed JSON", data: []byte(`{"kty":`), want: ErrKeyFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKey(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseKey() error = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "MII") || strings.Contains(err.Error(), `"d"`) {
				t.Errorf("ParseKey() error %q shows key material", err)
			}
		})
	}
	if _, err := ParsePrivateKey(readTestdata(t, "rsa2048-public.pem")); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("ParsePrivateKey(public key) error = %v, want ErrNotPrivate", err)
	}
}

func TestJWKSRoundTrip(t *testing.T) {
	a, _ := ParseKey(readTestdata(t, "rsa2048.pem"))
	b, _ := ParseKey(readTestdata(t, "rsa3072.pem"))
	a.ID, b.ID = "key-a", "key-b"
	set := JWKS(a, b)
	if strings.Contains(string(set), `"d"`) || strings.Contains(string(set), `"p"`) {
		t.Fatalf("JWKS() = %s, shows private parts", set)
	}
	keys, err := ParseJWKS(set)
	if err != nil {
		t.Fatalf("ParseJWKS() error = %v", err)
	}
	if len(keys) != 2 || keys[0].ID != "key-a" || keys[1].ID != "key-b" || keys[1].Public.N.Cmp(b.Public.N) != 0 {
		t.Errorf("ParseJWKS(JWKS(a, b)) = %+v", keys)
	}
	for _, k := range keys {
		if k.Private != nil {
			t.Error("a key from a JWK set has a private half")
		}
	}
	if _, err := ParseJWKS([]byte(`{"keys":[{"kty":"EC"}]}`)); !errors.Is(err, ErrJWKSet) {
		t.Errorf("ParseJWKS(no RSA key) error = %v, want ErrJWKSet", err)
	}
}

func TestKeyID(t *testing.T) {
	a, _ := ParseKey(readTestdata(t, "rsa2048.pem"))
	b, _ := ParseKey(readTestdata(t, "rsa3072.pem"))
	again, _ := ParseKey(readTestdata(t, "rsa2048-public.pem"))
	if KeyID(a.Public) != KeyID(again.Public) || KeyID(a.Public) == KeyID(b.Public) || len(KeyID(a.Public)) != 32 {
		t.Errorf("KeyID() = %q, %q: want stable, distinct, 32 characters", KeyID(a.Public), KeyID(b.Public))
	}
}

// The keys of Cloudflare's official schema examples (the pem and jwk fields
// of a created signing key) must parse, alone and put together as the API's
// create-key answer, with the example's kid.
func TestOfficialExampleKeys(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "reference", "cloudflare-stream-tokens-official-excerpt.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("official schema excerpt not found at %s (it is beside the project's own checkout only)", path)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Example any `json:"example"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"stream_pem", "stream_jwk"} {
		ex, _ := doc.Components.Schemas[name].Example.(string)
		if ex == "" {
			t.Fatalf("%s has no example", name)
		}
		k, err := ParsePrivateKey([]byte(ex))
		if err != nil {
			t.Errorf("ParsePrivateKey(%s example) error = %v", name, err)
			continue
		}
		if name == "stream_jwk" && k.ID == "" {
			t.Errorf("%s example: no kid", name)
		}
	}
	example := func(name string) string { e, _ := doc.Components.Schemas[name].Example.(string); return e }
	result, _ := json.Marshal(map[string]string{"id": "5213cfa121f70b8c1380686ffc371ba3", "pem": example("stream_pem"), "jwk": example("stream_jwk"), "created": "2014-01-02T02:20:00Z"})
	if k, err := ParsePrivateKey(result); err != nil || k.ID != "5213cfa121f70b8c1380686ffc371ba3" {
		t.Errorf("ParsePrivateKey(official example answer) = %v, %v", k, err)
	}
}
