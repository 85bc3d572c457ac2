package token_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/token"
)

func TestClaimsJSONRoundTrip(t *testing.T) {
	in := token.Claims{
		VideoID: testVideo, KeyID: testKID,
		ExpiresAt: time.Unix(1795932306, 0), NotBefore: time.Unix(1795925106, 0),
		Downloadable: true, Original: true,
		AccessRules: []token.Rule{{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US"}}},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"sub":"` + testVideo + `","kid":"` + testKID + `","exp":1795932306,"nbf":1795925106,"accessRules":[{"type":"ip.geoip.country","action":"block","country":["US"]}],"downloadable":true,"flags":{"original":true}}`
	if string(b) != want {
		t.Errorf("Marshal() = %s\nwant %s", b, want)
	}
	var out token.Claims
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.VideoID != in.VideoID || out.KeyID != in.KeyID || !out.ExpiresAt.Equal(in.ExpiresAt) || !out.NotBefore.Equal(in.NotBefore) ||
		!out.Downloadable || !out.Original || len(out.AccessRules) != 1 || out.AccessRules[0].Country[0] != "US" {
		t.Errorf("Unmarshal(Marshal(c)) = %+v, want %+v", out, in)
	}
	// Cloudflare's own tokens carry times as strings; a claims object
	// without nbf leaves NotBefore zero.
	var cf token.Claims
	if err := json.Unmarshal([]byte(`{"sub":"v","kid":"k","exp":"1537460365"}`), &cf); err != nil || cf.ExpiresAt.Unix() != 1537460365 || !cf.NotBefore.IsZero() {
		t.Errorf("Unmarshal(string exp) = %+v, %v", cf, err)
	}
	for _, bad := range []string{`{"exp":1.5}`, `{"exp":"1e9"}`, `{"exp":"0x10"}`, `{"nbf":"+5"}`, `{"exp":1234567890123456}`, `[`, `{"sub":5}`} {
		if err := json.Unmarshal([]byte(bad), &cf); err == nil {
			t.Errorf("Unmarshal(%s) = nil error, want a refusal", bad)
		}
	}
	if err := json.Unmarshal([]byte(`{"exp":123456789012345}`), &cf); err != nil {
		t.Errorf("Unmarshal(15-digit exp) = %v, want nil", err)
	}
	if err := json.Unmarshal([]byte(`{"exp":-123456789012345}`), &cf); err != nil {
		t.Errorf("Unmarshal(15-digit negative exp) = %v, want nil", err)
	}
}

func TestZeroClaimsDoNotMarshal(t *testing.T) {
	if b, err := json.Marshal(token.Claims{VideoID: testVideo}); err == nil {
		t.Errorf("Marshal(claims without exp) = %s, want an error, not an exp in year 1", b)
	}
}

func TestClaimsEvaluate(t *testing.T) {
	c := token.Claims{AccessRules: []token.Rule{
		{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"10.0.0.0/8"}},
		{Type: token.RuleAny, Action: token.ActionBlock},
	}}
	tests := []struct {
		ip        string
		allowed   bool
		index     int
		statement string
	}{
		{"10.1.2.3", true, 0, "allowed by rule 1 (of 2)"},
		{"192.0.2.1", false, 1, "blocked by rule 2 (of 2)"},
	}
	for _, tt := range tests {
		d, err := c.Evaluate(token.Viewer{IP: netip.MustParseAddr(tt.ip)})
		if err != nil || d.Allowed != tt.allowed || d.RuleIndex != tt.index || d.Rules != 2 || d.String() != tt.statement {
			t.Errorf("Evaluate(%s) = %+v (%s), %v; want %v at %d, %q", tt.ip, d, d, err, tt.allowed, tt.index, tt.statement)
		}
	}
	none, err := (&token.Claims{}).Evaluate(token.Viewer{})
	if err != nil || !none.Allowed || none.RuleIndex != -1 || none.String() != "allowed: no rule matched (of 0)" {
		t.Errorf("Evaluate(no rules) = %+v (%s), %v", none, none, err)
	}
	var zero token.Policy
	if d := zero.Evaluate(token.Viewer{IP: netip.MustParseAddr("10.0.0.1")}); !d.Allowed || d.RuleIndex != -1 {
		t.Errorf("zero Policy.Evaluate() = %+v, want allowed by no rule", d)
	}
	bad := token.Claims{AccessRules: []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"nope"}}}}
	if _, err := bad.Evaluate(token.Viewer{}); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("Evaluate(bad rules) = %v, want ErrInvalid", err)
	}
	blockedNoMatch := token.Decision{Allowed: false, RuleIndex: -1, Rules: 1}
	if got := blockedNoMatch.String(); got != "blocked: no rule matched (of 1)" {
		t.Errorf("String() = %q", got)
	}
}

func TestValidationErrorText(t *testing.T) {
	err := &token.ValidationError{Violations: []token.Violation{
		{Field: "exp", Problem: "must be after now"},
		{Field: "accessRules[0].ip[1]", Problem: `"x" is not an IP address or CIDR`},
	}, More: 3}
	want := `invalid request: exp: must be after now; accessRules[0].ip[1]: "x" is not an IP address or CIDR; and 3 more`
	if err.Error() != want {
		t.Errorf("Error() = %q\nwant %q", err.Error(), want)
	}
	if !errors.Is(err, token.ErrInvalid) || errors.Is(err, token.ErrMalformed) {
		t.Error("a ValidationError is ErrInvalid and nothing else")
	}
	one := &token.ValidationError{Violations: []token.Violation{{Field: "VideoID", Problem: "is required"}}}
	if got := one.Error(); got != "invalid request: VideoID: is required" {
		t.Errorf("Error() = %q", got)
	}
	if token.Join() != nil || token.Join(errors.New("other"), nil) != nil {
		t.Error("Join(no validation errors) != nil")
	}
	joined := token.Join(err, one)
	if len(joined.Violations) != 3 || joined.More != 3 {
		t.Errorf("Join() = %+v, want 3 violations and 3 more", joined)
	}
}

// notRSA is a crypto.Signer with an EC key, as a KMS might hold.
type notRSA struct{ crypto.Signer }

func TestNewCryptoSignerRefusesWhatIsNotRSA(t *testing.T) {
	data, err := os.ReadFile("testdata/ec-p256.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		ec, err2 := x509.ParseECPrivateKey(block.Bytes)
		if err2 != nil {
			t.Fatal(err)
		}
		k = ec
	}
	_, err = token.NewCryptoSigner(testKID, notRSA{k.(*ecdsa.PrivateKey)})
	if !errors.Is(err, token.ErrKeyType) || !strings.Contains(err.Error(), "ECDSA") {
		t.Errorf("NewCryptoSigner(ECDSA) = %v, want ErrKeyType naming ECDSA", err)
	}
	if _, err := token.NewCryptoSigner(testKID, nil); err == nil {
		t.Error("NewCryptoSigner(nil) = nil error")
	}
	if _, err := token.NewSigner(nil); err == nil {
		t.Error("NewSigner(nil) = nil error")
	}
}

func TestOptionsAreChecked(t *testing.T) {
	key := loadKey(t, "rsa2048.pem", testKID)
	tests := []struct {
		name string
		opts []token.VerifierOption
		want string // "" for none
	}{
		{"no options", nil, ""},
		{"a nil option", []token.VerifierOption{nil}, ""},
		{"leeway 0", []token.VerifierOption{token.WithLeeway(0)}, ""},
		{"leeway at most", []token.VerifierOption{token.WithLeeway(token.MaxLeeway)}, ""},
		{"leeway past most", []token.VerifierOption{token.WithLeeway(token.MaxLeeway + time.Nanosecond)}, "WithLeeway"},
		{"negative leeway", []token.VerifierOption{token.WithLeeway(-time.Nanosecond)}, "WithLeeway"},
		{"nil clock", []token.VerifierOption{token.WithClock(nil)}, "WithClock: nil clock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := token.NewVerifier([]*token.Key{key}, tt.opts...)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("NewVerifier(%s) = %v, want %q", tt.name, err, tt.want)
			}
		})
	}
	// An option of the other kind is no option of this one: giving it
	// fails to build (golang-jwt's ParserOption does the same).
	signerOption := reflect.TypeFor[token.SignerOption]()
	verifierOption := reflect.TypeFor[token.VerifierOption]()
	for name, o := range map[string]any{"WithLeeway": token.WithLeeway(0), "WithCrypto": token.WithCrypto(token.CryptoGo), "WithClock": token.WithClock(time.Now)} {
		typ := reflect.TypeOf(o)
		if s, v := typ.Implements(signerOption), typ.Implements(verifierOption); s != (name != "WithLeeway") || v != (name != "WithCrypto") {
			t.Errorf("%s: a SignerOption %v, a VerifierOption %v", name, s, v)
		}
	}
	if reflect.TypeOf(token.WithCrypto(token.CryptoGo)).Implements(reflect.TypeFor[token.Option]()) {
		t.Error("WithCrypto is an Option: NewCryptoSigner, which takes Options alone, would take it")
	}
	if _, err := token.NewSigner(key, token.WithClock(nil)); err == nil {
		t.Error("NewSigner(nil clock) = nil error")
	}
}

func TestLeewayIsHonouredAtItsEdge(t *testing.T) {
	tok, claims, err := newSigner(t).Sign(token.Request{VideoID: testVideo})
	if err != nil {
		t.Fatal(err)
	}
	exp := claims.ExpiresAt
	for _, tt := range []struct {
		after time.Duration
		ok    bool
	}{
		{token.DefaultLeeway - time.Second, true},
		{token.DefaultLeeway, false}, // exp is exclusive (RFC 7519, 4.1.4), the leeway too
		{token.DefaultLeeway + time.Second, false},
	} {
		_, err := newVerifier(t, exp.Add(tt.after)).Verify(tok)
		if (err == nil) != tt.ok {
			t.Errorf("Verify() %v after exp = %v, want ok %v", tt.after, err, tt.ok)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	k, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if k.Private == nil || k.Public.N.BitLen() != token.MinKeyBits || k.ID != token.KeyID(k.Public) {
		t.Errorf("GenerateKey() = %v bits %d, want a %d-bit private key named by KeyID", k, k.Public.N.BitLen(), token.MinKeyBits)
	}
	s, err := token.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Sign(token.Request{VideoID: testVideo}); err != nil {
		t.Errorf("a generated key does not sign: %v", err)
	}
}

func TestJoinCapsWhatItLists(t *testing.T) {
	many := func(n, more int) *token.ValidationError {
		e := &token.ValidationError{More: more}
		for i := range n {
			e.Violations = append(e.Violations, token.Violation{Field: "f" + strconv.Itoa(i), Problem: "bad"})
		}
		return e
	}
	for _, tt := range []struct {
		a, b                 *token.ValidationError
		wantListed, wantMore int
	}{
		{many(10, 0), many(9, 0), 19, 0},
		{many(10, 0), many(10, 0), 20, 0},
		{many(10, 0), many(11, 0), 20, 1},
		{many(15, 2), many(15, 3), 20, 15},
	} {
		got := token.Join(tt.a, tt.b)
		if len(got.Violations) != tt.wantListed || got.More != tt.wantMore || len(got.Violations) > token.MaxViolations {
			t.Errorf("Join(%d+%d, %d+%d) = %d listed, %d more; want %d, %d", len(tt.a.Violations), tt.a.More, len(tt.b.Violations), tt.b.More, len(got.Violations), got.More, tt.wantListed, tt.wantMore)
		}
	}
}

func TestDraftSignsToWhatSignSigns(t *testing.T) {
	s := newSigner(t)
	want, wantClaims, err := s.Sign(fullOptions)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Draft(fullOptions)
	if err != nil {
		t.Fatal(err)
	}
	if d.Signer() != s {
		t.Error("Draft.Signer() is not the signer that drafted it")
	}
	if in := d.SigningInput(); !strings.HasPrefix(want, in+".") || strings.Count(in, ".") != 1 {
		t.Errorf("SigningInput() = %q, want the token up to its signature", in)
	}
	if c := d.Claims(); c.VideoID != wantClaims.VideoID || !c.ExpiresAt.Equal(wantClaims.ExpiresAt) || len(c.AccessRules) != len(wantClaims.AccessRules) {
		t.Errorf("Draft.Claims() = %+v, want %+v", c, wantClaims)
	}
	for range 2 { // deterministic: the same bytes every time
		got, err := d.Sign()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatal("Draft.Sign() differs from Signer.Sign() of the same request")
		}
	}
	var verr *token.ValidationError
	if _, err := s.Draft(token.Request{VideoID: testVideo, ExpiresAt: fixedNow.Add(48 * time.Hour)}); !errors.As(err, &verr) {
		t.Errorf("Draft(exp in 48 h) error = %v, want a *ValidationError", err)
	}
}
