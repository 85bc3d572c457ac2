package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve --otlp-endpoint sends a token request's spans to the collector by
// OTLP/HTTP, the signature among them, by the time it stops; without it
// (and without the environment) nothing is sent.
func TestServeSendsTraces(t *testing.T) {
	var mu sync.Mutex
	var got bytes.Buffer
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		if r.URL.Path == "/v1/traces" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-protobuf") {
			got.Write(body)
		}
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	s := startServe(t, "--otlp-endpoint", collector.URL)
	s.token(t)
	if code := s.stop(t); code != 0 {
		t.Fatalf("serve exited %d: %s", code, s.stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"POST /client/v4/accounts/{account_id}/stream/{identifier}/token", "signing queue wait", "sign", "streamtoken.account"} {
		if !bytes.Contains(got.Bytes(), []byte(want)) {
			t.Errorf("the collector got no %q (%d bytes)", want, got.Len())
		}
	}
	if bytes.Contains(got.Bytes(), []byte(s.apiToken)) {
		t.Error("the spans hold the API token")
	}
	if !strings.Contains(s.stderr.String(), "trace_id=") {
		t.Errorf("no trace ID in the request's log line: %s", s.stderr.String())
	}

	for _, bad := range []string{"ftp://x", "http://user:pw@x", "nohost"} {
		if r := cli(t, nil, "", "serve", "--addr", "127.0.0.1:0", "--otlp-endpoint", bad); r.code != exitBadInput || !strings.Contains(r.stderr, "--otlp-endpoint") || strings.Contains(r.stderr, "pw") {
			t.Errorf("serve --otlp-endpoint %q: %v", bad, r)
		}
	}
}

// OpenTelemetry's export errors go through the logger, in its format, at
// most one an interval, the next counting those left out.
func TestExportErrorsAreLoggedSparingly(t *testing.T) {
	var out bytes.Buffer
	handler := exportErrors(slog.New(slog.NewJSONHandler(&out, nil)), time.Hour)
	for range 157 {
		handler.Handle(errors.New("failed to send: 500 Internal Server Error"))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || !json.Valid([]byte(lines[0])) || !strings.Contains(lines[0], `"msg":"tracing: spans could not be sent"`) {
		t.Errorf("157 export errors logged as %d lines: %s", len(lines), out.String())
	}
	handler = exportErrors(slog.New(slog.NewJSONHandler(&out, nil)), 0)
	out.Reset()
	handler.Handle(errors.New("a"))
	handler.Handle(errors.New("b"))
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Errorf("with no interval, %d lines for 2 errors", n)
	}
}
