package streamtoken

import (
	"context"
	"errors"
	"fmt"

	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/token"
)

// WithSigner makes [Client.CreateToken] sign its tokens itself with s, a
// Stream signing key of the account (token.NewSigner, or a key in a KMS
// through token.NewCryptoSigner), and call no API: no rate limit, no
// round trip. The request, its defaults, its checks and its errors are
// the same as the API's; the token says so in Token.Local. A request with
// its own KeyID and PEM is signed with that key instead, as the API
// would. The signer's clock dates the tokens (token.WithClock).
//
// With a signer the client needs no credentials; its other calls then
// return [ErrNoCredentials].
func WithSigner(s *token.Signer) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("WithSigner: nil signer")
		}
		c.signer, c.signingKey = s, nil
		return nil
	}
}

// WithSigningKeyFile is [WithSigner] with the key in a file: as
// "streamtoken keys create --out" saves it (the API's answer), or a JWK,
// either of which carries the key's ID; a file of at most 1 MiB. The
// client's clock ([WithClock]) dates the tokens. A PEM file carries no ID:
// give its key one and use WithSigner.
func WithSigningKeyFile(path string) Option {
	return func(c *config) error {
		key, err := token.ReadPrivateKey(path)
		if err != nil {
			return fmt.Errorf("WithSigningKeyFile: %w", err)
		}
		if key.ID == "" {
			return fmt.Errorf("WithSigningKeyFile: %s: %w: the file carries no key ID (a PEM file): set the key's ID and use WithSigner", path, token.ErrNoKeyID)
		}
		c.signer, c.signingKey = nil, key
		return nil
	}
}

// signLocally is CreateToken with the client's own signer: the checks the
// API's call makes before sending, then the signature the API would make.
func (c *Client) signLocally(ctx context.Context, accountID, videoID string, req TokenRequest) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("streamtoken: %w", err)
	}
	r := req.request(videoID)
	body := wire.Body(r, req.KeyID, req.PEM)
	key, err := wire.CheckRequest(accountID, videoID, r, &body, c.now())
	if err != nil {
		return nil, fmt.Errorf("streamtoken: %w", err)
	}
	signer := c.signer
	if key != nil { // the request's own key, as the API signs with it
		if signer, err = token.NewSigner(key, token.WithClock(c.now)); err != nil {
			return nil, fmt.Errorf("streamtoken: %w", &token.ValidationError{Violations: []token.Violation{token.FieldViolation(err.Error(), "pem")}})
		}
	}
	value, _, err := signer.Sign(r)
	if err != nil {
		return nil, fmt.Errorf("streamtoken: %w", err)
	}
	tok := &Token{Value: value, AccountID: accountID, VideoID: videoID, Local: true}
	if msgs := wire.Findings(r.AccessRules); len(msgs) > 0 {
		tok.Messages = c.infos(msgs)
	}
	return tok, nil
}
