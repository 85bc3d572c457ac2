package token_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/internal/ossl"
	"github.com/streamtoken/streamtoken/token"
)

// Sign and Verify each run beside bare RSA on the same key and the same
// signing input, as sub-benchmarks of one benchmark, so that benchstat
// prints the ratio:
//
//	go test -run '^$' -bench 'Sign|Verify' -count 10 ./token > bench.txt
//	benchstat -col /impl bench.txt
//
// Sign runs with each implementation of RSA (crypto=go, crypto=openssl,
// the latter in builds with cgo), and "bare" is that implementation's own
// signature of the digest. Targets: Sign within 1.05x of bare Go, and with
// OpenSSL within 1.15x of OpenSSL's own signature; Verify within 1.10x.

// minimalOptions are the options of most tokens: a video and the defaults.
var minimalOptions = token.Request{VideoID: testVideo}

func BenchmarkSign(b *testing.B) {
	key := loadKey(b, "rsa2048.pem", testKID)
	input := []byte(strings.Repeat("x", 150)) // about a token's signing input
	implementations := []token.Crypto{token.CryptoGo}
	if opensslBuilt {
		implementations = append(implementations, token.CryptoOpenSSL)
	}
	for _, c := range implementations {
		s, err := token.NewSigner(key, token.WithClock(clock(fixedNow)), token.WithCrypto(c))
		if err != nil {
			b.Fatal(err)
		}
		// The bare signature: the implementation's own, of one digest.
		var bare crypto.Signer = key.Private
		if c == token.CryptoOpenSSL {
			if bare, err = ossl.NewPrivateKey(key.Private); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("crypto="+string(c)+"/impl=bare", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				digest := sha256.Sum256(input)
				if _, err := bare.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("crypto="+string(c)+"/impl=token", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Sign(minimalOptions); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("crypto="+string(c)+"/impl=token-3-rules", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Sign(fullOptions); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	s := newSigner(b)
	v := newVerifier(b, fixedNow)
	pub := loadKey(b, "rsa2048.pem", testKID).Public
	minimal, _, err := s.Sign(minimalOptions)
	if err != nil {
		b.Fatal(err)
	}
	full, _, err := s.Sign(fullOptions)
	if err != nil {
		b.Fatal(err)
	}
	dot := strings.LastIndexByte(minimal, '.')
	input := []byte(minimal[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(minimal[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=bare-rsa", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			digest := sha256.Sum256(input)
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=token", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(minimal); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=token-3-rules", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(full); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEvaluate runs 5 rules holding 16 CIDRs for a viewer that only the
// last rule matches: the worst case. Target: under 1 µs, no allocation.
func BenchmarkEvaluate(b *testing.B) {
	var cidrs []string
	for i := range 15 {
		cidrs = append(cidrs, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16).String())
	}
	cidrs = append(cidrs, "2400:cb00::/32")
	p, err := token.NewPolicy([]token.Rule{
		{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX", "CA"}},
		{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: cidrs[:8]},
		{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: cidrs[8:]},
		{Type: token.RuleCountry, Action: token.ActionAllow, Country: []string{"GB", "FR"}},
		{Type: token.RuleAny, Action: token.ActionBlock},
	})
	if err != nil {
		b.Fatal(err)
	}
	viewer := token.Viewer{IP: netip.MustParseAddr("::ffff:192.0.2.1"), Country: "DE"}
	b.ReportAllocs()
	for b.Loop() {
		if d := p.Evaluate(viewer); d.RuleIndex != 4 {
			b.Fatalf("Evaluate() = %v, want rule 4", d)
		}
	}
}

// BenchmarkLint is what the server adds to every token answer with rules:
// compare with server's BenchmarkHandlerHot/rules.
func BenchmarkLint(b *testing.B) {
	for _, tt := range []struct {
		name  string
		rules []token.Rule
	}{
		{"three rules", fullOptions.AccessRules},
		{"findings", []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24"}}}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = token.Lint(tt.rules)
			}
		})
	}
}
