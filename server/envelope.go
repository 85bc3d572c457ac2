package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Problem is one entry of a failure envelope's errors[], with the HTTP
// status it answers with. Its message is for people and never holds a
// secret.
type Problem struct {
	Status  int
	Code    apicode.Code
	Message string
	// Pointer is the JSON pointer of the body field at fault, if any.
	Pointer string
	// more is set on the entry that counts those not listed.
	more int
}

// limit keeps the first token.MaxViolations of errs and ends them with one
// entry that counts the rest, more of which were dropped before: a failure
// envelope is never many times the size of its request. Limiting a limited
// list changes nothing.
func limit(errs []Problem, more int) []Problem {
	kept := make([]Problem, 0, min(len(errs), token.MaxViolations+1))
	for _, e := range errs {
		switch {
		case e.more > 0: // a count from an earlier limit
			more += e.more
		case len(kept) < token.MaxViolations:
			kept = append(kept, e)
		default:
			more++
		}
	}
	if more == 0 || len(kept) == 0 {
		return kept
	}
	return append(kept, Problem{Status: kept[0].Status, Code: kept[0].Code,
		Message: fmt.Sprintf("and %d more violations, not listed", more), more: more})
}

// WriteProblems writes a Cloudflare failure envelope with one or more
// problems (at most token.MaxViolations of them listed, then one counting
// the rest); the status is the first problem's.
func WriteProblems(w http.ResponseWriter, errs ...Problem) {
	WriteJSON(w, errs[0].Status, Envelope(errs))
}

// envelope is the failure envelope of errs, limited: every envelope the
// package writes goes through here.
func Envelope(errs []Problem) gen.FailureResponse {
	errs = limit(errs, 0)
	env := gen.FailureResponse{
		Success:  false,
		Errors:   make([]gen.Message, len(errs)),
		Messages: []gen.Message{},
	}
	for i, e := range errs {
		env.Errors[i] = gen.Message{Code: int(e.Code), Message: e.Message}
		if e.Pointer != "" {
			pointer := e.Pointer
			env.Errors[i].Source = &gen.MessageSource{Pointer: &pointer}
		}
	}
	return env
}

// WriteJSON answers v as JSON with status: an answer of a route outside
// the strict server (an upload URL's).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // our own types: cannot happen
		status, body = http.StatusInternalServerError, []byte(`{"success":false,"errors":[{"code":1000,"message":"Internal error"}],"messages":[],"result":null}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// jsonEnvelope is the failure envelope of errs as JSON, with a newline.
func jsonEnvelope(errs ...Problem) ([]byte, error) {
	body, err := json.Marshal(Envelope(errs))
	return append(body, '\n'), err
}

// Violations are violations (a token.ValidationError's) as envelope
// errors: a body field's is
// apicode.InvalidRequest with its pointer, a path parameter's (no pointer)
// apicode.InvalidPath; more counts those left out before.
func Violations(vs []token.Violation, more int) []Problem {
	ps := make([]Problem, len(vs))
	for i, v := range vs {
		ps[i] = Problem{Status: http.StatusBadRequest, Code: apicode.InvalidRequest, Message: v.String(), Pointer: v.Pointer}
		if v.Pointer == "" {
			ps[i].Code = apicode.InvalidPath
		}
	}
	return limit(ps, more)
}

// validationErrors maps a *token.ValidationError onto envelope errors, as
// Violations does.
func validationErrors(err error) []Problem {
	var verr *token.ValidationError
	if !errors.As(err, &verr) {
		return []Problem{{Status: http.StatusBadRequest, Code: apicode.InvalidRequest, Message: "invalid request"}}
	}
	return Violations(verr.Violations, verr.More)
}

// The answers more than one service gives.

// badPathID is the 400 (1004) of a path parameter whose ID breaks the
// API's rule (ids.Check's why).
func badPathID(name, why string) Problem {
	return Problem{Status: http.StatusBadRequest, Code: apicode.InvalidPath, Message: name + ": " + why}
}

// overloaded is the answer to a request the signing queue turned away: a
// 429 envelope, as Cloudflare's rate limit, with a Retry-After header.
type overloaded struct{ retryAfter time.Duration }

func (o overloaded) VisitCreateStreamTokenResponse(w http.ResponseWriter) error {
	w.Header().Set("Retry-After", strconv.Itoa(int(o.retryAfter/time.Second)))
	WriteProblems(w, Problem{Status: http.StatusTooManyRequests, Code: apicode.RateLimited,
		Message: "too many requests at once: retry after " + strconv.Itoa(int(o.retryAfter/time.Second)) + " s"})
	return nil
}

// VisitCreateSigningKeyResponse is the same answer to a key's create.
func (o overloaded) VisitCreateSigningKeyResponse(w http.ResponseWriter) error {
	return o.VisitCreateStreamTokenResponse(w)
}

// StatusClientClosedRequest is the status logged for a request whose
// client left before its token was signed (nginx's 499): nobody reads it.
const StatusClientClosedRequest = 499

// clientGone answers a request whose client has left: a status for the
// log and the metrics, and no body.
type clientGone struct{}

func (clientGone) VisitCreateStreamTokenResponse(w http.ResponseWriter) error {
	w.WriteHeader(StatusClientClosedRequest)
	return nil
}

// VisitCreateSigningKeyResponse is the same answer to a key's create.
func (c clientGone) VisitCreateSigningKeyResponse(w http.ResponseWriter) error {
	return c.VisitCreateStreamTokenResponse(w)
}

// storeFull is the answer to a change that the store has no room for.
func storeFull() Problem {
	return Problem{Status: http.StatusBadRequest, Code: apicode.StoreFull,
		Message: "the server's store holds as much as it may: delete what is no longer needed, or give it more room"}
}

// accountQuota is the answer to a change that would take the account's
// media past what each account may keep.
func accountQuota() Problem {
	return Problem{Status: http.StatusBadRequest, Code: apicode.AccountQuota,
		Message: "the account's videos and live inputs hold as many bytes as each account may keep here: delete what is no longer needed"}
}

// StoreRefusal is the envelope error of a store's refusal for room (the
// store full, the account's quota) or of an invalid ID (which a
// [RequestChecker] refuses first), and whether err is one: every
// operation answers them alike, never as a fault of the server's.
func StoreRefusal(err error) (Problem, bool) {
	switch {
	case errors.Is(err, store.ErrInvalidID): // a mount without a RequestChecker
		return Problem{Status: http.StatusBadRequest, Code: apicode.InvalidPath, Message: "an ID of the path breaks the API's rules"}, true
	case errors.Is(err, store.ErrAccountQuota):
		return accountQuota(), true
	case errors.Is(err, store.ErrFull):
		return storeFull(), true
	}
	return Problem{}, false
}

// NoSuchMedium is the 404 (1011) of a medium that does not exist, named
// by what it is ("video", "live input") and its ID.
func NoSuchMedium(accountID, what, id string) Problem {
	return Problem{Status: http.StatusNotFound, Code: apicode.NoSuchMedia,
		Message: fmt.Sprintf("account %s has no %s %s", accountID, what, id)}
}
