package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/token"
)

// TokenService is the token operation as a building block: the API's
// rules (IDs, times, access rules, the id and pem pair), signing with the
// body's id and pem when given or else with the account's signer, and the
// answers as envelopes. A custom gen.StrictServerInterface delegates its
// CreateStreamToken to it; [Server] does.
type TokenService struct {
	// Signer returns the signer of an account's tokens: from a key
	// (token.NewSigner) or any crypto.Signer (token.NewCryptoSigner), such
	// as a KMS key. Required.
	Signer func(accountID string) *token.Signer
	// Now is the clock requests are checked by, and that of the signer of
	// a request's own pem. Nil: time.Now.
	Now func() time.Time
	// Signed, when set, is called after each token is signed with whose
	// key signed it: "account" or "request".
	Signed func(key string)
}

// CreateStreamToken answers a token request. It fails closed: it refuses
// (401) a request whose context carries no [Caller] (the [Authenticator]'s
// middleware puts it there) and (403) a caller not allowed for the account,
// whatever the mount. It does not check the body against the schema: mount
// a [RequestChecker] for that. An error is a fault of the server.
func (ts *TokenService) CreateStreamToken(ctx context.Context, req gen.CreateStreamTokenRequestObject) (gen.CreateStreamTokenResponseObject, error) {
	if p := admit(ctx, req.AccountID); p != nil {
		return failure(*p), nil
	}
	now := time.Now
	if ts.Now != nil {
		now = ts.Now
	}
	key, err := wire.Check(req.AccountID, req.Identifier, req.Body, now())
	if err != nil {
		return failure(validationErrors(err)...), nil
	}
	source := "account"
	var signer *token.Signer
	if key != nil {
		if signer, err = token.NewSigner(key, token.WithClock(now)); err != nil {
			return failure(Problem{Status: http.StatusBadRequest, Code: streamtoken.CodeInvalidRequest, Message: "pem: " + err.Error(), Pointer: "/pem"}), nil
		}
		source = "request"
	} else if ts.Signer != nil {
		signer = ts.Signer(req.AccountID)
	}
	if signer == nil {
		return nil, fmt.Errorf("no signer for account %s", req.AccountID)
	}
	// Sign checks the options again: microseconds next to the RSA
	// signature, and it keeps Sign safe on its own.
	tok, _, err := signer.Sign(wire.Request(req.Identifier, req.Body))
	if err != nil {
		var verr *token.ValidationError
		if errors.As(err, &verr) { // the clock moved past exp since the check
			return failure(validationErrors(err)...), nil
		}
		return nil, fmt.Errorf("signing with the %s key: %w", source, err)
	}
	if ts.Signed != nil {
		ts.Signed(source)
	}
	return gen.CreateStreamToken200JSONResponse{
		Success:  true,
		Errors:   []gen.Message{},
		Messages: []gen.Message{},
		Result:   gen.TokenResult{Token: tok},
	}, nil
}

// CreateStreamToken implements gen.StrictServerInterface with the server's
// [TokenService].
func (s *Server) CreateStreamToken(ctx context.Context, req gen.CreateStreamTokenRequestObject) (gen.CreateStreamTokenResponseObject, error) {
	return s.tokens.CreateStreamToken(ctx, req)
}

func (s *Server) signerFor(account string) *token.Signer {
	if signer, ok := s.signers[account]; ok {
		return signer
	}
	return s.signer
}

// validationErrors maps a *token.ValidationError onto envelope errors: a
// path parameter is streamtoken.CodeInvalidPath, a body field streamtoken.CodeInvalidRequest with
// its pointer.
func validationErrors(err error) []Problem {
	var verr *token.ValidationError
	if !errors.As(err, &verr) {
		return []Problem{{Status: http.StatusBadRequest, Code: streamtoken.CodeInvalidRequest, Message: "invalid request"}}
	}
	out := make([]Problem, len(verr.Violations))
	for i, v := range verr.Violations {
		out[i] = Problem{Status: http.StatusBadRequest, Code: streamtoken.CodeInvalidRequest, Message: v.String(), Pointer: v.Pointer}
		if v.Pointer == "" {
			out[i].Code = streamtoken.CodeInvalidPath
		}
	}
	return limit(out, verr.More)
}

// failure is the strict handler's failure response for errs.
func failure(errs ...Problem) gen.CreateStreamTokenResponseObject {
	return gen.CreateStreamToken4XXJSONResponse{Body: envelope(errs), StatusCode: errs[0].Status}
}
