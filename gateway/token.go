package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/server"
)

// serveToken answers the token operation: signed here when the upstream
// has accepted the credential for the account (or, with the deployment's
// credentials, when the caller's local one names it) and the account has
// a key the upstream knows; forwarded when the upstream is still to
// decide, or refused to create the account's key.
func (g *Gateway) serveToken(routes http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		account, video := r.PathValue(gen.ParamAccountID), r.PathValue(gen.ParamIdentifier)
		if ps := server.CheckPath(server.PathID{Name: gen.ParamAccountID, ID: account}, server.PathID{Name: gen.ParamIdentifier, ID: video}); ps != nil {
			server.WriteProblems(w, ps...)
			return
		}
		t := &tokenRequest{g: g, w: w, r: r, routes: routes, account: account}
		if g.deployment != nil {
			caller, p := g.local.Authenticate(r)
			switch {
			case p != nil:
				server.WriteProblems(w, *p)
				return
			case !caller.Allowed(account):
				server.WriteProblems(w, server.Problem{Status: http.StatusForbidden, Code: apicode.Forbidden,
					Message: "Authentication error: this credential is not allowed for the account"})
				return
			}
			// An account the deployment holds no upstream credential
			// for may still be signed for with the operator's key.
			t.cred, t.caller = g.deployment[account], caller
			t.sign()
			return
		}
		cred, ok := credentialOf(r.Header)
		if !ok {
			server.WriteProblems(w, server.Problem{Status: http.StatusUnauthorized, Code: apicode.Authentication, Message: "Authentication error"})
			return
		}
		t.cred = cred
		t.authorized()
	})
}

// tokenRequest is one token request.
type tokenRequest struct {
	g       *Gateway
	w       http.ResponseWriter
	r       *http.Request
	routes  http.Handler
	body    []byte // read when it must be looked at or sent twice; nil: not yet
	account string
	cred    credential
	// caller is who the request authenticated as here (a deployment's
	// local credential); nil: the caller the upstream accepted, for the
	// account alone.
	caller *server.Caller
}

// readBody reads the request's body, once: what it reports false for is
// answered.
func (t *tokenRequest) readBody() bool {
	if t.body != nil {
		return true
	}
	body, err := io.ReadAll(http.MaxBytesReader(t.w, t.r.Body, server.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			server.WriteProblems(t.w, server.Problem{Status: http.StatusRequestEntityTooLarge, Code: apicode.BodyTooLarge,
				Message: fmt.Sprintf("request body is over %d KiB", server.MaxBodyBytes>>10)})
			return false
		}
		server.WriteProblems(t.w, server.Problem{Status: http.StatusBadRequest, Code: apicode.MalformedJSON, Message: "request body could not be read"})
		return false
	}
	if body == nil {
		body = []byte{} // read: not nil
	}
	t.body = body
	return true
}

// authorized signs the token here when the upstream has accepted the
// credential for the account, replays its refusal when it has refused
// it, and otherwise has the upstream decide on this request.
func (t *tokenRequest) authorized() {
	g := t.g
	pair := g.decisions.pair(t.cred, t.account)
	for {
		now := g.now()
		dec, known := g.decisions.get(pair)
		switch {
		case known && dec.accepted && now.Sub(dec.at) < g.authTTL:
			t.sign()
			return
		case known && !dec.accepted && now.Sub(dec.at) < g.refusalTTL:
			g.metrics.authorizations.WithLabelValues("refusal_kept").Inc()
			replay(t.w, dec)
			return
		case known && dec.accepted && now.Sub(dec.at) < g.authTTL+g.grace && g.upstreamDown():
			g.metrics.authorizations.WithLabelValues("grace").Inc()
			t.sign()
			return
		}
		end, wait := g.decisions.begin(pair)
		if end != nil {
			defer end()
			t.authorize(pair, dec, known && dec.accepted)
			return
		}
		select {
		case <-wait: // another request asked: its decision, if any, is known now
		case <-t.r.Context().Done():
			return
		}
	}
}

// authorize forwards the request for the upstream to decide on, and
// returns its answer as it came: a 2xx accepts the pair, a 401 or 403
// refuses it, anything else decides nothing. An acceptance in grace (past
// its TTL, within Grace) is signed here when the upstream cannot answer,
// or answers a 5xx or 429.
func (t *tokenRequest) authorize(pair pairKey, was decision, accepted bool) {
	g := t.g
	select {
	case g.authorizing <- struct{}{}:
		defer func() { <-g.authorizing }()
	default:
		unavailable(t.w, "too many credentials are being checked at the upstream at once")
		return
	}
	inGrace := func() bool { return accepted && g.now().Sub(was.at) < g.authTTL+g.grace }
	f := &forwarding{purpose: "authorize"}
	f.answered = func(resp *http.Response) error {
		now := g.now()
		switch s := resp.StatusCode; {
		case s >= 200 && s < 300:
			g.decisions.put(pair, decision{accepted: true, at: now}, now, g.authTTL+g.grace, g.refusalTTL)
			g.sync.accepted(t.account, t.cred)
			g.metrics.authorizations.WithLabelValues("accepted").Inc()
		case s == http.StatusUnauthorized || s == http.StatusForbidden:
			dec := decision{at: now, status: s, contentType: resp.Header.Get("Content-Type")}
			head, err := io.ReadAll(io.LimitReader(resp.Body, maxRefusalBody+1))
			if err == nil && len(head) <= maxRefusalBody {
				dec.body = head
			}
			resp.Body = readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
			g.decisions.put(pair, dec, now, g.authTTL+g.grace, g.refusalTTL)
			g.sync.refused(t.account, t.cred)
			g.metrics.authorizations.WithLabelValues("refused").Inc()
		case (s >= 500 || s == http.StatusTooManyRequests) && inGrace():
			return errSignHere
		default:
			g.metrics.authorizations.WithLabelValues("undecided").Inc()
		}
		return nil
	}
	f.signHere = func() bool {
		if !inGrace() {
			return false
		}
		g.metrics.authorizations.WithLabelValues("grace").Inc()
		t.sign()
		return true
	}
	t.forward(f)
}

// forward sends the token request to the upstream, its answer returned
// as it came.
func (t *tokenRequest) forward(f *forwarding) {
	if !t.readBody() {
		return
	}
	if t.g.deployment != nil {
		f.cred = &t.cred
	}
	r := t.r.Clone(t.r.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(t.body)), int64(len(t.body))
	t.g.proxyServe(t.w, r, f)
}

// sign has the server sign the token with the account's key, made at the
// upstream first when the account has none; when the upstream refuses to
// make it (the credential may lack the permission), the token request is
// forwarded instead, for as long as an acceptance holds.
func (t *tokenRequest) sign() {
	g := t.g
	// The server takes the caller from the context: authenticated once,
	// here, not again.
	caller := t.caller
	if caller == nil {
		caller = &server.Caller{Accounts: []string{t.account}}
	}
	ctx := server.WithCaller(withCredential(t.r.Context(), t.cred), caller)
	// A body that may bring its own key (id and pem: a PEM is longer
	// than keylessBody) is read to see; a shorter one is left to the
	// server, unread.
	own := false
	if t.r.ContentLength < 0 || t.r.ContentLength > keylessBody {
		if !t.readBody() {
			return
		}
		own = ownKey(t.body)
	}
	switch {
	case own:
	case g.keyRefused.until(t.account).After(g.now()):
		t.forwardRefused()
		return
	default:
		_, err := g.core.AccountSigner(ctx, t.account)
		var refused *keyRefusedError
		var locked *lockedOutError
		var over *overBudgetError
		switch {
		case errors.As(err, &refused):
			g.keyRefused.set(t.account, g.now().Add(g.authTTL), g.now())
			g.log.Warn("the upstream refused to create the account's signing key: its tokens are forwarded to the upstream", "account", t.account,
				"status", refused.status, "for", g.authTTL.String())
			t.forwardRefused()
			return
		case errors.As(err, &over):
			unavailableFor(t.w, "the account's signing key is to be made at the upstream, and the gateway's own requests on this credential are over their budget (--upstream-budget)", over.wait)
			return
		case errors.As(err, &locked):
			unavailableFor(t.w, "the account's signing key is to be made at the upstream, which rate-limited the credential (429): not asked again until the lockout lifts",
				locked.until.Sub(g.now()))
			return
		case errors.Is(err, errUpstream):
			unavailable(t.w, "the account's signing key is to be made at the upstream, which cannot be reached now")
			return
		case errors.Is(err, errNoCredential):
			server.WriteProblems(t.w, server.Problem{Status: http.StatusForbidden, Code: apicode.NotForwarded,
				Message: "this gateway holds no upstream credential for the account, nor a key of its own"})
			return
		}
		// Any other error is the server's to answer, as it would.
	}
	r := t.r.WithContext(ctx)
	if t.body != nil {
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(t.body)), int64(len(t.body))
	}
	t.routes.ServeHTTP(t.w, r)
}

// forwardRefused forwards a token for an account whose key the upstream
// refused to create.
func (t *tokenRequest) forwardRefused() {
	t.g.metrics.forwardedTokens.WithLabelValues("key_refused").Inc()
	t.forward(&forwarding{purpose: "token"})
}

// keylessBody is the longest token request body that cannot hold a key
// of its own: an RSA-2048 key's PEM is over 1,600 bytes.
const keylessBody = 512

// ownKey reports whether a token request's body brings its own key (id
// and pem), which needs no key of the account's.
func ownKey(body []byte) bool {
	if !bytes.Contains(body, []byte(`"pem"`)) {
		return false
	}
	var b struct {
		PEM *string `json:"pem"`
	}
	return json.Unmarshal(body, &b) == nil && b.PEM != nil && *b.PEM != ""
}

// replay answers a refusal the upstream gave before.
func replay(w http.ResponseWriter, dec decision) {
	if dec.body == nil {
		code := apicode.Authentication
		if dec.status == http.StatusForbidden {
			code = apicode.Forbidden
		}
		server.WriteProblems(w, server.Problem{Status: dec.status, Code: code, Message: "Authentication error"})
		return
	}
	if dec.contentType != "" {
		w.Header().Set("Content-Type", dec.contentType)
	}
	w.WriteHeader(dec.status)
	_, _ = w.Write(dec.body)
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}
