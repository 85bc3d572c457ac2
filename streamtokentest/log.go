package streamtokentest

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
)

// LoggedRequest is a request as it reached the server, for a test to
// assert exactly what reached it (behind a gateway, say). It holds no
// secret: a credential and a body are kept as digests.
type LoggedRequest struct {
	// Method, Path (as sent, escaped) and RawQuery are the request's.
	Method, Path, RawQuery string
	// Operation is the API operation the request was routed to
	// ("CreateStreamToken"), or "" when it matched none.
	Operation string
	// Status is the answer's.
	Status int
	// BodyBytes and BodySHA256 (hex) are of the whole body, read to its
	// end after the answer if the server had not (up to 1 GiB more: past
	// it, of what was read).
	BodyBytes  int64
	BodySHA256 string
	// Credential is the SHA-256 (hex) of the credential presented, as
	// CredentialDigest makes it; "" when none.
	Credential string
	// Header is the request's, its credentials removed.
	Header http.Header
}

// CredentialDigest is the digest a LoggedRequest names a credential by:
// of a bearer token, or of an email and key (the other empty).
func CredentialDigest(bearer, email, key string) string {
	if bearer == "" && key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(bearer + "\x00" + email + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

// maxLogged bounds the requests a server's log keeps: the newest.
const maxLogged = 100_000

// maxDrained bounds what of a body the log reads after the answer.
const maxDrained = 1 << 30

// RequestLog returns the requests the server has received, oldest first
// (the newest 100,000).
func (s *Server) RequestLog() []LoggedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LoggedRequest, len(s.log))
	for i, l := range s.log {
		l.Header = l.Header.Clone()
		out[i] = l
	}
	return out
}

// routeOperation names each route pattern's operation.
var routeOperation = func() map[string]string {
	m := map[string]string{}
	for _, r := range gen.Routes() {
		m[r.Method+" "+server.BasePath+r.Path] = r.Operation
	}
	return m
}()

// logRequests wraps the server's handler with its request log.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := LoggedRequest{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
		bearer := ""
		if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
			bearer = strings.TrimSpace(tok)
		}
		l.Credential = CredentialDigest(bearer, r.Header.Get("X-Auth-Email"), r.Header.Get("X-Auth-Key"))
		for _, h := range []string{"Authorization", "X-Auth-Email", "X-Auth-Key"} {
			l.Header.Del(h)
		}
		h := sha256.New()
		body := &countingBody{ReadCloser: r.Body, hash: h}
		if r.Body != nil {
			r.Body = body
		}
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if body.ReadCloser != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrained))
		}
		l.Status, l.BodyBytes, l.BodySHA256 = rec.status, body.n, hex.EncodeToString(h.Sum(nil))
		l.Operation = routeOperation[r.Pattern]
		s.mu.Lock()
		if len(s.log) >= maxLogged {
			s.log = s.log[1:]
		}
		s.log = append(s.log, l)
		s.mu.Unlock()
	})
}

// countingBody hashes and counts a body as it is read.
type countingBody struct {
	io.ReadCloser
	hash io.Writer
	n    int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	b.hash.Write(p[:n])
	return n, err
}

// statusWriter records the answer's status.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote, w.status = true, code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap is for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
