package streamtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/token"
)

// The generated types a caller needs, re-exported.
type (
	// AccessRule is one access rule of a token: see [gen.AccessRule].
	AccessRule = gen.AccessRule
	// AccessRuleAction is what a rule does to a viewer it matches.
	AccessRuleAction = gen.AccessRuleAction
	// AccessRuleType is what a rule matches on.
	AccessRuleType = gen.AccessRuleType
)

// The values of [AccessRuleAction] and [AccessRuleType].
const (
	AccessRuleActionAllow        = gen.AccessRuleActionAllow
	AccessRuleActionBlock        = gen.AccessRuleActionBlock
	AccessRuleTypeAny            = gen.AccessRuleTypeAny
	AccessRuleTypeIPSrc          = gen.AccessRuleTypeIPSrc
	AccessRuleTypeIPGeoIPCountry = gen.AccessRuleTypeIPGeoIPCountry
)

// maxResponseBytes bounds how much of a response body the client reads.
const maxResponseBytes = 1 << 20

// TokenRequest is the body of a token request. Every field is optional and
// its zero value means "not set": the API then applies its default.
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
	AccessRules []AccessRule
	// Original is flags.original: serve the original video, without
	// transformations.
	Original bool
}

// body is the request's wire form: only what is set.
func (r TokenRequest) body() gen.TokenRequest {
	var b gen.TokenRequest
	if r.KeyID != "" {
		b.ID = &r.KeyID
	}
	if r.PEM != "" {
		b.PEM = &r.PEM
	}
	if !r.ExpiresAt.IsZero() {
		exp := r.ExpiresAt.Unix()
		b.Exp = &exp
	}
	if !r.NotBefore.IsZero() {
		nbf := r.NotBefore.Unix()
		b.Nbf = &nbf
	}
	if r.Downloadable {
		b.Downloadable = &r.Downloadable
	}
	if r.Original {
		b.Flags = &gen.TokenFlags{Original: &r.Original}
	}
	b.AccessRules = r.AccessRules
	return b
}

// Token is a signed token the API created.
type Token struct {
	// Value is the signed token (a JWT) that goes in the video's URLs.
	// Treat it as a secret until it reaches its viewer: it grants access.
	Value string
	// AccountID and VideoID are what it was created for.
	AccountID, VideoID string
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
	return slog.GroupValue(slog.String("account_id", t.AccountID), slog.String("video_id", t.VideoID))
}

// CreateToken asks the API for a signed token for a video. It first checks
// the request against the API's rules (IDs, the id and pem pair, exp and
// nbf against the client's clock, the access rules) and returns a
// *token.ValidationError listing every violation, without sending anything.
// It retries as [WithMaxRetries] says. An answer other than a token is an
// [*APIError].
func (c *Client) CreateToken(ctx context.Context, accountID, videoID string, req TokenRequest) (*Token, error) {
	body := req.body()
	if _, err := wire.Check(accountID, videoID, &body, c.now()); err != nil {
		return nil, fmt.Errorf("streamtoken: %w", err)
	}
	resp, err := c.gen.CreateStreamToken(ctx, accountID, videoID, body)
	if err != nil {
		var urlErr *url.Error // it repeats the URL: keep what went wrong
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("streamtoken: POST %s: %w", c.endpoint(accountID, videoID), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("streamtoken: POST %s: reading the response: %w", c.endpoint(accountID, videoID), err)
	}
	if len(raw) > maxResponseBytes {
		e := c.apiError(resp, accountID, videoID, nil, nil)
		e.Excerpt = "response body over 1 MiB"
		return nil, e
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		var env gen.TokenResponse
		if json.Unmarshal(raw, &env) == nil && env.Success && env.Result.Token != "" {
			return &Token{Value: env.Result.Token, AccountID: accountID, VideoID: videoID}, nil
		}
	}
	return nil, c.apiError(resp, accountID, videoID, envelopeOf(raw), raw)
}

// envelopeOf decodes a failure envelope, or returns nil if raw is none.
func envelopeOf(raw []byte) *gen.FailureResponse {
	var env gen.FailureResponse
	if json.Unmarshal(raw, &env) != nil || (env.Errors == nil && env.Messages == nil) {
		return nil
	}
	return &env
}

// apiError describes a response that holds no token: by its envelope's
// errors when it has some, else by a short excerpt of its body (never of a
// 2xx body, which may hold a token).
func (c *Client) apiError(resp *http.Response, accountID, videoID string, env *gen.FailureResponse, raw []byte) *APIError {
	e := &APIError{
		StatusCode: resp.StatusCode,
		RayID:      resp.Header.Get("Cf-Ray"),
		Method:     http.MethodPost,
		URL:        c.endpoint(accountID, videoID),
	}
	switch {
	case env != nil && len(env.Errors) > 0:
		e.Errors = c.infos(env.Errors)
		e.Messages = c.infos(env.Messages)
	case resp.StatusCode < 300:
		e.Excerpt = "a success status without success: true and a token"
	default:
		e.Excerpt = c.redact(excerpt(raw))
	}
	return e
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
		out[i] = ResponseInfo{Code: m.Code, Message: c.redact(m.Message)}
		if m.DocumentationURL != nil {
			out[i].DocumentationURL = *m.DocumentationURL
		}
		if m.Source != nil && m.Source.Pointer != nil {
			out[i].Pointer = *m.Source.Pointer
		}
	}
	return out
}

// endpoint is the operation's URL for errors, with any credentials in the
// base URL redacted.
func (c *Client) endpoint(accountID, videoID string) string {
	base := c.baseURL
	if u, err := url.Parse(base); err == nil {
		base = u.Redacted()
	}
	return base + "/accounts/" + url.PathEscape(accountID) + "/stream/" + url.PathEscape(videoID) + "/token"
}
