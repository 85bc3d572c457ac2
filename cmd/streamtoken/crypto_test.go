package main

import (
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/token"
)

// serve says at start which RSA it signs with, and its version.
func TestServeCryptoFlag(t *testing.T) {
	defer func(c token.Crypto) { _, _, _ = token.UseCrypto(c) }(func() token.Crypto { c, _ := token.CryptoInUse(); return c }())
	want := map[string]string{"go": "crypto=go version=\"Go crypto/rsa"}
	if opensslBuilt {
		want["auto"] = "crypto=openssl version=\"OpenSSL 3."
		want["openssl"] = want["auto"]
	} else {
		want["auto"] = want["go"]
	}
	for flag, line := range want {
		s := startServe(t, "--crypto", flag)
		s.token(t)
		if code := s.stop(t); code != 0 || !strings.Contains(s.stderr.String(), "msg=RSA "+line) {
			t.Errorf("serve --crypto %s: exit %d, log %q; want %q", flag, code, s.stderr.String(), line)
		}
	}
	if r := cli(t, nil, "", "serve", "--crypto", "nss"); r.code != exitBadInput || errorLines(r.stderr) != 1 || !strings.Contains(r.stderr, `--crypto "nss": want auto, openssl or go`) {
		t.Errorf("serve --crypto nss: %v", r)
	}
	if r := cli(t, map[string]string{"STREAMTOKEN_CRYPTO": "nss"}, "", "serve"); r.code != exitBadInput || !strings.Contains(r.stderr, `--crypto "nss"`) {
		t.Errorf("STREAMTOKEN_CRYPTO=nss serve: %v", r)
	}
	if !opensslBuilt {
		r := cli(t, nil, "", "serve", "--crypto", "openssl")
		if r.code != exitBadInput || errorLines(r.stderr) != 1 || !strings.Contains(r.stderr, "--crypto openssl: OpenSSL's libcrypto is not loaded") {
			t.Errorf("serve --crypto openssl, without cgo: %v, want one line saying libcrypto is not loaded", r)
		}
	}
}
