package token_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/streamtoken/streamtoken/token"
)

const (
	testKID   = "e9db990a82666dd571c77f944a5c5c8d"
	testVideo = "ea95132c15732412d22c1476fa83f27a"
	// seedToken is the example token of the API reference pages, signed by
	// Cloudflare; its exp and nbf are strings.
	seedToken = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImU5ZGI5OTBhODI2NjZkZDU3MWM3N2Y5NDRhNWM1YzhkIn0.eyJzdWIiOiJlYTk1MTMyYzE1NzMyNDEyZDIyYzE0NzZmYTgzZjI3YSIsImtpZCI6ImU5ZGI5OTBhODI2NjZkZDU3MWM3N2Y5NDRhNWM1YzhkIiwiZXhwIjoiMTUzNzQ2MDM2NSIsIm5iZiI6IjE1Mzc0NTMxNjUifQ.OZhqOARADn1iubK6GKcn25hN3nU-hCFF5q9w2C4yup0C4diG7aMIowiRpP-eDod8dbAJubsiFuTKrqPcmyCKWYsiv0TQueukqbQlF7HCO1TV-oF6El5-7ldJ46eD-ZQ0XgcIYEKrQOYFF8iDQbqPm3REWd6BnjKZdeVrLzuRaiSnZ9qqFpGu5dfxIY9-nZKDubJHqCr3Imtb211VIG_b9MdtO92JjvkDS-rxT_pkEfTZSafl1OU-98A7KBGtPSJHz2dHORIrUiTA6on4eIXTj9aFhGiir4rSn-rn0OjPRTtJMWIDMoQyE_fwrSYzB7MPuzL2t82BWaEbHZTfixBm5A"
)

var fixedNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

func loadKey(t testing.TB, name, kid string) *token.Key {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	k, err := token.ParseKey(b)
	if err != nil {
		t.Fatal(err)
	}
	k.ID = kid
	return k
}

func newSigner(t testing.TB) *token.Signer {
	t.Helper()
	s, err := token.NewSigner(loadKey(t, "rsa2048.pem", testKID), token.WithClock(clock(fixedNow)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newVerifier(t testing.TB, at time.Time, opts ...token.VerifierOption) *token.Verifier {
	t.Helper()
	v, err := token.NewVerifier([]*token.Key{loadKey(t, "rsa2048.pem", testKID)}, append([]token.VerifierOption{token.WithClock(clock(at))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var fullOptions = token.Request{
	VideoID:      testVideo,
	ExpiresAt:    fixedNow.Add(2 * time.Hour),
	NotBefore:    fixedNow.Add(-5 * time.Minute),
	Downloadable: true,
	AccessRules: []token.Rule{
		{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX"}},
		{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24", "2400:cb00::/32"}},
		{Type: token.RuleAny, Action: token.ActionBlock},
	},
}

func segment(t *testing.T, tok string, i int) []byte {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("segment %d is not base64url: %v", i, err)
	}
	return b
}

func TestSignVerifyRoundTrip(t *testing.T) {
	tok, claims, err := newSigner(t).Sign(fullOptions)
	if err != nil {
		t.Fatalf("Sign() error = %v", err)
	}
	got, err := newVerifier(t, fixedNow).Verify(tok)
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	want := &token.Claims{
		VideoID: testVideo, KeyID: testKID,
		ExpiresAt: fullOptions.ExpiresAt, NotBefore: fullOptions.NotBefore,
		Downloadable: true, AccessRules: fullOptions.AccessRules,
	}
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Errorf("Verify(Sign(o)) = %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(normalize(claims), normalize(want)) {
		t.Errorf("Sign() claims = %+v\nwant %+v", claims, want)
	}
}

// normalize makes times comparable with reflect.DeepEqual.
func normalize(c *token.Claims) token.Claims {
	n := *c
	n.ExpiresAt, n.NotBefore = n.ExpiresAt.UTC(), n.NotBefore.UTC()
	return n
}

func TestHeaderIsExact(t *testing.T) {
	tok, _, err := newSigner(t).Sign(token.Request{VideoID: testVideo})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(segment(t, tok, 0)), `{"alg":"RS256","kid":"`+testKID+`"}`; got != want {
		t.Errorf("header = %s, want %s", got, want)
	}
}

func TestClaimsJSON(t *testing.T) {
	tests := []struct {
		name string
		opts token.Request
		want string
	}{
		{
			name: "defaults",
			opts: token.Request{VideoID: testVideo},
			want: `{"sub":"` + testVideo + `","kid":"` + testKID + `","exp":` + itoa(fixedNow.Add(time.Hour).Unix()) + `,"nbf":` + itoa(fixedNow.Add(-time.Hour).Unix()) + `}`,
		},
		{
			name: "every option",
			opts: token.Request{VideoID: testVideo, ExpiresAt: fixedNow.Add(90 * time.Minute), NotBefore: fixedNow, Downloadable: true, Original: true,
				AccessRules: []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"10.0.0.0/8"}}, {Type: token.RuleAny, Action: token.ActionBlock}}},
			want: `{"sub":"` + testVideo + `","kid":"` + testKID + `","exp":` + itoa(fixedNow.Add(90*time.Minute).Unix()) + `,"nbf":` + itoa(fixedNow.Unix()) +
				`,"accessRules":[{"type":"ip.src","action":"allow","ip":["10.0.0.0/8"]},{"type":"any","action":"block"}],"downloadable":true,"flags":{"original":true}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _, err := newSigner(t).Sign(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			payload := segment(t, tok, 1)
			if string(payload) != tt.want {
				t.Errorf("claims = %s\nwant %s", payload, tt.want)
			}
			// exp and nbf are JSON numbers, not strings.
			var raw map[string]any
			if err := json.Unmarshal(payload, &raw); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"exp", "nbf"} {
				if _, ok := raw[name].(float64); !ok {
					t.Errorf("claim %s = %#v, want a number", name, raw[name])
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A second, independent JWT library must accept what Sign makes.
func TestIndependentLibraryVerifies(t *testing.T) {
	tok, _, err := newSigner(t).Sign(fullOptions)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("go-jose ParseSigned() error = %v", err)
	}
	if kid := jws.Signatures[0].Header.KeyID; kid != testKID {
		t.Errorf("go-jose kid = %q, want %q", kid, testKID)
	}
	payload, err := jws.Verify(loadKey(t, "rsa2048-public.pem", testKID).Public)
	if err != nil {
		t.Fatalf("go-jose Verify() error = %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil || claims["sub"] != testVideo {
		t.Errorf("go-jose payload = %s (%v)", payload, err)
	}
	if _, err := jws.Verify(loadKey(t, "rsa3072.pem", "other").Public); err == nil {
		t.Error("go-jose verified the token with the wrong key")
	}
}

// hsmKey stands in for a key in a KMS or an HSM: a crypto.Signer that is not
// an *rsa.PrivateKey.
type hsmKey struct{ k *rsa.PrivateKey }

func (h hsmKey) Public() crypto.PublicKey { return &h.k.PublicKey }
func (h hsmKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return h.k.Sign(r, digest, opts)
}

func TestCryptoSigner(t *testing.T) {
	k := loadKey(t, "rsa2048.pem", testKID)
	s, err := token.NewCryptoSigner(testKID, hsmKey{k.Private}, token.WithClock(clock(fixedNow)))
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.Sign(token.Request{VideoID: testVideo})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newVerifier(t, fixedNow).Verify(tok); err != nil {
		t.Errorf("Verify(token signed through crypto.Signer) error = %v", err)
	}
	if _, err := token.NewCryptoSigner("", hsmKey{k.Private}); !errors.Is(err, token.ErrNoKeyID) {
		t.Errorf("NewCryptoSigner(no kid) error = %v, want ErrNoKeyID", err)
	}
	if _, err := token.NewSigner(loadKey(t, "rsa2048-public.pem", testKID)); !errors.Is(err, token.ErrNotPrivate) {
		t.Errorf("NewSigner(public key) error = %v, want ErrNotPrivate", err)
	}
}

func TestSignRefusesInvalidOptions(t *testing.T) {
	s := newSigner(t)
	tests := []struct {
		name string
		opts token.Request
		want string
	}{
		{name: "exp 48h", opts: token.Request{VideoID: testVideo, ExpiresAt: fixedNow.Add(48 * time.Hour)}, want: "/exp"},
		{name: "no video", opts: token.Request{}, want: "/sub"},
		{name: "bad CIDR", opts: token.Request{VideoID: testVideo, AccessRules: []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"1.2.3.4/40"}}}}, want: "/accessRules/0/ip/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _, err := s.Sign(tt.opts)
			var verr *token.ValidationError
			if !errors.As(err, &verr) || tok != "" {
				t.Fatalf("Sign() = a token of %d bytes, %v; want a *ValidationError", len(tok), err)
			}
			if verr.Violations[0].Pointer != tt.want {
				t.Errorf("Sign() violation at %q, want %q", verr.Violations[0].Pointer, tt.want)
			}
		})
	}
}

// forge builds a token with any header and claims, signed by sign.
func forge(header, claims string, sign func(signingInput string) []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	input := enc([]byte(header)) + "." + enc([]byte(claims))
	return input + "." + enc(sign(input))
}

func TestVerifyRejects(t *testing.T) {
	priv := loadKey(t, "rsa2048.pem", testKID).Private
	other := loadKey(t, "rsa3072.pem", "other").Private
	pubPEM, _ := os.ReadFile(filepath.Join("testdata", "rsa2048-public.pem"))
	rs := func(k *rsa.PrivateKey, h crypto.Hash) func(string) []byte {
		return func(in string) []byte {
			hh := h.New()
			hh.Write([]byte(in))
			sig, err := rsa.SignPKCS1v15(rand.Reader, k, h, hh.Sum(nil))
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}
	}
	hs256 := func(in string) []byte {
		m := hmac.New(sha256.New, pubPEM)
		m.Write([]byte(in))
		return m.Sum(nil)
	}
	none := func(string) []byte { return nil }
	header := `{"alg":"RS256","kid":"` + testKID + `"}`
	claims := func(extra string) string {
		return `{"sub":"` + testVideo + `","kid":"` + testKID + `","exp":` + itoa(fixedNow.Add(time.Hour).Unix()) + `,"nbf":` + itoa(fixedNow.Add(-time.Hour).Unix()) + extra + `}`
	}
	good := forge(header, claims(""), rs(priv, crypto.SHA256))
	tests := []struct {
		name string
		tok  string
		at   time.Time
		want error
	}{
		{name: "unknown critical extension", tok: forge(`{"alg":"RS256","kid":"`+testKID+`","crit":["x-extension"]}`, claims(""), rs(priv, crypto.SHA256)), want: token.ErrMalformed},
		{name: "alg none", tok: forge(`{"alg":"none","kid":"`+testKID+`"}`, claims(""), none), want: token.ErrAlgorithm},
		{name: "HS256 keyed with the public key", tok: forge(`{"alg":"HS256","kid":"`+testKID+`"}`, claims(""), hs256), want: token.ErrAlgorithm},
		{name: "RS512", tok: forge(`{"alg":"RS512","kid":"`+testKID+`"}`, claims(""), rs(priv, crypto.SHA512)), want: token.ErrAlgorithm},
		{name: "unknown alg", tok: forge(`{"alg":"XX999","kid":"`+testKID+`"}`, claims(""), none), want: token.ErrAlgorithm},
		{name: "no alg", tok: forge(`{"kid":"`+testKID+`"}`, claims(""), none), want: token.ErrAlgorithm},
		{name: "signed by another key", tok: forge(header, claims(""), rs(other, crypto.SHA256)), want: token.ErrSignature},
		{name: "claims changed after signing", tok: tamper(good), want: token.ErrSignature},
		{name: "unknown kid", tok: forge(`{"alg":"RS256","kid":"nope"}`, claims(""), rs(priv, crypto.SHA256)), want: token.ErrUnknownKey},
		{name: "no kid", tok: forge(`{"alg":"RS256"}`, claims(""), rs(priv, crypto.SHA256)), want: token.ErrUnknownKey},
		{name: "expired", tok: good, at: fixedNow.Add(2 * time.Hour), want: token.ErrExpired},
		{name: "not yet valid", tok: good, at: fixedNow.Add(-2 * time.Hour), want: token.ErrNotYetValid},
		{name: "no exp", tok: forge(header, `{"sub":"`+testVideo+`"}`, rs(priv, crypto.SHA256)), want: token.ErrMalformed},
		{name: "no sub", tok: forge(header, `{"exp":`+itoa(fixedNow.Add(time.Hour).Unix())+`}`, rs(priv, crypto.SHA256)), want: token.ErrMalformed},
		{name: "claims kid differs", tok: forge(header, `{"sub":"v","kid":"other","exp":`+itoa(fixedNow.Add(time.Hour).Unix())+`}`, rs(priv, crypto.SHA256)), want: token.ErrMalformed},
		{name: "exp not a number", tok: forge(header, `{"sub":"v","exp":"soon"}`, rs(priv, crypto.SHA256)), want: token.ErrMalformed},
		{name: "two segments", tok: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2In0", want: token.ErrMalformed},
		{name: "not base64", tok: "!!!.???.***", want: token.ErrMalformed},
		{name: "header not JSON", tok: forge("not json", claims(""), rs(priv, crypto.SHA256)), want: token.ErrMalformed},
		{name: "empty", tok: "", want: token.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			if at.IsZero() {
				at = fixedNow
			}
			_, err := newVerifier(t, at).Verify(tt.tok)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.want)
			}
			if tt.tok != "" && strings.Contains(err.Error(), tt.tok) {
				t.Errorf("Verify() error repeats the token")
			}
		})
	}
	if _, err := newVerifier(t, fixedNow).Verify(good); err != nil {
		t.Fatalf("Verify(good) error = %v; the cases above prove nothing", err)
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	claims = []byte(strings.Replace(string(claims), `"sub":"`, `"sub":"x`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(claims)
	return strings.Join(parts, ".")
}

func TestLeeway(t *testing.T) {
	tok, _, err := newSigner(t).Sign(token.Request{VideoID: testVideo, ExpiresAt: fixedNow.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	justAfter := fixedNow.Add(time.Hour + 20*time.Second)
	if _, err := newVerifier(t, justAfter).Verify(tok); err != nil {
		t.Errorf("Verify() 20 s after exp with the default leeway: %v, want nil", err)
	}
	if _, err := newVerifier(t, justAfter, token.WithLeeway(0)).Verify(tok); !errors.Is(err, token.ErrExpired) {
		t.Errorf("Verify() 20 s after exp with no leeway: %v, want ErrExpired", err)
	}
	if _, err := newVerifier(t, fixedNow.Add(time.Hour+time.Minute)).Verify(tok); !errors.Is(err, token.ErrExpired) {
		t.Errorf("Verify() a minute after exp: %v, want ErrExpired", err)
	}
	if _, err := token.NewVerifier([]*token.Key{loadKey(t, "rsa2048.pem", testKID)}, token.WithLeeway(time.Hour)); err == nil {
		t.Error("NewVerifier(WithLeeway(1h)) error = nil, want one")
	}
}

func TestSeedTokenDecodes(t *testing.T) {
	d, err := token.Decode(seedToken)
	if err != nil {
		t.Fatalf("Decode(seed token) error = %v", err)
	}
	if d.Header["alg"] != "RS256" || d.Header["kid"] != testKID {
		t.Errorf("header = %v", d.Header)
	}
	c := d.Claims
	if c.VideoID != testVideo || c.KeyID != testKID || c.ExpiresAt.Unix() != 1537460365 || c.NotBefore.Unix() != 1537453165 {
		t.Errorf("claims = %+v, want sub %s, exp 1537460365, nbf 1537453165", c, testVideo)
	}
	// Its exp and nbf are strings, which Verify reads too: with a key of
	// the right kid it gets as far as the signature check.
	_, err = newVerifier(t, time.Unix(1537455000, 0)).Verify(strings.Replace(seedToken, "eyJhbGciOiJSUzI1NiIsImtpZCI6ImU5ZGI5OTBhODI2NjZkZDU3MWM3N2Y5NDRhNWM1YzhkIn0", "eyJhbGciOiJSUzI1NiIsImtpZCI6Im5vbmUifQ", 1))
	if !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("Verify(seed token) error = %v, want ErrUnknownKey (no key of its kid)", err)
	}
	v, err := token.NewVerifier([]*token.Key{loadKey(t, "rsa2048.pem", testKID)}, token.WithClock(clock(time.Unix(1537455000, 0))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(seedToken); !errors.Is(err, token.ErrSignature) {
		t.Errorf("Verify(seed token, not Cloudflare's key) error = %v, want ErrSignature", err)
	}
}

func TestVerifierRefusesBadKeySets(t *testing.T) {
	k := loadKey(t, "rsa2048.pem", testKID)
	noID := loadKey(t, "rsa2048.pem", "")
	for name, keys := range map[string][]*token.Key{
		"no ID": {noID}, "same ID twice": {k, k}, "nil key": {nil},
	} {
		if _, err := token.NewVerifier(keys); err == nil {
			t.Errorf("NewVerifier(%s) error = nil, want one", name)
		}
	}
}
