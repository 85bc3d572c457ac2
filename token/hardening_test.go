package token_test

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/token"
)

// fakeModulus is an odd number of exactly bits bits: the modulus of a key
// too large to generate in a test, which must be refused before use.
func fakeModulus(bits int) *big.Int {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return n.Or(n, big.NewInt(1))
}

// oversizedKeys are keys of 16384 bits in every form ParseKey reads. Their
// private parts are junk: only their size may be looked at.
func oversizedKeys(t testing.TB) map[string][]byte {
	t.Helper()
	n, e := fakeModulus(16384), 65537
	pkcs1, err := asn1.Marshal(struct {
		Version               int
		N                     *big.Int
		E                     int
		D, P, Q, Dp, Dq, Qinv *big.Int
	}{0, n, e, n, n, n, n, n, n})
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := asn1.Marshal(struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{0, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, Parameters: asn1.NullRawValue}, pkcs1})
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: n, E: e}
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(i *big.Int) string { return base64.RawURLEncoding.EncodeToString(i.Bytes()) }
	jwkPub := fmt.Sprintf(`{"kty":"RSA","kid":"k","n":%q,"e":"AQAB"}`, b64(n))
	jwkPriv := fmt.Sprintf(`{"kty":"RSA","kid":"k","n":%q,"e":"AQAB","d":%q,"p":%q,"q":%q}`, b64(n), b64(n), b64(n), b64(n))
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	return map[string][]byte{
		"PKCS#1 private":        pemOf("RSA PRIVATE KEY", pkcs1),
		"PKCS#8 private":        pemOf("PRIVATE KEY", pkcs8),
		"PKIX public":           pemOf("PUBLIC KEY", pkix),
		"PKCS#1 public":         pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(pub)),
		"base64 of PEM":         []byte(base64.StdEncoding.EncodeToString(pemOf("RSA PRIVATE KEY", pkcs1))),
		"public JWK":            []byte(jwkPub),
		"private JWK":           []byte(jwkPriv),
		"base64 of private JWK": []byte(base64.StdEncoding.EncodeToString([]byte(jwkPriv))),
	}
}

func TestParseKeyRefusesKeysOver8192Bits(t *testing.T) {
	for name, data := range oversizedKeys(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := token.ParseKey(data); !errors.Is(err, token.ErrKeyTooLong) {
				t.Errorf("ParseKey(16384-bit %s) = %v, want %v", name, err, token.ErrKeyTooLong)
			}
		})
	}
	set := fmt.Sprintf(`{"keys":[%s]}`, oversizedKeys(t)["public JWK"])
	if _, err := token.ParseJWKS([]byte(set)); !errors.Is(err, token.ErrKeyTooLong) {
		t.Errorf("ParseJWKS(a 16384-bit key) = %v, want %v", err, token.ErrKeyTooLong)
	}
	// The largest size taken, in the forms that are sized before parsing.
	max := &rsa.PublicKey{N: fakeModulus(token.MaxKeyBits), E: 65537}
	pkixMax, err := x509.MarshalPKIXPublicKey(max)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"PKIX public":   pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkixMax}),
		"PKCS#1 public": pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(max)}),
		"public JWK":    []byte(fmt.Sprintf(`{"kty":"RSA","kid":"k","n":%q,"e":"AQAB"}`, base64.RawURLEncoding.EncodeToString(max.N.Bytes()))),
	} {
		if k, err := token.ParseKey(data); err != nil || k.Public.N.BitLen() != token.MaxKeyBits {
			t.Errorf("ParseKey(%d-bit %s) = %v, want the key", token.MaxKeyBits, name, err)
		}
	}
	big := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: fakeModulus(8200), E: 65537}}
	if _, err := token.NewKey("k", big); !errors.Is(err, token.ErrKeyTooLong) {
		t.Errorf("NewKey(8200 bits) = %v, want %v", err, token.ErrKeyTooLong)
	}
}

// BenchmarkParseKeyOversized shows that a refused 16384-bit key costs
// microseconds: its size is read before any RSA work.
func BenchmarkParseKeyOversized(b *testing.B) {
	data := oversizedKeys(b)["PKCS#1 private"]
	for b.Loop() {
		if _, err := token.ParseKey(data); !errors.Is(err, token.ErrKeyTooLong) {
			b.Fatal(err)
		}
	}
}

func TestParseKeyEncrypted(t *testing.T) {
	for name, data := range map[string]string{
		"PKCS#8 encrypted": "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
		"legacy Proc-Type": "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,0123456789ABCDEF0123456789ABCDEF\n\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END RSA PRIVATE KEY-----\n",
	} {
		_, err := token.ParseKey([]byte(data))
		if !errors.Is(err, token.ErrKeyEncrypted) || !strings.Contains(err.Error(), "decrypt it first") {
			t.Errorf("ParseKey(%s) = %v, want %v", name, err, token.ErrKeyEncrypted)
		}
	}
}

// secretsOf are the forms a private key's material could leak in.
func secretsOf(k *rsa.PrivateKey) []string {
	der := x509.MarshalPKCS1PrivateKey(k)
	block := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}))
	lines := strings.Split(block, "\n")
	return []string{
		k.D.String(), k.D.Text(16), fmt.Sprintf("%x", k.D.Bytes()[:16]),
		base64.RawURLEncoding.EncodeToString(k.D.Bytes())[:32],
		base64.StdEncoding.EncodeToString(der)[100:140], // past the header
		lines[5], // a line of the PEM body, all key material
		k.Primes[0].String(),
	}
}

// printings are the ways v can reach an output: fmt's verbs, log/slog's
// text and JSON handlers, and encoding/json.
func printings(t *testing.T, v any) map[string]string {
	t.Helper()
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("v", "v", v)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("v", "v", v)
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"%v": fmt.Sprintf("%v", v), "%+v": fmt.Sprintf("%+v", v), "%#v": fmt.Sprintf("%#v", v), "%s": fmt.Sprintf("[%s]", v),
		"slog": logs.String(), "json": string(j),
	}
}

func TestKeyNeverPrintsItsPrivateHalf(t *testing.T) {
	k := loadKey(t, "rsa2048.pem", testKID)
	outputs := printings(t, k)
	outputs["value %v"] = fmt.Sprintf("%v", *k)
	outputs["in a struct"] = fmt.Sprintf("%+v", struct{ K *token.Key }{k})
	for how, out := range outputs {
		for _, secret := range secretsOf(k.Private) {
			if strings.Contains(out, secret) {
				t.Errorf("%s of a key holds private key material", how)
			}
		}
		if !strings.Contains(out, testKID) && how != "in a struct" {
			t.Errorf("%s of a key = %q, want its ID", how, out)
		}
	}
}

func TestVideoIDRule(t *testing.T) {
	tests := []struct {
		id, want string // want: a prefix of the problem, "" for none
	}{
		{"ea95132c15732412d22c1476fa83f27a", ""},
		{"a-b_c.d~", ""},
		{"!x", ""},
		{"a/b", ""}, // a path's rule, not a claim's: see internal/wire
		{strings.Repeat("a", 31), ""},
		{strings.Repeat("a", 32), ""},
		{"", "is required"},
		{"a b", "must be printable ASCII without spaces, got \" \" at character 2"},
		{"a\r\nb", "must be printable ASCII"},
		{"a\x00", "must be printable ASCII"},
		{"\x7f", "must be printable ASCII"},
		{"vidéo", "must be printable ASCII"},
		{strings.Repeat("a", 33), "must be at most 32 characters, got 33"},
		{strings.Repeat("é", 20), "must be printable ASCII"},
		{strings.Repeat("é", 40), "must be at most 32 characters, got 40"}, // characters, not 80 bytes
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := token.Request{VideoID: tt.id}.Validate(fixedNow)
			var got string
			var verr *token.ValidationError
			if errors.As(err, &verr) {
				if len(verr.Violations) != 1 || verr.Violations[0].Field != "VideoID" || verr.Violations[0].Pointer != "/sub" {
					t.Fatalf("Validate(VideoID %q) = %v, want one VideoID violation at /sub", tt.id, err)
				}
				got = verr.Violations[0].Problem
			} else if err != nil {
				t.Fatalf("Validate(VideoID %q) = %v, want a *ValidationError", tt.id, err)
			}
			if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
				t.Errorf("Validate(VideoID %q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func TestSignerRefusesBadKeyIDs(t *testing.T) {
	k := loadKey(t, "rsa2048.pem", "")
	for _, kid := range []string{strings.Repeat("k", 65), "a\r\nb", "a b", "clé"} {
		k.ID = kid
		if _, err := token.NewSigner(k); err == nil {
			t.Errorf("NewSigner(kid %q) = nil error, want a refusal", kid)
		}
	}
	k.ID = strings.Repeat("k", 64)
	if _, err := token.NewSigner(k); err != nil {
		t.Errorf("NewSigner(64-character kid) = %v, want nil", err)
	}
}

func TestSignRefusesNbfBefore1970(t *testing.T) {
	s := newSigner(t)
	for _, nbf := range []int64{-1, -1000000000000001, -9000000000000000000} {
		_, _, err := s.Sign(token.Request{VideoID: testVideo, NotBefore: time.Unix(nbf, 0)})
		var verr *token.ValidationError
		if !errors.As(err, &verr) || verr.Violations[0].Pointer != "/nbf" {
			t.Errorf("Sign(nbf %d) = %v, want a violation at /nbf", nbf, err)
		}
	}
	if _, _, err := s.Sign(token.Request{VideoID: testVideo, NotBefore: time.Unix(0, 0)}); err != nil {
		t.Errorf("Sign(nbf 0) = %v, want nil", err)
	}
}

// TestSignedTokensVerify is a property: whatever options Sign accepts, the
// verifier accepts the token it makes, with the same claims.
func TestSignedTokensVerify(t *testing.T) {
	s := newSigner(t)
	v := newVerifier(t, fixedNow)
	r := rand.New(rand.NewPCG(1, 2))
	const printable = "!\"#$%&'()*+,-.0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~"
	signed := 0
	for i := range 2000 {
		n := 1 + r.IntN(32)
		id := make([]byte, n)
		for j := range id {
			id[j] = printable[r.IntN(len(printable))]
		}
		o := token.Request{VideoID: string(id), Downloadable: r.IntN(2) == 0, Original: r.IntN(2) == 0}
		if r.IntN(2) == 0 {
			o.ExpiresAt = fixedNow.Add(time.Duration(r.Int64N(int64(30*time.Hour))) - 3*time.Hour)
		}
		if r.IntN(2) == 0 {
			o.NotBefore = time.Unix(r.Int64N(fixedNow.Unix()*2)-fixedNow.Unix()/2, 0)
		}
		if r.IntN(3) == 0 {
			o.AccessRules = []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"10.0.0.0/8"}}, {Type: token.RuleAny, Action: token.ActionBlock}}
		}
		tok, claims, err := s.Sign(o)
		if err != nil {
			continue // refused: nothing to verify
		}
		signed++
		got, err := v.Verify(tok)
		if err != nil {
			if errors.Is(err, token.ErrNotYetValid) && claims.NotBefore.After(fixedNow) {
				continue // a valid token for later
			}
			t.Fatalf("case %d: Verify(Sign(%+v)) = %v", i, o, err)
		}
		if got.VideoID != o.VideoID || !got.ExpiresAt.Equal(claims.ExpiresAt) || !got.NotBefore.Equal(claims.NotBefore) {
			t.Fatalf("case %d: claims %+v, signed %+v", i, got, claims)
		}
	}
	if signed < 200 {
		t.Fatalf("only %d of 2000 random options were signed: the property is barely tested", signed)
	}
}

func TestViolationsAreCapped(t *testing.T) {
	var e token.ValidationError
	e.Violations = []token.Violation{{Field: "exp", Problem: "bad"}}
	if got := e.Error(); strings.Contains(got, "more") {
		t.Errorf("Error() with nothing uncounted = %q, want no count", got)
	}
	ips := make([]string, 30000)
	for i := range ips {
		ips[i] = "not-an-ip"
	}
	err := token.Request{VideoID: testVideo, AccessRules: []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: ips}}}.Validate(fixedNow)
	var verr *token.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	if len(verr.Violations) != token.MaxViolations || verr.More != 30000-token.MaxViolations {
		t.Errorf("Validate(30000 bad IPs) lists %d violations and %d more, want %d and %d", len(verr.Violations), verr.More, token.MaxViolations, 30000-token.MaxViolations)
	}
	if msg := err.Error(); len(msg) > 4096 || !strings.HasSuffix(msg, "and 29980 more") {
		t.Errorf("Error() is %d bytes ending %q, want a short message ending with the count", len(msg), msg[max(0, len(msg)-40):])
	}
}

func TestClaimTimesAreDecimalDigits(t *testing.T) {
	for _, exp := range []string{`"0x1p30"`, `"1.5e9"`, `1795932306.5`, `1.7e9`, `"+1795932306"`, `""`, `"-"`, `1e309`, `"9999999999999999"`} {
		var c token.Claims
		if err := json.Unmarshal([]byte(`{"sub":"v","exp":`+exp+`}`), &c); err == nil {
			t.Errorf("Unmarshal(exp %s) = %v, want an error", exp, c.ExpiresAt)
		}
	}
	for exp, want := range map[string]int64{`1795932306`: 1795932306, `"1537460365"`: 1537460365, `-5`: -5, `999999999999999`: 999999999999999} {
		var c token.Claims
		if err := json.Unmarshal([]byte(`{"sub":"v","exp":`+exp+`}`), &c); err != nil || c.ExpiresAt.Unix() != want {
			t.Errorf("Unmarshal(exp %s) = %v, %v, want %d", exp, c.ExpiresAt.Unix(), err, want)
		}
	}
}
