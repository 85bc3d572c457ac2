package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestHealthURL(t *testing.T) {
	for _, c := range []struct {
		url, addr, want, err string
	}{
		{addr: "", want: "http://127.0.0.1:8787/healthz"},
		{addr: ":9000", want: "http://127.0.0.1:9000/healthz"},
		{addr: "0.0.0.0:9000", want: "http://127.0.0.1:9000/healthz"},
		{addr: "[::]:9000", want: "http://[::1]:9000/healthz"},
		{addr: "[::1]:9000", want: "http://[::1]:9000/healthz"},
		{addr: "localhost:80", want: "http://localhost:80/healthz"},
		{addr: "127.0.0.1", err: `STREAMTOKEN_ADDR "127.0.0.1": want HOST:PORT`},
		{addr: "127.0.0.1:0", err: `STREAMTOKEN_ADDR "127.0.0.1:0": the port is not one from 1 to 65535`},
		{addr: "127.0.0.1:65536", err: "the port is not one from 1 to 65535"},
		{addr: "127.0.0.1:http", err: "the port is not one from 1 to 65535"},
		{url: "http://127.0.0.1:9000", addr: ":1", want: "http://127.0.0.1:9000/healthz"},
		{url: "https://stream.example.com/ready", want: "https://stream.example.com/ready"},
		{url: "ftp://127.0.0.1/healthz", err: `--url: want an http or https URL, not scheme "ftp"`},
		{url: "127.0.0.1:8787", err: "--url: want an http or https URL"},
		{url: "http:///healthz", err: "--url: no host"},
		{url: "http://user:secret@127.0.0.1:8787", err: "--url: a user in the URL is not taken"},
		{url: "http://127.0.0.1:8787/%zz", err: "--url: want an http or https URL, such as http://127.0.0.1:8787/healthz"},
	} {
		got, err := healthURL(c.url, c.addr)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("healthURL(%q, %q) = %q, %v; want %q", c.url, c.addr, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("healthURL(%q, %q) = %q, %v; want an error with %q", c.url, c.addr, got, err, c.err)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("healthURL(%q): the error %q quotes the URL's password", c.url, err)
		}
	}
}

// healthcheck exits 0 for serve's own /healthz and 1 for every other
// answer, each said on one line with the URL asked.
func TestHealthcheck(t *testing.T) {
	s := startServe(t)
	defer s.stop(t)
	u, _ := url.Parse(s.url)
	addr := u.Host
	if r := cli(t, map[string]string{"STREAMTOKEN_ADDR": addr}, "", "healthcheck"); r.code != 0 || !strings.HasPrefix(r.stdout, "ok: http://"+addr+"/healthz answered in ") {
		t.Errorf("healthcheck against serve: %v", r)
	}
	_, port, _ := net.SplitHostPort(addr)
	if r := cli(t, map[string]string{"STREAMTOKEN_ADDR": ":" + port}, "", "healthcheck"); r.code != 0 {
		t.Errorf("healthcheck with STREAMTOKEN_ADDR=:%s (all interfaces, asked on loopback): %v", port, r)
	}
	if r := cli(t, nil, "", "healthcheck", "--url", "http://"+addr); r.code != 0 {
		t.Errorf("healthcheck --url without a path: %v", r)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	slow := make(chan struct{})
	defer close(slow)
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		url     string
		want    string
	}{
		{name: "refused", url: closed.URL, want: "connection refused"},
		{name: "503", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, want: "answered 503 Service Unavailable, not 200"},
		{name: "another server", handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("OK")) }, want: `answered 200 without {"status":"ok"}`},
		{name: "not ok", handler: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"starting"}`)) }, want: `without {"status":"ok"}`},
		{name: "redirect", handler: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }, want: "answered 302 Found, not 200"},
		{name: "huge", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"status":"ok","pad":"` + strings.Repeat("x", 1<<20) + `"}`))
		}, want: "the answer is over 1024 bytes"},
		{name: "slow", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-slow:
			case <-r.Context().Done():
			}
		}, want: "the command's --timeout of 200ms ran out"},
	} {
		target := c.url
		if c.handler != nil {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			target = srv.URL
		}
		start := time.Now()
		r := cli(t, nil, "", "healthcheck", "--url", target, "--timeout", "200ms")
		if r.code != 1 || !strings.Contains(r.stderr, target+"/healthz: ") || !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: healthcheck = %v; want exit 1 and one line saying %q", c.name, r, c.want)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: healthcheck took %v with --timeout 200ms", c.name, d)
		}
	}
	if r := cli(t, map[string]string{"STREAMTOKEN_ADDR": "nowhere"}, "", "healthcheck"); r.code != 1 || !strings.Contains(r.stderr, "STREAMTOKEN_ADDR") {
		t.Errorf("healthcheck with a bad STREAMTOKEN_ADDR: %v; want exit 1 naming the variable", r)
	}
}

// Unless --timeout is given, a health check is bounded by healthTimeout,
// not a command's minute.
func TestHealthcheckHasAShortDefaultTimeout(t *testing.T) {
	slow := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-slow:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(slow)
	start := time.Now()
	r := cli(t, nil, "", "healthcheck", "--url", srv.URL)
	if r.code != 1 || !strings.Contains(r.stderr, "--timeout of 2s ran out") {
		t.Errorf("healthcheck against a server that never answers: %v", r)
	}
	if d := time.Since(start); d < healthTimeout || d > healthTimeout+20*time.Second {
		t.Errorf("healthcheck gave up after %v; want about %v", d, healthTimeout)
	}
}
