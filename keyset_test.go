package streamtoken_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

// revocation creates a key in the fake, signs a token with it, and returns
// the token and a function that deletes the key.
func revocation(t *testing.T, srv *streamtokentest.Server) (string, func()) {
	t.Helper()
	c := srv.NewClient()
	ctx := context.Background()
	key, err := c.CreateSigningKey(ctx, testAccount)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSigner(key.Key)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := signer.Sign(token.Request{VideoID: testVideo})
	if err != nil {
		t.Fatal(err)
	}
	return tok, func() {
		if err := c.DeleteSigningKey(ctx, testAccount, key.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// A long-lived KeySet stops accepting a deleted key within its maximum
// age, however busy: the set in use is refreshed from half that age, and
// never used past it.
func TestKeySetDropsADeletedKeyWithinItsMaxAge(t *testing.T) {
	for _, maxAge := range []time.Duration{0, 10 * time.Second, 5 * time.Minute} {
		name := "default"
		var opts []streamtoken.KeySetOption
		bound := token.DefaultJWKSMaxAge
		if maxAge > 0 {
			name, bound = maxAge.String(), maxAge
			opts = append(opts, streamtoken.KeySetMaxAge(maxAge))
		}
		t.Run(name, func(t *testing.T) {
			srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(serverTestKey(t)))
			defer srv.Close()
			tok, deleteKey := revocation(t, srv)
			set, err := streamtoken.NewKeySet(srv.JWKSURL(testAccount), opts...)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
			streamtoken.SetKeySetClock(set, func() time.Time { return now })
			idle, err := streamtoken.NewKeySet(srv.JWKSURL(testAccount), opts...)
			if err != nil {
				t.Fatal(err)
			}
			streamtoken.SetKeySetClock(idle, func() time.Time { return now })
			ctx := context.Background()
			for _, s := range []*streamtoken.KeySet{set, idle} {
				if _, err := s.Verify(ctx, tok); err != nil {
					t.Fatalf("Verify() before the delete = %v", err)
				}
			}
			deleteKey()
			// One that checks nothing in between refuses it at the bound.
			later := now.Add(bound)
			streamtoken.SetKeySetClock(idle, func() time.Time { return later })
			if _, err := idle.Verify(ctx, tok); !errors.Is(err, token.ErrUnknownKey) {
				t.Errorf("Verify() %v after the delete, the first since = %v, want ErrUnknownKey", bound, err)
			}
			// A verifier checks the token every second, as a busy one
			// would; from the delete on, the first refusal comes within
			// the bound.
			deleted := now
			for ; ; now = now.Add(time.Second) {
				_, err := set.Verify(ctx, tok)
				if errors.Is(err, token.ErrUnknownKey) {
					break
				}
				if err != nil {
					t.Fatalf("Verify() = %v, want valid or ErrUnknownKey", err)
				}
				if now.Sub(deleted) > bound {
					t.Fatalf("the deleted key still verifies %v after the delete, past the bound %v", now.Sub(deleted), bound)
				}
			}
			t.Logf("a deleted key refused %v after the delete (bound %v)", now.Sub(deleted), bound)
		})
	}
}

// The same on the real clock, with a bound of 2 s: the figure the README
// quotes is the delay this measures.
func TestKeySetRevocationDelay(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(serverTestKey(t)))
	defer srv.Close()
	tok, deleteKey := revocation(t, srv)
	const bound = 2 * time.Second
	set, err := streamtoken.NewKeySet(srv.JWKSURL(testAccount), streamtoken.KeySetMaxAge(bound))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := set.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	deleteKey()
	deleted := time.Now()
	for {
		_, err := set.Verify(ctx, tok)
		if errors.Is(err, token.ErrUnknownKey) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(deleted) > bound+time.Second {
			t.Fatalf("the deleted key still verifies %v after the delete (bound %v)", time.Since(deleted), bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("a deleted key refused %v after the delete (bound %v)", time.Since(deleted).Round(time.Millisecond), bound)
}

func TestKeySetURL(t *testing.T) {
	for _, tc := range []struct{ base, account, want, err string }{
		{base: "http://127.0.0.1:8787/client/v4", account: testAccount, want: "http://127.0.0.1:8787/.well-known/jwks/" + testAccount + ".json"},
		{base: "https://tokens.example.com/stream/client/v4/", account: testAccount, want: "https://tokens.example.com/stream/.well-known/jwks/" + testAccount + ".json"},
		{base: "http://127.0.0.1:8787/client/v4?x=1#y", account: testAccount, want: "http://127.0.0.1:8787/.well-known/jwks/" + testAccount + ".json"},
		{base: "http://127.0.0.1:8787", account: testAccount, err: "does not end in /client/v4"},
		{base: "https://api.cloudflare.com/client/v4", account: testAccount, err: "Cloudflare's API publishes no JWK set"},
		{base: "127.0.0.1:8787/client/v4", account: testAccount, err: "want an absolute base URL"},
		{base: "http://127.0.0.1:8787/client/v4", account: "..", err: "account_id"},
		{base: "http://127.0.0.1:8787/client/v4", account: "a/b", err: "account_id"},
	} {
		got, err := streamtoken.KeySetURL(tc.base, tc.account)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("KeySetURL(%q, %q) = %q, %v; want an error saying %q", tc.base, tc.account, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("KeySetURL(%q, %q) = %q, %v; want %q", tc.base, tc.account, got, err, tc.want)
		}
	}
}

// Options are checked when the KeySet is made, not at its first use.
func TestNewKeySetChecksItsOptions(t *testing.T) {
	const u = "https://tokens.example.com/.well-known/jwks/a.json"
	for name, opt := range map[string]streamtoken.KeySetOption{
		"leeway of an hour": streamtoken.KeySetVerifyOptions(token.WithLeeway(time.Hour)),
		"nil clock":         streamtoken.KeySetVerifyOptions(token.WithClock(nil)),
		"max age of 0":      streamtoken.KeySetMaxAge(0),
		"max age of a week": streamtoken.KeySetMaxAge(7 * 24 * time.Hour),
	} {
		if _, err := streamtoken.NewKeySet(u, opt); err == nil {
			t.Errorf("NewKeySet(%s) = nil error", name)
		}
	}
	if _, err := streamtoken.NewKeySet(u, streamtoken.KeySetMaxAge(time.Second), streamtoken.KeySetVerifyOptions(token.WithLeeway(time.Minute))); err != nil {
		t.Errorf("NewKeySet(good options) = %v", err)
	}
}
