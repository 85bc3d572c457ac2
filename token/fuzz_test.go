package token_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/token"
)

// FuzzVerify feeds arbitrary strings to Verify and Decode: neither may
// panic, an error must be one of the package's, and no error may repeat the
// token.
func FuzzVerify(f *testing.F) {
	s := newSigner(f)
	good, _, err := s.Sign(fullOptions)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, seedToken, "", ".", "..", "a.b.c", tamperF(good), good + "x",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ2IiwiZXhwIjoxfQ.", strings.Repeat("A", 1000)} {
		f.Add(seed)
	}
	v := newVerifier(f, fixedNow)
	sentinels := []error{token.ErrMalformed, token.ErrAlgorithm, token.ErrUnknownKey, token.ErrSignature, token.ErrExpired, token.ErrNotYetValid}
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := v.Verify(tok)
		if err == nil {
			if claims.VideoID == "" || claims.ExpiresAt.IsZero() {
				t.Fatalf("Verify() accepted claims without sub or exp: %+v", claims)
			}
		} else {
			known := false
			for _, s := range sentinels {
				known = known || errors.Is(err, s)
			}
			if !known {
				t.Fatalf("Verify() error %v matches no sentinel", err)
			}
			if len(tok) > 16 && strings.Contains(err.Error(), tok) {
				t.Fatal("Verify() error repeats the token")
			}
		}
		if d, err := token.Decode(tok); err == nil && d.Claims == nil {
			t.Fatal("Decode() = nil claims, nil error")
		}
	})
}

func tamperF(tok string) string { return strings.Replace(tok, ".", ".e", 1) }

// FuzzParseKey feeds arbitrary bytes to ParseKey: no panic, and a key it
// returns is RSA of at least 2048 bits with a consistent private half.
func FuzzParseKey(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pem") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add([]byte(base64.StdEncoding.EncodeToString(b)))
	}
	k := loadKey(f, "rsa2048.pem", "kid")
	f.Add([]byte(k.PublicJWK()))
	f.Add(token.JWKS(k))
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB","p":"AQ","q":"AQ"}`))
	// The API's create-key answer, alone and in its envelope.
	pemBytes, _ := k.PrivatePEM()
	jwkBytes, _ := k.PrivateJWK()
	result := `{"id":"kid","pem":"` + base64.StdEncoding.EncodeToString(pemBytes) + `","jwk":"` + base64.StdEncoding.EncodeToString(jwkBytes) + `","created":"2026-11-29T08:00:00Z"}`
	f.Add([]byte(result))
	f.Add([]byte(`{"success":true,"result":` + result + `}`))
	f.Add([]byte(`{"id":"k","pem":"","jwk":""}`))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := token.ParseKey(data)
		if err != nil {
			return
		}
		if k.Public == nil || k.Public.N.BitLen() < token.MinKeyBits {
			t.Fatalf("ParseKey() returned a key of %d bits", k.Public.N.BitLen())
		}
		if k.Private != nil {
			if err := k.Private.Validate(); err != nil {
				t.Fatalf("ParseKey() returned an inconsistent private key: %v", err)
			}
		}
		if k.ID != "" && token.CheckKeyID(k.ID) != nil && strings.HasPrefix(strings.TrimSpace(string(data)), "{") && !strings.Contains(string(data), `"kty"`) {
			t.Fatalf("ParseKey() took the API's key with a bad id %q", k.ID)
		}
		_, _ = token.ParseJWKS(data)
	})
}

// FuzzRules feeds arbitrary access rules (as the JSON of a request's
// accessRules) and viewers to NewPolicy and Evaluate.
func FuzzRules(f *testing.F) {
	rules, _ := json.Marshal(fullOptions.AccessRules)
	f.Add(rules, "93.184.216.1", "GB")
	f.Add(rules, "::ffff:93.184.216.1", "us")
	f.Add([]byte(`[{"type":"ip.src","action":"block","ip":["::ffff:0.0.0.0/96","0.0.0.0/0"]}]`), "10.0.0.1", "")
	f.Add([]byte(`[{"type":"any","action":"allow"}]`), "", "")
	f.Add([]byte(`[{"type":"ip.geoip.country","action":"block","country":["XK"]}]`), "1.1.1.1", "XK")
	f.Add([]byte(`not json`), "x", "x")
	f.Fuzz(func(t *testing.T, rulesJSON []byte, ip, country string) {
		var rules []token.Rule
		if json.Unmarshal(rulesJSON, &rules) != nil {
			return
		}
		findings := token.Lint(rules) // valid or not
		restrictsNothing := false
		for _, f := range findings {
			if f.Rule < 1 || f.Rule > len(rules) || f.Message == "" {
				t.Fatalf("Lint() = %+v for %d rules", f, len(rules))
			}
			restrictsNothing = restrictsNothing || f.Kind == token.FindingRestrictsNothing
		}
		p, err := token.NewPolicy(rules)
		optsErr := token.Request{VideoID: "v", AccessRules: rules}.Validate(fixedNow)
		if (err == nil) != (optsErr == nil) {
			t.Fatalf("NewPolicy() error = %v but Options.Validate() = %v: the two must agree", err, optsErr)
		}
		if err != nil {
			return
		}
		addr, _ := netip.ParseAddr(ip)
		d := p.Evaluate(token.Viewer{IP: addr, Country: country})
		if d.RuleIndex < -1 || d.RuleIndex >= len(rules) || (d.RuleIndex == -1 && !d.Allowed) {
			t.Fatalf("Evaluate() = %+v for %d rules", d, len(rules))
		}
		if restrictsNothing && !d.Allowed {
			t.Fatalf("Lint() says the rules restrict nothing, yet Evaluate() = %+v", d)
		}
		if d.RuleIndex >= 0 && d.Allowed != (rules[d.RuleIndex].Action == token.ActionAllow) {
			t.Fatalf("Evaluate() = %+v, but rule %d's action is %s", d, d.RuleIndex, rules[d.RuleIndex].Action)
		}
	})
}
