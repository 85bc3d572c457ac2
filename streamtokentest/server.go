// Package streamtokentest runs a real token server on loopback for tests,
// in the manner of net/http/httptest: the same code as the self-hosted
// server, with a generated signing key and API token, and ways to make it
// fail on purpose.
//
//	srv := streamtokentest.NewServer()
//	defer srv.Close()
//	tok, err := srv.Client.CreateToken(ctx, "023e105f4ecef8ad9ca31a8372d0c353", videoID, streamtoken.TokenRequest{})
//	claims, err := srv.Verifier.Verify(tok.Value)
package streamtokentest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/token"
)

// Server is a token server on a loopback port.
type Server struct {
	// URL is the API's base URL, ending in /client/v4: give it to
	// streamtoken.WithBaseURL or to any Cloudflare client.
	URL string
	// APIToken is the bearer token the server accepts.
	APIToken string
	// Client is a client of the server, set up with URL and APIToken,
	// retries off, so that injected failures reach the test as they are.
	Client *streamtoken.Client
	// Key is the signing key's public half; Verifier verifies what the
	// server signs with it.
	Key      *token.Key
	Verifier *token.Verifier

	ts        *httptest.Server
	mu        sync.Mutex
	failures  []Failure
	requests  atomic.Int64
	closeOnce sync.Once
}

// Failure is an answer the server gives instead of a token.
type Failure struct {
	// Status is the HTTP status; Code and Message the envelope's error.
	Status  int
	Code    int
	Message string
	// RetryAfter, when positive, is sent as a Retry-After header (in
	// whole seconds, at least 1).
	RetryAfter time.Duration
}

// RateLimited is a 429 with a Retry-After of one second.
var RateLimited = Failure{Status: http.StatusTooManyRequests, Code: int(server.CodeRateLimited), Message: "Rate limited: please wait and consider throttling your request speed", RetryAfter: time.Second}

// InternalError is a 500.
var InternalError = Failure{Status: http.StatusInternalServerError, Code: int(server.CodeInternal), Message: "Internal error"}

// Option configures a Server.
type Option func(*settings)

type settings struct {
	config   server.Config
	failures []Failure
	clientOp []streamtoken.Option
}

// WithFailures makes the first n token requests fail with f.
func WithFailures(n int, f Failure) Option {
	return func(s *settings) {
		for range n {
			s.failures = append(s.failures, f)
		}
	}
}

// WithLogger sends the server's request log to l (by default it is
// discarded).
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) { s.config.Logger = l }
}

// WithClock sets the server's clock (and its client's validation clock).
func WithClock(now func() time.Time) Option {
	return func(s *settings) {
		s.config.Now = now
		s.clientOp = append(s.clientOp, streamtoken.WithClock(now))
	}
}

// WithCredentials replaces the generated API token with these credentials.
// APIToken and Client then use the first token allowed for every account;
// with none, APIToken is empty and Client's requests fail authentication.
func WithCredentials(creds ...server.Credential) Option {
	return func(s *settings) { s.config.Credentials = creds }
}

var (
	keyOnce sync.Once
	key     *token.Key
	keyErr  error
)

// sharedKey is one RSA key for every server of a test binary: making a key
// takes long enough to slow a suite that starts many servers.
func sharedKey() (*token.Key, error) {
	keyOnce.Do(func() { key, keyErr = server.GenerateKey() })
	return key, keyErr
}

// NewServer starts a server on 127.0.0.1 and returns it; Close stops it. It
// panics if it cannot start, as httptest.NewServer does.
func NewServer(opts ...Option) *Server {
	var st settings
	for _, opt := range opts {
		opt(&st)
	}
	k, err := sharedKey()
	if err != nil {
		panic(fmt.Sprintf("streamtokentest: generating a key: %v", err))
	}
	signer, err := token.NewSigner(k, st.config.Now)
	if err != nil {
		panic(fmt.Sprintf("streamtokentest: %v", err))
	}
	st.config.Signer = signer
	s := &Server{failures: st.failures}
	if st.config.Credentials == nil {
		s.APIToken = randomToken()
		st.config.Credentials = []server.Credential{{Token: s.APIToken}}
	} else {
		for _, c := range st.config.Credentials {
			if c.Token != "" && len(c.Accounts) == 0 {
				s.APIToken = c.Token
				break
			}
		}
	}
	srv, err := server.New(st.config)
	if err != nil {
		panic(fmt.Sprintf("streamtokentest: %v", err))
	}
	s.ts = httptest.NewServer(s.inject(srv.Handler()))
	s.URL = s.ts.URL + server.BasePath
	s.Key = srv.PublicKeys()[0]
	if s.Verifier, err = token.NewVerifier([]*token.Key{s.Key}, verifierClock(st.config.Now)...); err != nil {
		panic(fmt.Sprintf("streamtokentest: %v", err))
	}
	clientOpts := append([]streamtoken.Option{
		streamtoken.WithBaseURL(s.URL),
		streamtoken.WithHTTPClient(s.ts.Client()),
		streamtoken.WithMaxRetries(0),
	}, st.clientOp...)
	clientToken := s.APIToken
	if clientToken == "" { // WithCredentials gave no token for every account
		clientToken = "no-unrestricted-credential"
	}
	clientOpts = append(clientOpts, streamtoken.WithAPIToken(clientToken))
	if s.Client, err = streamtoken.NewClient(clientOpts...); err != nil {
		panic(fmt.Sprintf("streamtokentest: %v", err))
	}
	return s
}

func verifierClock(now func() time.Time) []token.VerifierOption {
	if now == nil {
		return nil
	}
	return []token.VerifierOption{token.WithClock(now)}
}

func randomToken() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FailNext makes the next n token requests fail with f, after any failures
// already queued.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// Requests returns how many token requests the server has received,
// failed ones included.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// HTTPClient returns an *http.Client for the server, like
// httptest.Server.Client.
func (s *Server) HTTPClient() *http.Client { return s.ts.Client() }

// Close shuts the server down, blocking until every request is done. It is
// safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(s.ts.Close)
}

// inject answers token requests with the queued failures first.
func (s *Server) inject(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	mux.HandleFunc("POST "+server.BasePath+"/accounts/{account_id}/stream/{identifier}/token", func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		var f *Failure
		if len(s.failures) > 0 {
			f = &s.failures[0]
			s.failures = s.failures[1:]
		}
		s.mu.Unlock()
		if f == nil {
			next.ServeHTTP(w, r)
			return
		}
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(f.RetryAfter.Round(time.Second)/time.Second))))
		}
		body, _ := json.Marshal(gen.FailureResponse{
			Errors:   []gen.Message{{Code: f.Code, Message: f.Message}},
			Messages: []gen.Message{},
		})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = w.Write(body)
	})
	return mux
}
