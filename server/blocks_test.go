package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/openapi"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

// Mounted bare, as the generated code allows, our strict implementation
// mints nothing: no authenticated caller, no token.
func TestStrictImplementationMountedBareFailsClosed(t *testing.T) {
	keys(t)
	srv, err := server.New(server.Config{Credentials: credentials(), Signer: signerOf(serverKey)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	gen.HandlerWithOptions(gen.NewStrictHandler(srv, nil), gen.StdHTTPServerOptions{BaseURL: server.BasePath, BaseRouter: mux})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	for name, headers := range map[string][]string{
		"no credentials":    nil,
		"a good credential": bearer(apiToken), // no middleware checked it: still refused
	} {
		r := do(t, http.MethodPost, ts.URL+tokenPath, strings.NewReader(`{}`), append(headers, "Content-Type", "application/json")...)
		if r.Status != http.StatusUnauthorized || r.Env.Result != nil || len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != int(apicode.Authentication) {
			t.Errorf("%s: %d %.200s, want a 401 envelope and no token", name, r.Status, r.Raw)
		}
	}
	// A scoped caller put in the context by other means is held to its
	// accounts by the handler too.
	tokens := server.TokenService{Signer: func(context.Context, string) (*token.Signer, error) { return signerOf(serverKey), nil }}
	ctx := server.WithCaller(t.Context(), &server.Caller{Accounts: []string{otherAcct}})
	resp, err := tokens.CreateStreamToken(ctx, gen.CreateStreamTokenRequestObject{AccountID: account, Identifier: video})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := resp.(gen.CreateStreamToken4XXJSONResponse); !ok || r.StatusCode != http.StatusForbidden {
		t.Errorf("a caller scoped to another account got %#v, want a 403", resp)
	}
}

// A spec extended with an operation of the user's own is checked with no
// new checking code: the checker finds the operation from the spec.
func TestRequestCheckerFindsNewOperationsInTheSpec(t *testing.T) {
	spec, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	accountParam := &openapi3.ParameterRef{Value: openapi3.NewPathParameter("account_id").
		WithSchema(spec.Components.Schemas["AccountID"].Value)}
	limitParam := &openapi3.ParameterRef{Value: openapi3.NewQueryParameter("limit").
		WithSchema(openapi3.NewIntegerSchema().WithMin(1).WithMax(100))}
	op := openapi3.NewOperation()
	op.OperationID = "getStreamUsage"
	op.Parameters = openapi3.Parameters{accountParam, limitParam}
	op.Responses = openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("the usage")}))
	spec.AddOperation("/accounts/{account_id}/stream/usage", http.MethodGet, op)
	if err := spec.Validate(t.Context()); err != nil {
		t.Fatalf("the extended spec is invalid: %v", err)
	}
	checker, err := server.NewRequestChecker(spec, server.BasePath)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	reached := 0
	mux.Handle("GET "+server.BasePath+"/accounts/{account_id}/stream/usage", checker.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		w.WriteHeader(http.StatusOK)
	})))
	mux.Handle("/", server.NoRoute(spec, server.BasePath))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	tests := []struct {
		name, method, path string
		status             int
		code               apicode.Code
	}{
		{"valid", http.MethodGet, "/accounts/" + account + "/stream/usage?limit=10", http.StatusOK, 0},
		{"account too long", http.MethodGet, "/accounts/" + strings.Repeat("a", 33) + "/stream/usage", http.StatusBadRequest, apicode.InvalidPath},
		// The path's IDs are checked here, at the edge, by the API's rule
		// (ids.Check), before the query: a service does not again.
		{"account with a space, and a bad query", http.MethodGet, "/accounts/a%20b/stream/usage?limit=1000", http.StatusBadRequest, apicode.InvalidPath},
		{"query out of range", http.MethodGet, "/accounts/" + account + "/stream/usage?limit=1000", http.StatusBadRequest, apicode.Schema},
		{"method the spec does not give", http.MethodDelete, "/accounts/" + account + "/stream/usage", http.StatusMethodNotAllowed, apicode.Method},
		{"no such path", http.MethodGet, "/accounts/" + account + "/stream/usage/x", http.StatusNotFound, apicode.NoRoute},
		{"a trailing slash", http.MethodGet, "/accounts/" + account + "/stream/usage/", http.StatusNotFound, apicode.NoRoute},
	}
	for _, tt := range tests {
		r := do(t, tt.method, ts.URL+server.BasePath+tt.path, nil)
		if r.Status != tt.status || (tt.code != 0 && (len(r.Env.Errors) == 0 || apicode.Code(r.Env.Errors[0].Code) != tt.code)) {
			t.Errorf("%s: %d %.200s, want %d with code %d", tt.name, r.Status, r.Raw, tt.status, tt.code)
		}
	}
	if reached != 1 {
		t.Errorf("the handler was reached %d times, want once (the valid request)", reached)
	}
}

// Mounted outside a ServeMux, the checker cannot tell the operation: it
// refuses rather than let the request through unchecked.
func TestRequestCheckerOutsideAServeMuxRefuses(t *testing.T) {
	spec, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	checker, err := server.NewRequestChecker(spec, server.BasePath)
	if err != nil {
		t.Fatal(err)
	}
	reached := false
	ts := httptest.NewServer(checker.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })))
	defer ts.Close()
	r := do(t, http.MethodPost, ts.URL+tokenPath, strings.NewReader(`{"accesRules":[]}`), "Content-Type", "application/json")
	if reached || r.Status != http.StatusInternalServerError || len(r.Env.Errors) != 1 || r.Env.Errors[0].Code != int(apicode.Internal) {
		t.Errorf("got %d %.200s (handler reached: %v), want a 500 envelope", r.Status, r.Raw, reached)
	}
}

// A store's failure is told apart from the request's own end: a client
// that left is a 499 with nothing logged as an error, a request past its
// own deadline a 504, and only the store's timeout with the request live
// a 503.
func TestInternalErrorTellsTheRequestsEndFromTheStores(t *testing.T) {
	unavailable := fmt.Errorf("%w: %w", store.ErrUnavailable, context.DeadlineExceeded)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	late, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	for _, tt := range []struct {
		name   string
		ctx    context.Context
		status int
		code   string
	}{
		{"the client left", gone, server.StatusClientClosedRequest, ""},
		{"past the request's deadline", late, http.StatusGatewayTimeout, `"code":1018`},
		{"the store's own timeout", context.Background(), http.StatusServiceUnavailable, `"code":1017`},
		{"the store full", context.Background(), http.StatusBadRequest, `"code":1016`},
		{"the account's quota", context.Background(), http.StatusBadRequest, `"code":1019`},
	} {
		err := unavailable
		switch tt.name {
		case "the store full":
			err = fmt.Errorf("keeping a key: %w", store.ErrFull)
		case "the account's quota":
			err = fmt.Errorf("keeping a video: %w", store.ErrAccountQuota)
		}
		var logs strings.Builder
		w := httptest.NewRecorder()
		r := httptest.NewRequestWithContext(tt.ctx, http.MethodGet, "/x", nil)
		server.InternalError(slog.New(slog.NewTextHandler(&logs, nil)))(w, r, err)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.code) || strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("%s: %d %s, log %q; want %d %s and no error logged", tt.name, w.Code, w.Body.String(), logs.String(), tt.status, tt.code)
		}
	}
}

// The server's signers sign with the RSA its Config says, and its
// metrics say which; a choice that is none is refused by New.
func TestConfigCrypto(t *testing.T) {
	if _, err := server.New(server.Config{Credentials: credentials(), Crypto: "nss"}); err == nil {
		t.Error("New(Crypto nss) = nil error")
	}
	base, _ := start(t, server.Config{Crypto: token.CryptoGo})
	if r := do(t, http.MethodGet, base+"/metrics", nil); !strings.Contains(r.Raw, `crypto="go"`) {
		t.Errorf("/metrics' build_info does not say crypto go")
	}
}

// checker answers one existence, or an error, for every video.
type checker struct {
	exists server.Existence
	err    error
}

func (c checker) VideoExists(context.Context, string, string) (server.Existence, error) {
	return c.exists, c.err
}

// The token operation asks a VideoChecker whether the video exists: a
// missing one is a 404, one it cannot tell of (a gateway's) is signed,
// and its fault is the server's.
func TestTokenServiceAsksTheVideoChecker(t *testing.T) {
	keys(t)
	ctx := server.WithCaller(t.Context(), &server.Caller{})
	for _, tt := range []struct {
		name   string
		check  checker
		status int // 0: a token
	}{
		{"exists", checker{exists: server.VideoExists}, 0},
		{"unknown", checker{exists: server.ExistenceUnknown}, 0},
		{"missing", checker{exists: server.VideoMissing}, http.StatusNotFound},
		{"the checker's fault", checker{err: errors.New("upstream down")}, -1},
	} {
		tokens := server.TokenService{Videos: tt.check, Signer: func(context.Context, string) (*token.Signer, error) { return signerOf(serverKey), nil }}
		resp, err := tokens.CreateStreamToken(ctx, gen.CreateStreamTokenRequestObject{AccountID: account, Identifier: video})
		switch r := resp.(type) {
		case gen.CreateStreamToken200JSONResponse:
			if tt.status != 0 {
				t.Errorf("%s: a token, want %d", tt.name, tt.status)
			}
		case gen.CreateStreamToken4XXJSONResponse:
			if r.StatusCode != tt.status {
				t.Errorf("%s: %d, want %d", tt.name, r.StatusCode, tt.status)
			}
		default:
			if tt.status != -1 || err == nil {
				t.Errorf("%s: %#v, %v", tt.name, resp, err)
			}
		}
	}
}

// A checker mounted outside a ServeMux lets nothing through unchecked, and
// its 500 says why (it has no logger to say it to).
func TestACheckerOutsideAServeMuxSaysSo(t *testing.T) {
	spec, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	checker, err := server.NewRequestChecker(spec, server.BasePath)
	if err != nil {
		t.Fatal(err)
	}
	reached := false
	h := checker.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, server.BasePath+"/accounts/"+account+"/stream/x/token", strings.NewReader(`{}`)))
	if reached || rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "mount the checker inside an http.ServeMux") {
		t.Errorf("outside a ServeMux: reached %v, %d %s", reached, rec.Code, rec.Body.String())
	}
}

// Every path parameter of the API is an ID, whose schema is the ID rule:
// the request checker checks it once, by that rule, and never again by
// its schema (on a cold token, a new video ID each request, that second
// check cost more than the rest of the checks). A parameter of another
// schema, stricter or looser, is checked by that schema alone.
func TestPathIDsAreCheckedOnce(t *testing.T) {
	spec, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			for _, p := range append(item.Parameters, op.Parameters...) {
				if p.Value != nil && p.Value.In == openapi3.ParameterInPath && !server.IsIDSchema(p.Value.Schema) {
					t.Errorf("%s %s: path parameter %s has a schema other than the ID rule: it is checked twice", method, path, p.Value.Name)
				}
			}
		}
	}
	for name, s := range map[string]*openapi3.Schema{
		"a hex pattern": openapi3.NewStringSchema().WithPattern("^[0-9a-f]{32}$"),
		"shorter":       openapi3.NewStringSchema().WithMinLength(1).WithMaxLength(16).WithPattern("^[!-.0-~]+$"),
		"any string":    openapi3.NewStringSchema(),
		"an enum":       openapi3.NewStringSchema().WithEnum("a", "b"),
		"an integer":    openapi3.NewIntegerSchema(),
		"at least 2":    openapi3.NewStringSchema().WithMinLength(2).WithMaxLength(32).WithPattern("^[!-.0-~]+$"),
	} {
		if server.IsIDSchema(s.NewRef()) {
			t.Errorf("%s: taken for the ID rule", name)
		}
	}
	// Such parameters are checked by their schema: a stricter one refuses
	// what the ID rule takes, a looser one takes what it refuses.
	addOp := func(path, name string, schema *openapi3.Schema) {
		op := openapi3.NewOperation()
		op.OperationID = "get" + strings.ReplaceAll(path, "/", "")
		op.Parameters = openapi3.Parameters{{Value: openapi3.NewPathParameter(name).WithSchema(schema)}}
		op.Responses = openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("ok")}))
		spec.AddOperation(path+"/{"+name+"}", http.MethodGet, op)
	}
	addOp("/hex", "account_id", openapi3.NewStringSchema().WithPattern("^[0-9a-f]{32}$"))
	addOp("/files", "file", openapi3.NewStringSchema().WithMinLength(1))
	checker, err := server.NewRequestChecker(spec, server.BasePath)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.Handle("GET "+server.BasePath+"/hex/{account_id}", checker.Middleware(ok))
	mux.Handle("GET "+server.BasePath+"/files/{file}", checker.Middleware(ok))
	for path, want := range map[string]int{"/hex/" + account: http.StatusOK, "/hex/ABC": http.StatusBadRequest,
		"/files/a%20b.txt": http.StatusOK, "/files/" + strings.Repeat("f", 40): http.StatusOK} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, server.BasePath+path, nil))
		if rec.Code != want {
			t.Errorf("GET %s = %d %s, want %d", path, rec.Code, rec.Body, want)
		}
	}
}
