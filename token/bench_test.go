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

	"github.com/streamtoken/streamtoken/token"
)

// The pairs below measure the package against bare RSA on the same key, in
// one run: compare them with benchstat. Targets: Sign within 1.05x of
// BareRSASign, Verify within 1.10x of BareRSAVerify.

func BenchmarkSign(b *testing.B) {
	s := newSigner(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Sign(fullOptions); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareRSASign hashes and signs a signing input of the same length
// as Sign's, with nothing else.
func BenchmarkBareRSASign(b *testing.B) {
	priv := loadKey(b, "rsa2048.pem", testKID).Private
	tok, _, _ := newSigner(b).Sign(fullOptions)
	input := []byte(tok[:strings.LastIndexByte(tok, '.')])
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(input)
		if _, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	tok, _, err := newSigner(b).Sign(fullOptions)
	if err != nil {
		b.Fatal(err)
	}
	v := newVerifier(b, fixedNow)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareRSAVerify hashes the same signing input and checks the same
// signature, with nothing else.
func BenchmarkBareRSAVerify(b *testing.B) {
	tok, _, err := newSigner(b).Sign(fullOptions)
	if err != nil {
		b.Fatal(err)
	}
	pub := loadKey(b, "rsa2048.pem", testKID).Public
	dot := strings.LastIndexByte(tok, '.')
	input := []byte(tok[:dot])
	sig := segmentB(b, tok[dot+1:])
	b.ReportAllocs()
	for b.Loop() {
		digest := sha256.Sum256(input)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
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
		if d := p.Evaluate(viewer); d.Rule != 4 {
			b.Fatalf("Evaluate() = %v, want rule 4", d)
		}
	}
}

func segmentB(b *testing.B, s string) []byte {
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		b.Fatal(err)
	}
	return sig
}
