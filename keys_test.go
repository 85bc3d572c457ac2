package streamtoken_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

func TestSigningKeysAgainstTheFake(t *testing.T) {
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	preloaded := testkey.Load(t, "rsa2048-b.pem", "5213cfa121f70b8c1380686ffc371ba3")
	srv := streamtokentest.NewServer(
		streamtokentest.WithSigningKey(serverTestKey(t)),
		streamtokentest.WithClock(func() time.Time { return at }),
		streamtokentest.WithStoredKeys(testAccount, preloaded),
	)
	defer srv.Close()
	c := srv.NewClient()
	ctx := context.Background()

	created, err := c.CreateSigningKey(ctx, testAccount)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.Key.ID != created.ID || created.Key.Private == nil || !created.Created.Equal(at) {
		t.Fatalf("CreateSigningKey() = %v, want a private key named by its ID, created now", created)
	}
	// Export is the API's result: it parses back with its kid.
	back, err := token.ParsePrivateKey(created.Export())
	if err != nil || back.ID != created.ID || back.Private.D.Cmp(created.Key.Private.D) != 0 {
		t.Errorf("ParsePrivateKey(Export()) = %v, %v", back, err)
	}
	list, err := c.ListSigningKeys(ctx, testAccount)
	ids := map[string]bool{}
	for _, k := range list {
		ids[k.ID] = k.Created.Equal(at)
	}
	if err != nil || len(list) != 2 || !ids[preloaded.ID] || !ids[created.ID] {
		t.Fatalf("ListSigningKeys() = %+v, %v; want the preloaded key and the created one, both of now", list, err)
	}
	// A token signed locally with it verifies against the server's set.
	signer, _ := token.NewSigner(created.Key, token.WithClock(func() time.Time { return at }))
	tok, _, err := signer.Sign(token.Request{VideoID: testVideo})
	if err != nil {
		t.Fatal(err)
	}
	set, err := streamtoken.NewKeySet(srv.JWKSURL(testAccount), streamtoken.KeySetVerifyOptions(token.WithClock(func() time.Time { return at })))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Verify(ctx, tok); err != nil {
		t.Errorf("a token of the created key against the JWK set: %v", err)
	}
	if err := c.DeleteSigningKey(ctx, testAccount, created.ID); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteSigningKey(ctx, testAccount, created.ID)
	var apiErr *streamtoken.APIError
	if !errors.Is(err, streamtoken.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Errors[0].Code != apicode.NoSuchKey || apiErr.Hint != "" {
		t.Errorf("DeleteSigningKey(again) = %v, want a 404 (1010) with no hint", err)
	}
	fresh, _ := streamtoken.NewKeySet(srv.JWKSURL(testAccount), streamtoken.KeySetVerifyOptions(token.WithClock(func() time.Time { return at })))
	if _, err := fresh.Verify(ctx, tok); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("a token of the deleted key: %v, want ErrUnknownKey", err)
	}
}

func TestSigningKeyPrintsNoPrivateHalf(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(serverTestKey(t)))
	defer srv.Close()
	k, err := srv.NewClient().CreateSigningKey(context.Background(), testAccount)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]string
	if err := json.Unmarshal(k.Export(), &fields); err != nil || fields["pem"] == "" || fields["jwk"] == "" {
		t.Fatalf("Export() = %v", err)
	}
	secrets := []string{fields["pem"][60:100], fields["jwk"][60:100], k.Key.Private.D.Text(16)[:24]}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("key", "key", k, "ptr", *k)
	js, _ := json.Marshal(k)
	for how, out := range map[string]string{
		"%v": fmt.Sprintf("%v", *k), "%+v": fmt.Sprintf("%+v", *k), "%#v": fmt.Sprintf("%#v", *k), "%s": fmt.Sprint(k),
		"log": logs.String(), "json": string(js),
	} {
		for _, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("%s of a SigningKey holds its private half", how)
			}
		}
		if !strings.Contains(out, k.ID) {
			t.Errorf("%s of a SigningKey lacks its ID", how) // not printed: it might hold the key
		}
	}
}

func TestSigningKeyCallsCheckIDsBeforeSending(t *testing.T) {
	s := newAPIServer(t, reply(200, okBody))
	c := newClient(t, s)
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"create, dot account": func() error { _, err := c.CreateSigningKey(ctx, ".."); return err },
		"list, empty account": func() error { _, err := c.ListSigningKeys(ctx, ""); return err },
		"delete, slash key":   func() error { return c.DeleteSigningKey(ctx, testAccount, "a/b") },
		"delete, both bad":    func() error { return c.DeleteSigningKey(ctx, strings.Repeat("a", 33), "") },
	} {
		err := call()
		var verr *token.ValidationError
		if !errors.Is(err, streamtoken.ErrInvalid) || !errors.As(err, &verr) {
			t.Errorf("%s: %v, want a *token.ValidationError", name, err)
		}
		if name == "delete, both bad" && len(verr.Violations) != 2 {
			t.Errorf("%s: %v, want both IDs named", name, err)
		}
	}
	if n := len(s.Hits()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

// A create or delete that may have reached the server is never sent
// again; one that surely did not is.
func TestKeyCreatesAndDeletesAreNotReplayed(t *testing.T) {
	var waits []time.Duration
	sleep := streamtoken.WithSleep(func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil })
	for _, tt := range []struct {
		name   string
		first  func(http.ResponseWriter, *http.Request)
		wantN  int
		create bool
	}{
		{"create after a 500", reply(500, `{"success":false,"errors":[{"code":1000,"message":"x"}],"messages":[],"result":null}`), 1, true},
		{"create after a 503", reply(503, "busy"), 1, true},
		{"create after a hang-up", hangUp, 1, true},
		{"create after a 429", reply(429, `{"success":false,"errors":[{"code":1015,"message":"slow"}],"messages":[],"result":null}`, "Retry-After", "1"), 2, true},
		{"delete after a 502", reply(502, "bad gateway"), 1, false},
		{"delete after a 429", reply(429, `{"success":false,"errors":[{"code":1015,"message":"slow"}],"messages":[],"result":null}`), 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newKeysAPIServer(t, tt.first)
			c := keysClient(t, s, sleep)
			if tt.create {
				_, _ = c.CreateSigningKey(context.Background(), testAccount)
			} else {
				_ = c.DeleteSigningKey(context.Background(), testAccount, "k")
			}
			if n := s.count(); n != tt.wantN {
				t.Errorf("%d requests, want %d", n, tt.wantN)
			}
		})
	}
	// A refused connection never reached anyone: retried.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ := streamtoken.NewClient(streamtoken.WithAPIToken(testAPIToken), streamtoken.WithBaseURL("http://"+addr+"/client/v4"), streamtoken.WithMaxRetries(2), sleep)
	if _, err := c.CreateSigningKey(context.Background(), testAccount); err == nil || !strings.Contains(err.Error(), "(after 3 attempts)") {
		t.Errorf("CreateSigningKey() to a closed port = %v, want 3 attempts", err)
	}
	// A list is read-only: retried as any call.
	s := newKeysAPIServer(t, reply(503, "busy"))
	_, _ = keysClient(t, s, sleep, streamtoken.WithMaxRetries(2)).ListSigningKeys(context.Background(), testAccount)
	if n := s.count(); n != 2 {
		t.Errorf("ListSigningKeys() after a 503: %d requests, want 2 (retried)", n)
	}
}

// keysAPIServer answers the keys routes: the first request with first,
// every later one with success, and counts them.
type keysAPIServer struct {
	*httptest.Server
	mu sync.Mutex
	n  int
}

func (s *keysAPIServer) BaseURL() string { return s.URL + "/client/v4" }

func (s *keysAPIServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func newKeysAPIServer(t *testing.T, first func(http.ResponseWriter, *http.Request)) *keysAPIServer {
	t.Helper()
	k := testkey.Load(t, "rsa2048.pem", "5213cfa121f70b8c1380686ffc371ba3")
	pemBytes, _ := k.PrivatePEM()
	jwkBytes, _ := k.PrivateJWK()
	result, _ := json.Marshal(map[string]string{"id": k.ID, "created": "2026-11-29T09:00:00Z",
		"pem": base64.StdEncoding.EncodeToString(pemBytes), "jwk": base64.StdEncoding.EncodeToString(jwkBytes)})
	s := &keysAPIServer{}
	mux := http.NewServeMux()
	handle := func(success string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.n++
			n := s.n
			s.mu.Unlock()
			if n == 1 {
				first(w, r)
				return
			}
			reply(200, success)(w, r)
		}
	}
	mux.HandleFunc("POST /client/v4/accounts/{account_id}/stream/keys", handle(`{"success":true,"errors":[],"messages":[],"result":`+string(result)+`}`))
	mux.HandleFunc("GET /client/v4/accounts/{account_id}/stream/keys", handle(`{"success":true,"errors":[],"messages":[],"result":[]}`))
	mux.HandleFunc("DELETE /client/v4/accounts/{account_id}/stream/keys/{id}", handle(`{"success":true,"errors":[],"messages":[],"result":"ok"}`))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func keysClient(t *testing.T, s *keysAPIServer, opts ...streamtoken.Option) *streamtoken.Client {
	t.Helper()
	c, err := streamtoken.NewClient(append([]streamtoken.Option{streamtoken.WithAPIToken(testAPIToken), streamtoken.WithBaseURL(s.BaseURL())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
