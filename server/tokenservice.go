package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/spans"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// TokenService is the service of the token operation
// ([gen.TokenOperations]): the API's rules (times, access rules, the id
// and pem pair; the path's IDs are the [RequestChecker]'s, which a server
// mounts in front), signing with the body's id and pem when given or else
// with the account's signer, and the answers as envelopes. A server of
// one's own embeds it, or calls it from a CreateStreamToken of its own (as
// the custom-server example does, to log); [Server] embeds it.
type TokenService struct {
	// Signer returns the signer of an account's tokens: from a key
	// (token.NewSigner) or any crypto.Signer (token.NewCryptoSigner), such
	// as a KMS key. A signer of the account's own keeps its tokens from
	// verifying for another account (see [Server.AccountSigner]). An error
	// matching [store.ErrAccountLimit] is a 400 envelope (1013); any other, a
	// fault of the server. Required.
	Signer func(ctx context.Context, accountID string) (*token.Signer, error)
	// Now is the clock requests are checked by, and that of the signer of
	// a request's own pem. Nil: time.Now.
	Now func() time.Time
	// Crypto is the RSA of the signer of a request's own pem
	// (token.WithCrypto). Zero: token.CryptoAuto.
	Crypto token.Crypto
	// Queue, when set, admits the signing work: a request it turns away
	// gets a 429 envelope with a Retry-After header. Nil: every request
	// signs at once, and under overload all of them are slow.
	Queue *SigningQueue
	// Cache, when set, keeps the tokens the account signers sign, so that
	// identical requests cost one signature. Tokens of a request's own
	// pem are never cached.
	Cache *TokenCache
	// Videos, when set, says whether a video exists: a token for one it
	// says is missing is a 404 envelope (1011), as the video's details
	// are; one it cannot tell of is signed. Nil: every valid ID exists.
	Videos VideoChecker
	// Signed, when set, is called after each token is issued (signed or
	// from the cache) with whose key signed it: "account" or "request".
	Signed func(key string)
	// Tracer, when set, makes the signing queue's wait and the signature
	// spans, children of the request's. Nil: no spans.
	Tracer trace.Tracer
}

// CreateStreamToken answers a token request. It fails closed: it refuses
// (401) a request whose context carries no [Caller] (the [Authenticator]'s
// middleware puts it there) and (403) a caller not allowed for the account,
// whatever the mount. It does not check the path's IDs nor the body
// against the schema: mount a [RequestChecker] for that. An error is a
// fault of the server.
func (ts *TokenService) CreateStreamToken(ctx context.Context, req gen.CreateStreamTokenRequestObject) (gen.CreateStreamTokenResponseObject, error) {
	if p := Refuse(ctx, req.AccountID); p != nil {
		return failure(*p), nil
	}
	if ts.Videos != nil {
		switch exists, err := ts.Videos.VideoExists(ctx, req.AccountID, req.Identifier); {
		case err != nil:
			return nil, fmt.Errorf("whether video %s of account %s exists: %w", req.Identifier, req.AccountID, err)
		case exists == VideoMissing:
			return failure(NoSuchMedium(req.AccountID, "video", req.Identifier)), nil
		}
	}
	now := time.Now
	if ts.Now != nil {
		now = ts.Now
	}
	var signAttrs []attribute.KeyValue
	if ts.Tracer != nil {
		signAttrs = []attribute.KeyValue{spans.Account.String(req.AccountID)}
	}
	checked, err := wire.Check(req.Identifier, req.Body, now())
	if err != nil {
		return failure(validationErrors(err)...), nil
	}
	request, key := checked.Request, checked.Key
	source := "account"
	var signer *token.Signer
	switch {
	case key != nil:
		if signer, err = token.NewSigner(key, token.WithClock(now), token.WithCrypto(cmp.Or(ts.Crypto, token.CryptoAuto))); err != nil {
			return failure(Problem{Status: http.StatusBadRequest, Code: apicode.InvalidRequest, Message: "pem: " + err.Error(), Pointer: "/pem"}), nil
		}
		source = "request"
	case ts.Signer != nil:
		signer, err = ts.Signer(ctx, req.AccountID)
		var overload *OverloadError
		switch {
		case errors.Is(err, store.ErrAccountLimit):
			return failure(accountLimit()), nil
		case errors.As(err, &overload): // the account's key, generated in its turn
			return overloaded{retryAfter: overload.RetryAfter}, nil
		case err != nil && ctx.Err() != nil:
			return clientGone{}, nil
		case err != nil:
			return nil, fmt.Errorf("the signer of account %s: %w", req.AccountID, err)
		}
	}
	if signer == nil {
		return nil, fmt.Errorf("no signer for account %s", req.AccountID)
	}
	// Draft checks the request again: microseconds next to the RSA
	// signature, and it keeps the signer safe on its own.
	draft, err := signer.Draft(request)
	if err != nil {
		var verr *token.ValidationError
		if errors.As(err, &verr) { // the clock moved past exp since the check
			return failure(validationErrors(err)...), nil
		}
		return nil, fmt.Errorf("drafting with the %s key: %w", source, err)
	}
	sign := func() (string, error) {
		if ts.Queue != nil {
			_, wait := spans.Start(ctx, ts.Tracer, "signing queue wait")
			release, err := ts.Queue.Acquire(ctx)
			spans.End(wait, err)
			if err != nil {
				return "", err
			}
			defer release()
		}
		_, span := spans.Start(ctx, ts.Tracer, "sign", signAttrs...)
		tok, err := draft.Sign()
		spans.End(span, err)
		return tok, err
	}
	var tok string
	if ts.Cache != nil && source == "account" {
		tok, _, err = ts.Cache.Sign(ctx, req.AccountID, draft, sign)
	} else {
		tok, err = sign()
	}
	var overload *OverloadError
	switch {
	case errors.As(err, &overload):
		return overloaded{retryAfter: overload.RetryAfter}, nil
	case err != nil && ctx.Err() != nil:
		return clientGone{}, nil
	case err != nil:
		return nil, fmt.Errorf("signing with the %s key: %w", source, err)
	}
	if ts.Signed != nil {
		ts.Signed(source)
	}
	return gen.CreateStreamToken200JSONResponse{
		Success:  true,
		Errors:   []gen.Message{},
		Messages: checked.Findings,
		Result:   gen.TokenResult{Token: tok},
	}, nil
}

// failure is the strict handler's failure response for errs.
func failure(errs ...Problem) gen.CreateStreamTokenResponseObject {
	return gen.CreateStreamToken4XXJSONResponse{Body: Envelope(errs), StatusCode: errs[0].Status}
}
