//go:build cgo && unix

package ossl_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/internal/ossl"
	"github.com/streamtoken/streamtoken/internal/testkey"
)

// TestMain loads libcrypto: on these machines it is there, and a build
// with cgo that cannot load it fails here rather than skip.
func TestMain(m *testing.M) {
	if _, err := ossl.Load(); err != nil {
		fmt.Fprintln(os.Stderr, "ossl:", err, "(install libssl3: apt-get install libssl3)")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestLoadSaysTheVersion(t *testing.T) {
	v, err := ossl.Load()
	if err != nil || !strings.HasPrefix(v, "OpenSSL 3.") {
		t.Errorf("Load() = %q, %v; want OpenSSL 3", v, err)
	}
}

// testKeys are RSA keys of token/testdata: 2048 to 8192 bits.
func testKeys(t testing.TB) []*rsa.PrivateKey {
	var keys []*rsa.PrivateKey
	for _, name := range []string{"rsa2048.pem", "rsa3072.pem", "rsa2048-b.pem", "rsa4096.pem", "rsa8192.pem"} {
		keys = append(keys, testkey.Load(t, name, "").Private)
	}
	return keys
}

// PKCS#1 v1.5 is deterministic: libcrypto's signature is Go's, byte for
// byte, over keys of every size taken and random inputs.
func TestSignaturesEqualGos(t *testing.T) {
	keys := testKeys(t)
	for range 3 { // and keys of random sizes
		k, err := rsa.GenerateKey(rand.Reader, 2048+8*randInt(129))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for _, priv := range keys {
		k, err := ossl.NewPrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			msg := make([]byte, 1+randInt(400))
			_, _ = rand.Read(msg)
			digest := sha256.Sum256(msg)
			got, err := k.Sign(nil, digest[:], crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest[:])
			if !bytes.Equal(got, want) {
				t.Fatalf("RSA-%d: libcrypto's signature differs from Go's", priv.N.BitLen())
			}
		}
	}
}

func randInt(n int) int {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return (int(b[0])<<8 | int(b[1])) % n
}

// FuzzSignaturesEqualGos holds libcrypto's signatures to Go's over
// arbitrary inputs.
func FuzzSignaturesEqualGos(f *testing.F) {
	priv := testkey.Load(f, "rsa2048.pem", "").Private
	k, err := ossl.NewPrivateKey(priv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("eyJhbGciOiJSUzI1NiJ9.e30"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		digest := sha256.Sum256(msg)
		got, err := k.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest[:]); !bytes.Equal(got, want) {
			t.Fatal("libcrypto's signature differs from Go's")
		}
	})
}

func TestSignRefusesOtherSchemes(t *testing.T) {
	k, _ := ossl.NewPrivateKey(testKeys(t)[0])
	digest := sha256.Sum256([]byte("x"))
	for name, opts := range map[string]crypto.SignerOpts{
		"SHA-512": crypto.SHA512,
		"PSS":     &rsa.PSSOptions{Hash: crypto.SHA256},
	} {
		if _, err := k.Sign(nil, digest[:], opts); err == nil {
			t.Errorf("Sign(%s) = nil error", name)
		}
	}
	if _, err := k.Sign(nil, digest[:20], crypto.SHA256); err == nil {
		t.Error("Sign(a short digest) = nil error")
	}
	if _, err := ossl.NewPrivateKey(&rsa.PrivateKey{PublicKey: testKeys(t)[0].PublicKey}); err == nil {
		t.Error("NewPrivateKey(no primes) = nil error")
	}
}

// The key prints nothing of itself, and its libcrypto handle goes with it.
func TestKeysPrintNothingAndAreFreed(t *testing.T) {
	priv := testKeys(t)[0]
	k, _ := ossl.NewPrivateKey(priv)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v", k, k, k)} {
		if strings.Contains(out, priv.D.Text(16)[:16]) || strings.Contains(out, priv.D.String()[:16]) || !strings.Contains(out, "redacted") {
			t.Errorf("a key prints as %q", out)
		}
	}
	var freed atomic.Int64
	for range 100 {
		k, err := ossl.NewPrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		runtime.AddCleanup(k, func(*atomic.Int64) { freed.Add(1) }, &freed)
	}
	for deadline := time.Now().Add(10 * time.Second); freed.Load() < 100 && time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := freed.Load(); n < 100 {
		t.Errorf("%d of 100 dropped keys collected (their libcrypto handles with them)", n)
	}
}

// BenchmarkSign signs one SHA-256 digest with each implementation on the
// same key: benchstat -col /impl.
func BenchmarkSign(b *testing.B) {
	priv := testkey.Load(b, "rsa2048.pem", "").Private
	k, err := ossl.NewPrivateKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.e30"))
	b.Run("impl=go", func(b *testing.B) {
		for b.Loop() {
			_, _ = rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest[:])
		}
	})
	b.Run("impl=openssl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Sign(nil, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
}
