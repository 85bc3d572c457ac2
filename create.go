package streamtoken

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/token"
)

// maxResponseBytes bounds how much of a response body the client reads.
const maxResponseBytes = 1 << 20

// TokenRequest is the body of a token request. Every field is optional and
// its zero value means "not set": the API then applies its default. The
// fields are those of [token.Request], the video aside (it is a path
// parameter of [Client.CreateToken]), and the key to sign with.
type TokenRequest struct {
	// KeyID and PEM name a Stream signing key for the API to sign with
	// (the id and pem fields): both or neither. PEM is base64 of the
	// PEM-encoded private key, as the API hands it out.
	KeyID string
	PEM   string
	// ExpiresAt is exp: after now and at most 24 hours later. Zero means
	// one hour after the API receives the request. Sent in whole seconds.
	ExpiresAt time.Time
	// NotBefore is nbf: before ExpiresAt. Zero means one hour before the
	// API receives the request. Sent in whole seconds.
	NotBefore time.Time
	// Downloadable grants the MP4 download link too.
	Downloadable bool
	// AccessRules restrict who may use the token: at most five, the first
	// that matches a viewer decides.
	AccessRules []token.Rule
	// Original is flags.original: serve the original video, without
	// transformations.
	Original bool
}

// request is what the token is to grant, its times in whole seconds as
// the wire carries them: what the client checks is what it sends.
func (r TokenRequest) request(videoID string) token.Request {
	return token.Request{
		VideoID:      videoID,
		ExpiresAt:    wholeSeconds(r.ExpiresAt),
		NotBefore:    wholeSeconds(r.NotBefore),
		Downloadable: r.Downloadable,
		AccessRules:  r.AccessRules,
		Original:     r.Original,
	}
}

// wholeSeconds is t as the wire carries it: whole seconds of Unix time
// (exp and nbf), the zero time kept.
func wholeSeconds(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.Unix(t.Unix(), 0)
}

// Token is a signed token the API created.
type Token struct {
	// Value is the signed token (a JWT) that goes in the video's URLs.
	// Treat it as a secret until it reaches its viewer: it grants access.
	Value string
	// AccountID and VideoID are what it was created for.
	AccountID, VideoID string
	// RateLimit is what the API's answer stated of the caller's rate
	// limit; nil when it stated nothing, or the token was signed locally.
	RateLimit *RateLimit
	// Messages are the answer's messages: from streamtoken's server, what
	// the access rules do that their author likely did not mean (codes
	// 1100 to 1103, as token.Lint finds them; a local signature runs
	// token.Lint itself).
	Messages []ResponseInfo
	// Local reports that the client signed the token itself, with the key
	// given to [WithSigner], and called no API.
	Local bool
}

// URLs returns the video's signed URLs for this token, under the customer
// subdomain code of the account (customer-<code>.cloudflarestream.com).
func (t *Token) URLs(customerCode string) (token.URLs, error) {
	return token.SignedURLs(customerCode, t.Value)
}

// String describes the token without its value, so that printing or logging
// a Token never leaks it; use Value for the token itself.
func (t Token) String() string {
	return fmt.Sprintf("streamtoken.Token{AccountID: %q, VideoID: %q, Value: [redacted]}", t.AccountID, t.VideoID)
}

// GoString is String, for %#v.
func (t Token) GoString() string { return t.String() }

// LogValue keeps the token's value out of log/slog output.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account", t.AccountID), slog.String("video", t.VideoID))
}

// CreateToken asks the API for a signed token for a video. It first checks
// the request against the API's rules (IDs, the id and pem pair, exp and
// nbf against the client's clock, the access rules) and returns a
// *token.ValidationError listing every violation, without sending anything.
// It retries as [WithMaxRetries] says. An answer other than a token is an
// [*APIError]. With a signer ([WithSigner], [WithSigningKeyFile]) it signs
// the token itself after the same checks, and sends nothing.
func (c *Client) CreateToken(ctx context.Context, accountID, videoID string, req TokenRequest) (*Token, error) {
	if c.signer != nil {
		return c.signLocally(ctx, accountID, videoID, req)
	}
	r := req.request(videoID)
	body := wire.Body(r, req.KeyID, req.PEM)
	if _, err := wire.CheckRequest(accountID, videoID, r, &body, c.now()); err != nil {
		return nil, fmt.Errorf("streamtoken: %w", err)
	}
	var tok *Token
	rl, err := c.exchangeLimited(ctx,
		func(ctx context.Context) (*http.Response, error) {
			req, err := c.tokenRequest(ctx, accountID, videoID, body)
			if err != nil {
				return nil, err
			}
			return c.doer.Do(req)
		},
		func(raw []byte) bool {
			// Only what a success needs: its errors are empty then, and
			// decoding them costs allocations.
			var env struct {
				Success  bool         `json:"success"`
				Messages lazyMessages `json:"messages"`
				Result   struct {
					Token string `json:"token"`
				} `json:"result"`
			}
			if json.Unmarshal(raw, &env) != nil || !env.Success || env.Result.Token == "" {
				return false
			}
			tok = &Token{Value: env.Result.Token, AccountID: accountID, VideoID: videoID}
			if len(env.Messages) > 0 {
				tok.Messages = c.infos(env.Messages)
			}
			return true
		})
	if tok != nil {
		tok.RateLimit = rl
	}
	return tok, err
}

// lazyMessages decode an envelope's messages, and cost no allocation when
// there are none, as on almost every success.
type lazyMessages []gen.Message

func (m *lazyMessages) UnmarshalJSON(data []byte) error {
	if t := string(bytes.TrimSpace(data)); t == "[]" || t == "null" {
		return nil
	}
	return json.Unmarshal(data, (*[]gen.Message)(m))
}

// tokenRequest is the request gen.Client.CreateStreamToken sends, built
// here because gen's builder parses the base URL, then the URL of the call
// twice over, on every call: the larger part of the client's own cost per
// token (make bench-client). TestTokenRequestIsGenerated holds the two
// requests the same.
func (c *Client) tokenRequest(ctx context.Context, accountID, videoID string, body gen.TokenRequest) (*http.Request, error) {
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	url := c.gen.Server + gen.CreateStreamTokenPath(accountID, videoID)[1:] // Server ends in "/"
	req, err := http.NewRequestWithContext(ctx, gen.CreateStreamTokenRoute.Method, url, bytes.NewReader(buf))
	if err != nil {
		return nil, err
	}
	req.Header["Content-Type"] = jsonContentType
	c.setHeaders(req)
	return req, nil
}

// jsonContentType is the Content-Type header of a JSON body, shared by
// every request: net/http only reads it.
var jsonContentType = []string{"application/json"}

// exchange sends one call (and its retries) and reads the answer through
// the 1 MiB limit. A 2xx answer that success takes is the call's result;
// anything else is an *APIError: by the envelope's errors when it has some,
// else by a short excerpt of a body that is not 2xx (a 2xx body may hold a
// token or a key, and is never quoted). path, the call's path segments
// under the base URL, names it in errors; its URL is built only for them.
func (c *Client) exchange(ctx context.Context, send func(context.Context) (*http.Response, error), success func(raw []byte) bool) error {
	_, err := c.exchangeLimited(ctx, send, success)
	return err
}

// exchangeLimited is exchange, and what the answer stated of the rate
// limit (nil: nothing), which the client keeps as its latest too.
func (c *Client) exchangeLimited(ctx context.Context, send func(context.Context) (*http.Response, error), success func(raw []byte) bool) (*RateLimit, error) {
	return c.exchangeUpTo(ctx, maxResponseBytes, send, success)
}

// exchangeUpTo is exchangeLimited reading at most limit bytes of the
// answer: more than 1 MiB for the calls whose answers may be longer (a
// page of 1,000 videos).
func (c *Client) exchangeUpTo(ctx context.Context, limit int, send func(context.Context) (*http.Response, error), success func(raw []byte) bool) (*RateLimit, error) {
	if c.noCredentials {
		return nil, ErrNoCredentials
	}
	if c.callTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.callTimeout, callTimeoutError{c.callTimeout})
		defer cancel()
	}
	ctx, attempts := countAttempts(ctx)
	resp, err := send(ctx)
	if err != nil {
		var urlErr *neturl.Error // it holds the request's method and URL: said once, redacted
		if errors.As(err, &urlErr) {
			return nil, fmt.Errorf("streamtoken: %s %s: %w%s%s", strings.ToUpper(urlErr.Op), redactURL(urlErr.URL), urlErr.Err, causeNote(ctx, urlErr.Err), attemptsNote(*attempts))
		}
		return nil, fmt.Errorf("streamtoken: %w%s%s", err, causeNote(ctx, err), attemptsNote(*attempts))
	}
	defer resp.Body.Close()
	rl := parseRateLimit(resp.Header, resp.StatusCode, c.now())
	if rl != nil {
		c.rateLimit.Store(rl)
	}
	// The request's URL, for errors alone: a success costs no formatting.
	url := func() string { return redactURL(resp.Request.URL.String()) }
	raw, err := readBody(resp, limit)
	if err != nil {
		return rl, fmt.Errorf("streamtoken: %s %s: reading the response: %w%s", resp.Request.Method, url(), err, causeNote(ctx, err))
	}
	if len(raw) <= limit && resp.StatusCode >= 200 && resp.StatusCode <= 299 && success(raw) {
		return rl, nil
	}
	e := &APIError{StatusCode: resp.StatusCode, RayID: printable(resp.Header.Get("Cf-Ray")), Method: resp.Request.Method, URL: url(), Attempts: *attempts, RateLimit: rl}
	env := envelopeOf(raw)
	switch {
	case len(raw) > limit:
		e.Excerpt = fmt.Sprintf("response body over %d MiB", limit>>20)
		return rl, e
	case env != nil && len(env.Errors) > 0:
		e.Errors = c.infos(env.Errors)
		e.Messages = c.infos(env.Messages)
	case resp.StatusCode < 300:
		e.Excerpt = "a success status without success: true and a result"
	default:
		e.Excerpt = c.redact(excerpt(raw))
	}
	if resp.StatusCode == http.StatusNotFound {
		e.Hint = c.notFoundHint(env)
	}
	return rl, e
}

// callTimeoutError is WithCallTimeout's bound running out; it matches
// context.DeadlineExceeded.
type callTimeoutError struct{ d time.Duration }

func (e callTimeoutError) Error() string {
	return fmt.Sprintf("the call's bound of %v ran out (WithCallTimeout)", e.d)
}

func (e callTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// causeNote says which bound ran out when ctx ended by a deadline with a
// cause of its own (WithCallTimeout's, or a caller's such as a command's
// --timeout), unless err says it already.
func causeNote(ctx context.Context, err error) string {
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() && !strings.Contains(err.Error(), cause.Error()) {
		return ": " + cause.Error()
	}
	return ""
}

// envelopeOf decodes a failure envelope, or returns nil if raw is none.
func envelopeOf(raw []byte) *gen.FailureResponse {
	var env gen.FailureResponse
	if json.Unmarshal(raw, &env) != nil || (env.Errors == nil && env.Messages == nil) {
		return nil
	}
	return &env
}

// notFoundHint names the likely cause of a 404 that does not look like the
// API's: a base URL without the API's /client/v4, or an answer that is no
// Cloudflare envelope (another server, or a proxy's page).
func (c *Client) notFoundHint(env *gen.FailureResponse) string {
	if !strings.HasSuffix(c.baseURL, "/client/v4") {
		return "the base URL " + c.redactedBase() + ` does not end in /client/v4, as the API's does: see WithBaseURL`
	}
	if env == nil {
		return "the answer is no Cloudflare API envelope: is the base URL the API's?"
	}
	return ""
}

// redact removes the client's own credentials from text a server sent back,
// in case a misbehaving server or proxy echoes request headers.
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	return s
}

// infos converts envelope entries, redacting what the server echoed.
func (c *Client) infos(msgs []gen.Message) []ResponseInfo {
	out := make([]ResponseInfo, len(msgs))
	for i, m := range msgs {
		out[i] = ResponseInfo{Code: Code(m.Code), Message: printable(c.redact(m.Message))}
		if m.DocumentationURL != nil {
			out[i].DocumentationURL = printable(*m.DocumentationURL)
		}
		if m.Source != nil && m.Source.Pointer != nil {
			out[i].Pointer = printable(*m.Source.Pointer)
		}
	}
	return out
}

// readBody reads a response's body, up to one byte past limit (so that an
// answer over it shows): in one read into a buffer of the announced length
// when the server gave one within the limit.
func readBody(resp *http.Response, limit int) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= int64(limit) {
		raw := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, raw); err != nil {
			return nil, err
		}
		return raw, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
}

// redactURL is a request's URL for errors, without any credentials in it.
func redactURL(raw string) string {
	if u, err := neturl.Parse(raw); err == nil {
		return u.Redacted()
	}
	return raw
}

// redactedBase is the base URL without any credentials in it.
func (c *Client) redactedBase() string {
	if u, err := neturl.Parse(c.baseURL); err == nil {
		return u.Redacted()
	}
	return c.baseURL
}
