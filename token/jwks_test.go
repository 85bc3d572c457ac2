package token_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/token"
)

// publicJWKOf is a public RSA JWK of kid with the key of token/testdata/name,
// plus extra members (such as `,"d":"AQAB"`).
func publicJWKOf(t testing.TB, name, kid, extra string) string {
	t.Helper()
	k := loadKey(t, name, kid)
	s := string(k.PublicJWK())
	return strings.TrimSuffix(s, "}") + extra + "}"
}

func setOf(members ...string) []byte {
	return []byte(`{"keys":[` + strings.Join(members, ",") + `]}`)
}

func TestParseJWKS(t *testing.T) {
	a := publicJWKOf(t, "rsa2048.pem", "key-a", "")
	b := publicJWKOf(t, "rsa3072.pem", "key-b", "")
	for _, tc := range []struct {
		name    string
		set     []byte
		want    []string // the kids read, in order
		wantErr []error  // what the error matches, all of them
		message string   // what the error says, in part
	}{
		{name: "two keys", set: setOf(a, b), want: []string{"key-a", "key-b"}},
		{name: "empty", set: setOf(), want: []string{}},
		{name: "other types skipped", set: setOf(`{"kty":"EC","kid":"e","crv":"P-256","x":"AA","y":"AA"}`, a), want: []string{"key-a"}},
		{name: "only other types", set: setOf(`{"kty":"OKP","kid":"e"}`), wantErr: []error{token.ErrJWKSet}, message: "none of its 1 keys is an RSA key"},
		{name: "not JSON", set: []byte(`{"keys":[`), wantErr: []error{token.ErrJWKSet}, message: "invalid JWK set: malformed JSON"},
		{name: "no keys array", set: []byte(`{"kty":"RSA"}`), wantErr: []error{token.ErrJWKSet}, message: "no keys array"},
		{name: "keys not an array", set: []byte(`{"keys":{}}`), wantErr: []error{token.ErrJWKSet}},
		{name: "member not an object", set: setOf(`"key"`), wantErr: []error{token.ErrJWKSet}, message: "key 0 is no JWK object"},
		{name: "no kid", set: setOf(a, publicJWKOf(t, "rsa3072.pem", "", "")), wantErr: []error{token.ErrJWKSet}, message: "key 1 has no kid"},
		{name: "kid twice", set: setOf(a, publicJWKOf(t, "rsa3072.pem", "key-a", "")), wantErr: []error{token.ErrJWKSet}, message: `kid "key-a" names keys 0 and 1`},
		{name: "malformed e", set: setOf(strings.Replace(a, `"e":"AQAB"`, `"e":"!!"`, 1)), wantErr: []error{token.ErrJWKSet}, message: "a malformed n or e"},
		{name: "long e", set: setOf(strings.Replace(a, `"e":"AQAB"`, `"e":"`+strings.Repeat("A", 4000)+`"`, 1)), wantErr: []error{token.ErrJWKSet}, message: "a malformed n or e"},
		{name: "short key", set: setOf(fmt.Sprintf(`{"kty":"RSA","kid":"short","n":%q,"e":"AQAB"}`, base64.RawURLEncoding.EncodeToString(fakeModulus(1024).Bytes()))), wantErr: []error{token.ErrJWKSet, token.ErrKeyTooShort}, message: `key 0 (kid "short")`},
		{name: "d", set: setOf(a, publicJWKOf(t, "rsa3072.pem", "key-b", `,"d":"AQAB"`)), wantErr: []error{token.ErrJWKSet, token.ErrJWKSetPrivate}, message: `invalid JWK set: it publishes private keys: key 1 (kid "key-b") carries d`},
		{name: "every private part", set: setOf(publicJWKOf(t, "rsa2048.pem", "p", `,"d":"A","p":"A","q":"A","dp":"A","dq":"A","qi":"A","oth":[]`)), wantErr: []error{token.ErrJWKSetPrivate}, message: "carries d, p, q, dp, dq, qi, oth"},
		{name: "private before anything else", set: setOf(`{"kty":"RSA","kid":"x","n":"!","e":"!","qi":"AQAB"}`), wantErr: []error{token.ErrJWKSetPrivate}},
		{name: "private in another type", set: setOf(`{"kty":"EC","kid":"x","d":"AQAB"}`), wantErr: []error{token.ErrJWKSetPrivate}},
		{name: "null private part", set: setOf(publicJWKOf(t, "rsa2048.pem", "key-a", `,"d":null`)), want: []string{"key-a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := token.ParseJWKS(tc.set)
			if tc.wantErr != nil {
				for _, want := range tc.wantErr {
					if !errors.Is(err, want) {
						t.Errorf("ParseJWKS() = %v, want %v", err, want)
					}
				}
				if err != nil && !strings.Contains(err.Error(), tc.message) {
					t.Errorf("ParseJWKS() = %q, want it to say %q", err, tc.message)
				}
				if err != nil && strings.Contains(err.Error(), token.ErrKeyFormat.Error()) {
					t.Errorf("ParseJWKS() = %q: names a PEM or JWK key, not the set", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJWKS() = %v", err)
			}
			got := make([]string, len(keys))
			for i, k := range keys {
				got[i] = k.ID
				if k.Private != nil {
					t.Errorf("key %s has a private half", k.ID)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("ParseJWKS() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseJWKSKeyCount(t *testing.T) {
	one := publicJWKOf(t, "rsa2048.pem", "KID", "")
	set := func(n int) []byte {
		members := make([]string, n)
		for i := range members {
			members[i] = strings.Replace(one, "KID", "k"+strconv.Itoa(i), 1)
		}
		return setOf(members...)
	}
	if _, err := token.ParseJWKS(set(token.MaxJWKSKeys + 1)); !errors.Is(err, token.ErrJWKSet) || !strings.Contains(err.Error(), "over "+strconv.Itoa(token.MaxJWKSKeys)+" keys") {
		t.Errorf("ParseJWKS(%d keys) = %v, want an error naming the count", token.MaxJWKSKeys+1, err)
	}
	if keys, err := token.ParseJWKS(set(token.MaxJWKSKeys)); err != nil || len(keys) != token.MaxJWKSKeys {
		t.Errorf("ParseJWKS(%d keys) = %d keys, %v; want them all", token.MaxJWKSKeys, len(keys), err)
	}
}

// A verifier of an empty set knows no key: every token is of an unknown
// key, not an error of the set.
func TestVerifierOfNoKeys(t *testing.T) {
	v, err := token.NewVerifier(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := token.NewSigner(loadKey(t, "rsa2048.pem", "k"))
	tok, _, _ := s.Sign(token.Request{VideoID: "v"})
	if _, err := v.Verify(tok); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("Verify() = %v, want ErrUnknownKey", err)
	}
}

// hostileSets are JWK sets of about 1 MiB, each built to cost its reader
// the most in one way.
func hostileSets(t testing.TB) map[string][]byte {
	const size = 1 << 20
	fill := func(member func(i int) string) []byte {
		var b strings.Builder
		b.WriteString(`{"keys":[`)
		for i := 0; b.Len() < size-4096; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(member(i))
		}
		b.WriteString(`]}`)
		return []byte(b.String())
	}
	max := base64.RawURLEncoding.EncodeToString(fakeModulus(token.MaxKeyBits).Bytes())
	return map[string][]byte{
		// As many 8192-bit public keys as fit: all read, the most work
		// an accepted set costs.
		"8192-bit public keys": fill(func(i int) string {
			return fmt.Sprintf(`{"kty":"RSA","kid":"k%d","use":"sig","alg":"RS256","n":%q,"e":"AQAB"}`, i, max)
		}),
		// 8192-bit private keys: each would cost seconds to validate.
		"8192-bit private keys": fill(func(i int) string {
			return fmt.Sprintf(`{"kty":"RSA","kid":"k%d","n":%q,"e":"AQAB","d":%q,"p":%q,"q":%q}`, i, max, max, max[:683], max[:683])
		}),
		// Hundreds of thousands of empty members: refused by their count.
		"empty members": fill(func(int) string { return `{}` }),
		// Members that are not RSA keys, each skipped after decoding.
		"other types": fill(func(i int) string { return fmt.Sprintf(`{"kty":"EC","kid":"k%d","x":%q}`, i, max[:200]) }),
		// Moduli just past the bound, refused unread.
		"oversized moduli": fill(func(i int) string {
			return fmt.Sprintf(`{"kty":"RSA","kid":"k%d","n":"%s","e":"AQAB"}`, i, strings.Repeat("A", 2000))
		}),
	}
}

func TestHostileJWKSets(t *testing.T) {
	for name, set := range hostileSets(t) {
		keys, err := token.ParseJWKS(set)
		t.Logf("%s (%d bytes): %d keys, %v", name, len(set), len(keys), err)
		if name != "8192-bit public keys" && err == nil {
			t.Errorf("%s: ParseJWKS() took it", name)
		}
	}
}

// BenchmarkParseJWKSHostile reads the hostile sets: each costs time linear
// in its size, and no RSA work (compare the 8192-bit private keys, each of
// which would take seconds to validate, with the public ones).
func BenchmarkParseJWKSHostile(b *testing.B) {
	for name, set := range hostileSets(b) {
		b.Run("set="+strings.ReplaceAll(name, " ", "-"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(set)))
			for b.Loop() {
				_, _ = token.ParseJWKS(set)
			}
		})
	}
}

// FuzzParseJWKS feeds arbitrary bytes to ParseJWKS: it never panics, and
// what it takes is a set of public RSA keys of allowed sizes, each with a
// kid of its own.
func FuzzParseJWKS(f *testing.F) {
	f.Add(setOf(publicJWKOf(f, "rsa2048.pem", "a", ""), publicJWKOf(f, "rsa3072.pem", "b", "")))
	f.Add(setOf(publicJWKOf(f, "rsa2048.pem", "a", `,"d":"AQAB"`)))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := token.ParseJWKS(data)
		if err != nil {
			if !errors.Is(err, token.ErrJWKSet) {
				t.Fatalf("ParseJWKS() = %v, not an ErrJWKSet", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, k := range keys {
			bits := k.Public.N.BitLen()
			if k.Private != nil || k.ID == "" || seen[k.ID] || bits < token.MinKeyBits || bits > token.MaxKeyBits {
				t.Fatalf("ParseJWKS() took %v", k)
			}
			seen[k.ID] = true
		}
		if len(keys) > token.MaxJWKSKeys {
			t.Fatalf("ParseJWKS() took %d keys", len(keys))
		}
	})
}
