package streamtoken

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/buildinfo"
	"github.com/streamtoken/streamtoken/token"
)

// Version is this module's version, as the running binary's build
// information says it ("v1.2.3", a pseudo-version for a build from a
// checkout, "devel" when it says none); the default User-Agent carries it.
var Version = buildinfo.Read().Version

// DefaultBaseURL is the Cloudflare API's base URL.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// The environment variables [WithCredentialsFromEnv] reads; the same names
// as Cloudflare's own tools.
const (
	EnvAPIToken = "CLOUDFLARE_API_TOKEN"
	EnvEmail    = "CLOUDFLARE_EMAIL"
	EnvAPIKey   = "CLOUDFLARE_API_KEY"
)

// ErrNoCredentials is returned by [NewClient] when no option set
// credentials (nor a signer: [WithSigner]), and by the API calls of a
// client that has a signer alone.
var ErrNoCredentials = errors.New("streamtoken: no credentials: use WithAPIToken, WithAPIKey or WithCredentialsFromEnv")

// Client calls the token endpoint of the Cloudflare API. It is safe for
// concurrent use. Its credentials are held privately and sent only as
// request headers; no method returns or prints them.
type Client struct {
	gen     *gen.Client
	doer    gen.HttpRequestDoer // gen's, for the token call it builds itself
	headers http.Header         // sent with every call
	baseURL string              // without a trailing slash, for errors (credentials redacted)
	now     func() time.Time
	secrets []string // the credentials, to redact from what servers echo
	// rateLimit is the latest rate limit an answer stated.
	rateLimit atomic.Pointer[RateLimit]
	// signer, when set, signs CreateToken's tokens here (WithSigner).
	signer *token.Signer
	// noCredentials: a client that only signs locally; its API calls
	// return ErrNoCredentials.
	noCredentials bool
	// callTimeout bounds each call, retries included (WithCallTimeout).
	callTimeout time.Duration
}

// config is what the options set, checked by NewClient.
type config struct {
	baseURL     string
	httpClient  *http.Client
	auth        func(http.Header)
	authCount   int
	secrets     []string
	userAgent   string
	retry       retryPolicy
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error // between retries
	budget      *budget                                    // nil: none
	signer      *token.Signer                              // WithSigner
	signingKey  *token.Key                                 // WithSigningKeyFile, signed with on the client's clock
	callTimeout time.Duration                              // WithCallTimeout; 0: none
}

// Option configures a [Client]. Options return an error for a bad value;
// none panics.
type Option func(*config) error

// WithAPIToken authenticates with an API token, sent as
// "Authorization: Bearer <token>".
func WithAPIToken(token string) Option {
	return func(c *config) error {
		if err := c.apiToken(token); err != nil {
			return fmt.Errorf("WithAPIToken: %w", err)
		}
		return nil
	}
}

// WithAPIKey authenticates with an account's email and its global API key,
// sent as the X-Auth-Email and X-Auth-Key headers.
func WithAPIKey(email, key string) Option {
	return func(c *config) error {
		if err := c.apiKey(email, key); err != nil {
			return fmt.Errorf("WithAPIKey: %w", err)
		}
		return nil
	}
}

// WithCredentialsFromEnv reads the credentials from the environment:
// CLOUDFLARE_API_TOKEN, or else CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY.
// The client reads no environment variable unless given this option.
func WithCredentialsFromEnv() Option {
	return WithCredentialsFrom(os.Getenv)
}

// WithCredentialsFrom reads the credentials as [WithCredentialsFromEnv]
// does, through getenv (os.Getenv, or a map's lookup in a test or a
// command with an environment of its own). Its errors name the variables.
func WithCredentialsFrom(getenv func(string) string) Option {
	return func(c *config) error {
		if t := getenv(EnvAPIToken); t != "" {
			if err := c.apiToken(t); err != nil {
				return fmt.Errorf("%s: %w", EnvAPIToken, err)
			}
			return nil
		}
		email, key := getenv(EnvEmail), getenv(EnvAPIKey)
		switch {
		case email != "" && key != "":
			if err := c.apiKey(email, key); err != nil {
				return fmt.Errorf("%s and %s: %w", EnvEmail, EnvAPIKey, err)
			}
			return nil
		case email != "" || key != "":
			return fmt.Errorf("%s and %s must be set together", EnvEmail, EnvAPIKey)
		}
		return fmt.Errorf("no credentials: set %s, or %s and %s", EnvAPIToken, EnvEmail, EnvAPIKey)
	}
}

// apiToken sets an API token, if it is one.
func (c *config) apiToken(token string) error {
	if strings.TrimSpace(token) == "" {
		return errors.New("empty token")
	}
	if strings.ContainsAny(token, "\r\n") {
		return errors.New("token contains a line break")
	}
	c.setAuth(func(h http.Header) { h.Set("Authorization", "Bearer "+token) }, token)
	return nil
}

// apiKey sets an email and a global API key, if they are ones.
func (c *config) apiKey(email, key string) error {
	if strings.TrimSpace(email) == "" || strings.TrimSpace(key) == "" {
		return errors.New("email and key are both required")
	}
	if strings.ContainsAny(email+key, "\r\n") {
		return errors.New("email or key contains a line break")
	}
	c.setAuth(func(h http.Header) {
		h.Set("X-Auth-Email", email)
		h.Set("X-Auth-Key", key)
	}, key)
	return nil
}

func (c *config) setAuth(f func(http.Header), secret string) {
	c.auth = f
	c.authCount++
	c.secrets = []string{secret}
}

// WithBaseURL sets the API's base URL, such as a [streamtokentest.Server]'s
// URL or a self-hosted token server's "http://127.0.0.1:8787/client/v4".
// A trailing slash makes no difference. The default is [DefaultBaseURL].
func WithBaseURL(rawURL string) Option {
	return func(c *config) error {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("WithBaseURL: want an absolute http or https URL")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return errors.New("WithBaseURL: the base URL takes no query or fragment")
		}
		c.baseURL = strings.TrimRight(u.String(), "/")
		return nil
	}
}

// WithHTTPClient sets the HTTP client that sends the requests; the default
// is a client with a 30 s timeout. Its Transport decides proxies and TLS.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithMaxRetries sets how many times a failed call is retried (after a
// 408, 429 or 5xx response or a connection error); 0 turns retries off.
// The default is [DefaultMaxRetries].
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("WithMaxRetries: %d is negative", n)
		}
		c.retry.maxRetries = n
		return nil
	}
}

// WithBackoff sets the wait before the first retry and the longest wait
// between two tries; each retry doubles the wait, with jitter, up to max. A
// Retry-After header is honoured up to max too. The defaults are
// [DefaultBackoffBase] and [DefaultBackoffMax].
func WithBackoff(base, max time.Duration) Option {
	return func(c *config) error {
		if base <= 0 || max < base {
			return fmt.Errorf("WithBackoff: want 0 < base <= max, got base %v, max %v", base, max)
		}
		c.retry.base, c.retry.max = base, max
		return nil
	}
}

// WithCallTimeout bounds each call the client makes, its retries and
// their waits included: past d, the call ends with an error that says so
// (and wraps context.DeadlineExceeded). A retry whose wait would end past
// the bound is not waited for: the call ends with the answer that asked
// for it. 0, the default, sets no bound beyond the context's.
func WithCallTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithCallTimeout: %v is negative", d)
		}
		c.callTimeout = d
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if ua == "" || strings.ContainsAny(ua, "\r\n") {
			return errors.New("WithUserAgent: empty or contains a line break")
		}
		c.userAgent = ua
		return nil
	}
}

// WithClock sets the clock that request validation checks exp and nbf
// against; the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.now = now
		return nil
	}
}

// NewClient returns a client configured by opts. Exactly one option must set
// credentials ([WithAPIToken], [WithAPIKey] or [WithCredentialsFromEnv]).
func NewClient(opts ...Option) (*Client, error) {
	cfg := config{
		baseURL:    DefaultBaseURL,
		httpClient: &http.Client{Timeout: 30 * time.Second},
		userAgent:  buildinfo.Info{Version: Version}.UserAgent(),
		retry:      defaultRetryPolicy(),
		now:        time.Now,
		sleep:      sleep,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, fmt.Errorf("streamtoken: %w", err)
		}
	}
	if cfg.signingKey != nil {
		signer, err := token.NewSigner(cfg.signingKey, token.WithClock(cfg.now))
		if err != nil {
			return nil, fmt.Errorf("streamtoken: WithSigningKeyFile: %w", err)
		}
		cfg.signer = signer
	}
	switch {
	case cfg.authCount == 0 && cfg.signer == nil:
		return nil, ErrNoCredentials
	case cfg.authCount > 1:
		return nil, errors.New("streamtoken: credentials set more than once: use one of WithAPIToken, WithAPIKey, WithCredentialsFromEnv")
	}
	c := &Client{baseURL: cfg.baseURL, now: cfg.now, secrets: cfg.secrets, signer: cfg.signer, noCredentials: cfg.authCount == 0,
		callTimeout: cfg.callTimeout}
	// The headers of every call, built once. Their value slices are
	// shared by all requests: net/http only reads them, and a Set or Add
	// elsewhere makes a new slice (each has no room to grow into).
	fixed := http.Header{}
	fixed.Set("User-Agent", cfg.userAgent)
	fixed.Set("Accept", "application/json")
	if cfg.auth != nil {
		cfg.auth(fixed)
	}
	c.headers = fixed
	c.doer = &retryingDoer{client: cfg.httpClient, policy: cfg.retry, now: cfg.now, sleep: cfg.sleep, budget: cfg.budget}
	g, err := gen.NewClient(cfg.baseURL,
		gen.WithHTTPClient(c.doer),
		gen.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			c.setHeaders(req)
			return nil
		}))
	if err != nil {
		return nil, fmt.Errorf("streamtoken: %w", err)
	}
	c.gen = g
	return c, nil
}

// setHeaders sets the headers of every call on req.
func (c *Client) setHeaders(req *http.Request) {
	for name, values := range c.headers {
		req.Header[name] = values
	}
}

// RateLimit returns the latest rate limit an answer to this client stated
// (of any call, from any goroutine), and false when none has.
func (c *Client) RateLimit() (RateLimit, bool) {
	if rl := c.rateLimit.Load(); rl != nil {
		return *rl, true
	}
	return RateLimit{}, false
}

// Generated returns the generated client this client wraps, with the same
// base URL, credentials and retries, for callers who want the raw
// operation. It validates nothing before sending.
func (c *Client) Generated() *gen.Client { return c.gen }
