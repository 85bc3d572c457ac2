package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// serve says at start which RSA it signs with, and its version.
func TestServeCryptoFlag(t *testing.T) {
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

// STREAMTOKEN_CRYPTO=go (or --crypto go) never loads libcrypto, in any
// command: with a truncated libcrypto.so.3 first on the library path
// (which kills a process that loads it with SIGBUS), version and sign
// still work.
func TestCryptoGoNeverLoadsLibcrypto(t *testing.T) {
	if !opensslBuilt {
		t.Skip("built without cgo: libcrypto is never loaded")
	}
	var real string
	for _, dir := range []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"} {
		if _, err := os.Stat(filepath.Join(dir, "libcrypto.so.3")); err == nil {
			real = filepath.Join(dir, "libcrypto.so.3")
			break
		}
	}
	if real == "" {
		t.Skip("no libcrypto.so.3 to truncate a copy of")
	}
	data, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	libs := t.TempDir()
	if err := os.WriteFile(filepath.Join(libs, "libcrypto.so.3"), data[:len(data)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env  string
		args []string
	}{
		{"STREAMTOKEN_CRYPTO=go", []string{"version"}},
		{"STREAMTOKEN_CRYPTO=go", []string{"sign", "--key", keyFile, "--key-id", kid, video}},
		{"", []string{"version", "--crypto", "go"}},
		{"", []string{"sign", "--crypto", "go", "--key", keyFile, "--key-id", kid, video}},
	} {
		args, _ := json.Marshal(tt.args)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), argsVar+"="+string(args), "LD_LIBRARY_PATH="+libs, tt.env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s streamtoken %s with a truncated libcrypto: %v\n%s", tt.env, strings.Join(tt.args, " "), err, out)
		}
	}
}
