package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/internal/wire"
	"github.com/streamtoken/streamtoken/token"
)

// CreateStreamToken implements gen.StrictServerInterface: it checks the
// request against the API's rules and signs the token, with the body's id
// and pem when given, else with the account's signer. It refuses (401) a
// request whose context carries no [Caller], and (403) a caller not allowed
// for the account, whatever the mount.
func (s *Server) CreateStreamToken(ctx context.Context, req gen.CreateStreamTokenRequestObject) (gen.CreateStreamTokenResponseObject, error) {
	// Fail closed: mounted without the Authenticator's middleware, the
	// handler mints nothing.
	caller := CallerFrom(ctx)
	if caller == nil {
		return failure(Problem{Status: http.StatusUnauthorized, Code: CodeAuthentication, Message: "Authentication error"}), nil
	}
	if p := forbidden(caller, req.AccountID); p != nil {
		return failure(*p), nil
	}
	now := s.now()
	key, err := wire.Check(req.AccountID, req.Identifier, req.Body, now)
	if err != nil {
		return failure(validationErrors(err)...), nil
	}
	signer, source := s.signerFor(req.AccountID), "account"
	if key != nil {
		if signer, err = token.NewSigner(key, s.now); err != nil {
			return failure(Problem{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "pem: " + err.Error(), Pointer: "/pem"}), nil
		}
		source = "request"
	}
	// Sign checks the options again: microseconds next to the RSA
	// signature, and it keeps Sign safe on its own.
	tok, _, err := signer.Sign(wire.Options(req.Identifier, req.Body))
	if err != nil {
		var verr *token.ValidationError
		if errors.As(err, &verr) { // the clock moved past exp since the check
			return failure(validationErrors(err)...), nil
		}
		return nil, fmt.Errorf("signing with the %s key: %w", source, err)
	}
	s.metrics.signed.WithLabelValues(source).Inc()
	return gen.CreateStreamToken200JSONResponse{
		Success:  true,
		Errors:   []gen.Message{},
		Messages: []gen.Message{},
		Result:   gen.TokenResult{Token: tok},
	}, nil
}

func (s *Server) signerFor(account string) *token.Signer {
	if signer, ok := s.signers[account]; ok {
		return signer
	}
	return s.signer
}

// validationErrors maps a *token.ValidationError onto envelope errors: a
// path parameter is CodeInvalidPath, a body field CodeInvalidRequest with
// its pointer.
func validationErrors(err error) []Problem {
	var verr *token.ValidationError
	if !errors.As(err, &verr) {
		return []Problem{{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "invalid request"}}
	}
	out := make([]Problem, len(verr.Violations))
	for i, v := range verr.Violations {
		out[i] = Problem{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: v.String(), Pointer: v.Pointer}
		if v.Pointer == "" {
			out[i].Code = CodeInvalidPath
		}
	}
	return limit(out, verr.More)
}

// failure is the strict handler's failure response for errs.
func failure(errs ...Problem) gen.CreateStreamTokenResponseObject {
	return gen.CreateStreamToken4XXJSONResponse{Body: envelope(errs), StatusCode: errs[0].Status}
}
