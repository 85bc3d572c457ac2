package streamtokentest_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

const (
	account = "023e105f4ecef8ad9ca31a8372d0c353"
	video   = "ea95132c15732412d22c1476fa83f27a"
)

func TestServerSignsAndVerifies(t *testing.T) {
	srv := streamtokentest.NewServer() // a key generated for the account, as users get by default
	defer srv.Close()
	if !strings.HasSuffix(srv.URL, "/client/v4") || !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q, want http://127.0.0.1:PORT/client/v4", srv.URL)
	}
	if srv.APIToken == "" {
		t.Error("APIToken is empty")
	}
	tok, err := srv.NewClient().CreateToken(context.Background(), account, video, streamtoken.TokenRequest{Downloadable: true})
	if err != nil {
		t.Fatalf("CreateToken() error = %v", err)
	}
	claims, err := srv.Verify(account, tok.Value)
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	key, err := srv.SigningKey(account)
	if err != nil || key.Private != nil {
		t.Fatalf("SigningKey() = %v, %v; want a public key", key, err)
	}
	if claims.VideoID != video || !claims.Downloadable || claims.KeyID != key.ID {
		t.Errorf("claims = %+v, want a token of %s", claims, key.ID)
	}
	// The account's set, as a verifier fetches it, holds that key.
	set, err := streamtoken.NewKeySet(srv.JWKSURL(account))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Verify(context.Background(), tok.Value); err != nil {
		t.Errorf("KeySet(JWKSURL(account)).Verify() = %v", err)
	}
	if srv.Requests() != 1 {
		t.Errorf("Requests() = %d, want 1", srv.Requests())
	}
}

func TestEachServerHasItsOwnToken(t *testing.T) {
	k := streamtokentest.WithSigningKey(testKey(t, "rsa2048.pem", "k"))
	a, b := streamtokentest.NewServer(k), streamtokentest.NewServer(k)
	defer a.Close()
	defer b.Close()
	if a.APIToken == b.APIToken {
		t.Fatal("two servers share an API token")
	}
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken(a.APIToken), streamtoken.WithBaseURL(b.URL), streamtoken.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateToken(context.Background(), account, video, streamtoken.TokenRequest{}); !errors.Is(err, streamtoken.ErrAuthentication) {
		t.Errorf("server b with server a's token: %v, want ErrAuthentication", err)
	}
}

func TestCloseTwice(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testKey(t, "rsa2048.pem", "k")))
	srv.Close()
	srv.Close()
	if _, err := srv.NewClient().CreateToken(context.Background(), account, video, streamtoken.TokenRequest{}); err == nil {
		t.Error("CreateToken() after Close() succeeded")
	}
}

func TestInjectedFailures(t *testing.T) {
	tests := []struct {
		name       string
		failure    streamtokentest.Failure
		wantStatus int
		wantIs     error
		wantRetry  string
	}{
		{name: "rate limited", failure: streamtokentest.RateLimited(time.Second), wantStatus: 429, wantIs: streamtoken.ErrRateLimited, wantRetry: "1"},
		{name: "internal error", failure: streamtokentest.InternalError(), wantStatus: 500},
		{name: "chosen envelope", failure: streamtokentest.Failure{Status: 404, Code: 10003, Message: "video not found"}, wantStatus: 404, wantIs: streamtoken.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testKey(t, "rsa2048.pem", "k")), streamtokentest.WithFailures(2, tt.failure))
			defer srv.Close()
			for i := range 2 {
				_, err := srv.NewClient().CreateToken(context.Background(), account, video, streamtoken.TokenRequest{})
				var apiErr *streamtoken.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus || apiErr.Errors[0].Code != tt.failure.Code {
					t.Fatalf("request %d: error = %v, want status %d code %d", i, err, tt.wantStatus, tt.failure.Code)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
				}
			}
			if _, err := srv.NewClient().CreateToken(context.Background(), account, video, streamtoken.TokenRequest{}); err != nil {
				t.Fatalf("third request: %v, want a token: only two were to fail", err)
			}
			if tt.wantRetry != "" {
				srv.FailNext(1, tt.failure)
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/accounts/"+account+"/stream/"+video+"/token", nil)
				req.Header.Set("Authorization", "Bearer "+srv.APIToken) // failures come after authentication
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if got := resp.Header.Get("Retry-After"); got != tt.wantRetry {
					t.Errorf("Retry-After = %q, want %q", got, tt.wantRetry)
				}
			}
		})
	}
}

// A client with retries rides out injected rate limiting.
func TestClientRetriesInjectedRateLimits(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testKey(t, "rsa2048.pem", "k")), streamtokentest.WithFailures(2, streamtokentest.Failure{Status: 429, Code: 1015, Message: "slow down"}))
	defer srv.Close()
	c, err := streamtoken.NewClient(streamtoken.WithAPIToken(srv.APIToken), streamtoken.WithBaseURL(srv.URL),
		streamtoken.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateToken(context.Background(), account, video, streamtoken.TokenRequest{}); err != nil {
		t.Fatalf("CreateToken() error = %v, want a token after two retries", err)
	}
	if srv.Requests() != 3 {
		t.Errorf("Requests() = %d, want 3", srv.Requests())
	}
}

func TestOptions(t *testing.T) {
	var logs bytes.Buffer
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	srv := streamtokentest.NewServer(
		streamtokentest.WithSigningKey(testKey(t, "rsa2048.pem", "k")),
		streamtokentest.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		streamtokentest.WithClock(func() time.Time { return at }),
		streamtokentest.WithCredentials(server.Credential{Token: "scoped", Accounts: []string{account}}),
	)
	defer srv.Close()
	if srv.APIToken != "scoped" {
		t.Errorf("APIToken = %q, want the only token, scoped", srv.APIToken)
	}
	tok, err := srv.NewClient().CreateToken(context.Background(), account, video, streamtoken.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := srv.Verify(account, tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	if !claims.ExpiresAt.Equal(at.Add(time.Hour)) {
		t.Errorf("exp = %v, want an hour after the injected clock", claims.ExpiresAt)
	}
	if !strings.Contains(logs.String(), "status=200") {
		t.Errorf("log = %q, want the request", logs.String())
	}
}

// testKey is a key of token/testdata: tests generate no RSA keys.
func testKey(t *testing.T, name, kid string) *token.Key { return testkey.Load(t, name, kid) }

func TestServersDoNotVouchForEachOther(t *testing.T) {
	a, b := streamtokentest.NewServer(), streamtokentest.NewServer()
	defer a.Close()
	defer b.Close()
	ka, errA := a.SigningKey(account)
	kb, errB := b.SigningKey(account)
	if errA != nil || errB != nil || ka.ID == kb.ID {
		t.Fatalf("two servers' keys for one account: %v, %v (%v, %v)", ka, kb, errA, errB)
	}
	tok, err := b.NewClient().CreateToken(context.Background(), account, video, streamtoken.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(account, tok.Value); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("server a's Verify on server b's token: %v, want ErrUnknownKey", err)
	}
}

// Without WithSigningKey, each account has a key of its own: a token of
// one verifies against no other account's set.
func TestAccountsDoNotVouchForEachOther(t *testing.T) {
	const other = "9a7806061c88ada191ed06f989cc3dac"
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	tokens := map[string]string{}
	for _, acc := range []string{account, other} {
		tok, err := c.CreateToken(context.Background(), acc, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		tokens[acc] = tok.Value
	}
	for minted, tok := range tokens {
		for _, against := range []string{account, other} {
			_, err := srv.Verify(against, tok)
			if want := minted == against; (err == nil) != want || (!want && !errors.Is(err, token.ErrUnknownKey)) {
				t.Errorf("a token of %s against %s's set: %v", minted, against, err)
			}
		}
	}
}

func TestKeysPerServerAndAccount(t *testing.T) {
	def := testKey(t, "rsa2048.pem", "default-key")
	acct := testKey(t, "rsa2048-b.pem", "account-key")
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(def), streamtokentest.WithAccountKey(account, acct))
	defer srv.Close()
	c := srv.NewClient()
	for acc, want := range map[string]string{account: "account-key", "9a7806061c88ada191ed06f989cc3dac": "default-key"} {
		if k, err := srv.SigningKey(acc); err != nil || k.ID != want || k.Private != nil {
			t.Errorf("SigningKey(%s) = %v, %v; want the public half of %s", acc, k, err, want)
		}
		tok, err := c.CreateToken(context.Background(), acc, video, streamtoken.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		claims, err := srv.Verify(acc, tok.Value)
		if err != nil || claims.KeyID != want {
			t.Errorf("account %s: Verify() = %+v, %v; want a token of %s", acc, claims, err, want)
		}
	}
}

func TestNewClientTakesOptions(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testKey(t, "rsa2048.pem", "k")), streamtokentest.WithFailures(1, streamtokentest.InternalError()))
	defer srv.Close()
	c := srv.NewClient(streamtoken.WithMaxRetries(1), streamtoken.WithBackoff(time.Millisecond, time.Millisecond))
	if _, err := c.CreateToken(context.Background(), account, video, streamtoken.TokenRequest{}); err != nil {
		t.Fatalf("CreateToken() with a retry = %v, want a token", err)
	}
	if srv.Requests() != 2 {
		t.Errorf("Requests() = %d, want 2", srv.Requests())
	}
}

func TestInvalidOptionsPanic(t *testing.T) {
	for name, opt := range map[string]streamtokentest.Option{
		"public signing key":      streamtokentest.WithSigningKey(&token.Key{ID: "x"}),
		"nil account key":         streamtokentest.WithAccountKey(account, nil),
		"no credentials":          streamtokentest.WithCredentials(),
		"nil clock":               streamtokentest.WithClock(nil),
		"negative failures":       streamtokentest.WithFailures(-1, streamtokentest.InternalError()),
		"bad account ID":          streamtokentest.WithAccountKey("../x", testKey(t, "rsa2048-b.pem", "x")),
		"bad video ID":            streamtokentest.WithVideos(video, "a/b"),
		"a video of no path":      streamtokentest.WithVideos("keys"),
		"bad live input ID":       streamtokentest.WithLiveInputs(".."),
		"no requests a window":    streamtokentest.WithRateLimit(0, time.Minute),
		"too many a window":       streamtokentest.WithRateLimit(100_001, time.Minute),
		"a window under a second": streamtokentest.WithRateLimit(10, time.Millisecond),
		"a window over a day":     streamtokentest.WithRateLimit(10, 25*time.Hour),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "streamtokentest: ") {
					t.Errorf("NewServer(%s) panicked with %v, want a streamtokentest: message", name, r)
				}
			}()
			srv := streamtokentest.NewServer(opt)
			srv.Close()
		})
	}
}

func TestFailureConstructorsAreFresh(t *testing.T) {
	f := streamtokentest.RateLimited(time.Second)
	f.Status = 500
	if got := streamtokentest.RateLimited(time.Second); got.Status != http.StatusTooManyRequests || got.Code != apicode.RateLimited {
		t.Errorf("RateLimited() = %+v after a caller changed its copy", got)
	}
	if got := streamtokentest.InternalError(); got.Status != 500 || got.Code != apicode.Internal {
		t.Errorf("InternalError() = %+v", got)
	}
}

func TestWithVideosAndLiveInputs(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithVideos(video), streamtokentest.WithLiveInputs("in-1"))
	defer srv.Close()
	status := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/accounts/"+account+"/stream/"+path, nil)
		req.Header.Set("Authorization", "Bearer "+srv.APIToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for path, want := range map[string]int{
		video: 200, "another-video": 404, "live_inputs/in-1": 200, "live_inputs/in-2": 404,
	} {
		if got := status(path); got != want {
			t.Errorf("GET %s = %d, want %d", path, got, want)
		}
	}
	open := streamtokentest.NewServer()
	defer open.Close()
	req, _ := http.NewRequest(http.MethodGet, open.URL+"/accounts/"+account+"/stream/any-video", nil)
	req.Header.Set("Authorization", "Bearer "+open.APIToken)
	if resp, err := open.Client().Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET any video of a server without WithVideos = %v, %v; want 200", resp, err)
	} else {
		resp.Body.Close()
	}
}

// The fake and the server agree on which videos exist: where WithVideos
// says, a token for another is the 404 of its details.
func TestWithVideosRefusesTokensOfOtherVideos(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testKey(t, "rsa2048.pem", "k")), streamtokentest.WithVideos(video))
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	if _, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{}); err != nil {
		t.Fatalf("a token of a video that exists: %v", err)
	}
	const other = "ffffffffffffffffffffffffffffffff"
	_, tokErr := c.CreateToken(ctx, account, other, streamtoken.TokenRequest{})
	_, getErr := c.Video(ctx, account, other)
	var a, b *streamtoken.APIError
	if !errors.As(tokErr, &a) || !errors.As(getErr, &b) || a.StatusCode != 404 || a.Errors[0].Code != apicode.NoSuchMedia || b.Errors[0].Code != a.Errors[0].Code {
		t.Errorf("a token of no such video: %v; its details: %v; want the same 404 (1011)", tokErr, getErr)
	}
}

// NewClient's credentials replace APIToken: a test calls as a credential
// scoped to one account.
func TestNewClientAsAnotherCredential(t *testing.T) {
	srv := streamtokentest.NewServer(
		streamtokentest.WithKeyGenerator(testkey.Generator(t)),
		streamtokentest.WithCredentials(server.Credential{Token: "scoped", Accounts: []string{account}}),
	)
	defer srv.Close()
	tok, err := srv.NewClient(streamtoken.WithAPIToken("scoped")).CreateToken(context.Background(), account, video, streamtoken.TokenRequest{})
	if err != nil {
		t.Fatalf("CreateToken() as the scoped credential = %v", err)
	}
	if _, err := srv.Verify(account, tok.Value); err != nil {
		t.Errorf("Verify() = %v", err)
	}
	// Without options, NewClient sends the only token, scoped: good for
	// its account, forbidden for another.
	if _, err := srv.NewClient().CreateToken(context.Background(), account, video, streamtoken.TokenRequest{}); err != nil {
		t.Errorf("CreateToken() as the server's only credential = %v", err)
	}
	var apiErr *streamtoken.APIError
	if _, err := srv.NewClient().CreateToken(context.Background(), "ffffffffffffffffffffffffffffffff", video, streamtoken.TokenRequest{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 403 {
		t.Errorf("CreateToken() for another account = %v, want a 403", err)
	}
}

// A key shared by accounts that the credentials keep apart is refused, in
// the fake's own words.
func TestSharedSigningKeyForTenantsPanics(t *testing.T) {
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "WithSigningKey would sign the tokens of accounts") || !strings.Contains(msg, "WithAccountKey") {
			t.Errorf("panic = %q, want one naming WithSigningKey and WithAccountKey", msg)
		}
	}()
	srv := streamtokentest.NewServer(
		streamtokentest.WithSigningKey(testKey(t, "rsa2048.pem", "k")),
		streamtokentest.WithCredentials(
			server.Credential{Token: "a", Accounts: []string{account}},
			server.Credential{Token: "b", Accounts: []string{"9a7806061c88ada191ed06f989cc3dac"}}),
	)
	srv.Close()
}

// Any operation fails as told, once, and the others go on: each is named
// as the strict server interface names it.
func TestInjectedFailuresOfEveryOperation(t *testing.T) {
	srv := streamtokentest.NewServer()
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()
	calls := map[string]func() error{
		"CreateStreamToken": func() error {
			_, err := c.CreateToken(ctx, account, video, streamtoken.TokenRequest{})
			return err
		},
		"ListSigningKeys":  func() error { _, err := c.ListSigningKeys(ctx, account); return err },
		"CreateSigningKey": func() error { _, err := c.CreateSigningKey(ctx, account); return err },
		"GetVideo":         func() error { _, err := c.Video(ctx, account, video); return err },
		"EditVideo": func() error {
			_, err := c.SecureVideo(ctx, account, video, streamtoken.Security{RequireSignedURLs: new(true)})
			return err
		},
		"GetLiveInput": func() error { _, err := c.LiveInput(ctx, account, "input-1"); return err },
	}
	for op, call := range calls {
		srv.FailNext(1, streamtokentest.Failure{Operation: op, Status: http.StatusServiceUnavailable, Code: 1017, Message: "injected"})
		var apiErr *streamtoken.APIError
		if err := call(); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s with a failure queued: %v, want the 503", op, err)
		}
		if err := call(); err != nil {
			t.Errorf("%s after its one failure: %v", op, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("FailNext(an operation the spec has not) did not panic")
		}
	}()
	srv.FailNext(1, streamtokentest.Failure{Operation: "DeleteEverything", Status: 500})
}

// NewClient works with the credentials of WithCredentials, whatever they
// are, and its own options' credentials take the place of the server's.
func TestNewClientWithCredentials(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		creds []server.Credential
	}{
		{"a token for every account", []server.Credential{{Token: "scoped", Accounts: []string{"other"}}, {Token: "all"}}},
		{"a scoped token alone", []server.Credential{{Token: "scoped", Accounts: []string{account}}}},
		{"an email and key", []server.Credential{{Email: "a@example.com", Key: "k"}}},
	} {
		srv := streamtokentest.NewServer(streamtokentest.WithCredentials(c.creds...))
		if _, err := srv.NewClient().CreateToken(ctx, account, video, streamtoken.TokenRequest{}); err != nil {
			t.Errorf("%s: NewClient().CreateToken: %v", c.name, err)
		}
		srv.Close()
	}
	srv := streamtokentest.NewServer()
	defer srv.Close()
	if _, err := srv.NewClient(streamtoken.WithAPIToken(srv.APIToken)).CreateToken(ctx, account, video, streamtoken.TokenRequest{}); err != nil {
		t.Errorf("NewClient(WithAPIToken): %v", err)
	}
	var apiErr *streamtoken.APIError
	if _, err := srv.NewClient(streamtoken.WithAPIToken("wrong")).CreateToken(ctx, account, video, streamtoken.TokenRequest{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("NewClient(WithAPIToken(wrong)): %v, want a 401: its token takes the server's place", err)
	}
}
