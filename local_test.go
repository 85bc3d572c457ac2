package streamtoken_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

// remoteAndLocal are a server with key on the clock of now, a client of
// it, and a client that signs with key itself, on the same clock.
func remoteAndLocal(t *testing.T, now time.Time) (srv *streamtokentest.Server, remote, local *streamtoken.Client) {
	t.Helper()
	clock := func() time.Time { return now }
	key := testkey.Load(t, "rsa2048.pem", "5213cfa121f70b8c1380686ffc371ba3")
	srv = streamtokentest.NewServer(streamtokentest.WithSigningKey(key), streamtokentest.WithClock(clock))
	t.Cleanup(srv.Close)
	signer, err := token.NewSigner(key, token.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	local, err = streamtoken.NewClient(streamtoken.WithSigner(signer), streamtoken.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return srv, srv.NewClient(streamtoken.WithClock(clock)), local
}

// A token signed locally through CreateToken is the token the server
// signs for the same request, key and clock, byte for byte (RS256 is
// deterministic), defaults included; and it costs no request.
func TestLocalTokensAreTheServers(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	srv, remote, local := remoteAndLocal(t, now)
	other := testkey.Load(t, "rsa2048-b.pem", "other-key")
	otherPEM, err := other.PrivatePEM()
	if err != nil {
		t.Fatal(err)
	}
	rules := []token.Rule{
		{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US", "MX"}},
		{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24", "2400:cb00::/32"}},
		{Type: token.RuleAny, Action: token.ActionBlock},
	}
	for name, req := range map[string]streamtoken.TokenRequest{
		"defaults": {},
		"every field": {ExpiresAt: now.Add(2 * time.Hour), NotBefore: now.Add(-time.Minute), Downloadable: true,
			AccessRules: rules, Original: true},
		"the request's own key": {KeyID: other.ID, PEM: base64.StdEncoding.EncodeToString(otherPEM)},
		"rules with findings": {AccessRules: []token.Rule{{Type: token.RuleIPSrc, Action: token.ActionAllow, IP: []string{"93.184.216.0/24"}},
			{Type: token.RuleAny, Action: token.ActionAllow}, {Type: token.RuleAny, Action: token.ActionBlock}}},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := remote.CreateToken(context.Background(), testAccount, testVideo, req)
			if err != nil {
				t.Fatal(err)
			}
			before := srv.Requests()
			got, err := local.CreateToken(context.Background(), testAccount, testVideo, req)
			if err != nil {
				t.Fatal(err)
			}
			if got.Value != want.Value {
				gc, _ := token.Decode(got.Value)
				wc, _ := token.Decode(want.Value)
				t.Errorf("a local token differs from the server's:\n local  %+v\n server %+v", gc, wc)
			}
			if fmt.Sprint(got.Messages) != fmt.Sprint(want.Messages) {
				t.Errorf("local messages %v, the server's %v", got.Messages, want.Messages)
			}
			if name == "rules with findings" {
				codes := ""
				for _, m := range want.Messages {
					codes += fmt.Sprintf("%d %s; ", m.Code, m.Pointer)
				}
				if codes != "1102 /accessRules/0; 1100 /accessRules/1; 1101 /accessRules/2; " {
					t.Errorf("the server's messages: %s", codes)
				}
			}
			if !got.Local || want.Local || got.RateLimit != nil {
				t.Errorf("Local = %v (server's %v), RateLimit %v; want true, false, nil", got.Local, want.Local, got.RateLimit)
			}
			if n := srv.Requests() - before; n != 0 {
				t.Errorf("signing locally sent %d requests", n)
			}
		})
	}
}

// A bad request is refused locally as it is before a call: the same
// error, and nothing signed.
func TestLocalRefusalsAreTheClients(t *testing.T) {
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	srv, remote, local := remoteAndLocal(t, now)
	six := make([]token.Rule, 6)
	for i := range six {
		six[i] = token.Rule{Type: token.RuleAny, Action: token.ActionAllow}
	}
	for name, tt := range map[string]struct {
		account string
		req     streamtoken.TokenRequest
	}{
		"exp past a day":     {testAccount, streamtoken.TokenRequest{ExpiresAt: now.Add(25 * time.Hour)}},
		"six rules":          {testAccount, streamtoken.TokenRequest{AccessRules: six}},
		"an id without pem":  {testAccount, streamtoken.TokenRequest{KeyID: "k"}},
		"a pem that is none": {testAccount, streamtoken.TokenRequest{KeyID: "k", PEM: base64.StdEncoding.EncodeToString([]byte("s3cret"))}},
		"a bad account":      {"../x", streamtoken.TokenRequest{}},
	} {
		t.Run(name, func(t *testing.T) {
			_, want := remote.CreateToken(context.Background(), tt.account, testVideo, tt.req)
			_, got := local.CreateToken(context.Background(), tt.account, testVideo, tt.req)
			if got == nil || want == nil || got.Error() != want.Error() || !errors.Is(got, streamtoken.ErrInvalid) {
				t.Errorf("local: %v\nclient: %v\nwant the same ErrInvalid", got, want)
			}
			if got != nil && strings.Contains(got.Error(), "s3cret") {
				t.Errorf("the error holds the pem field: %v", got)
			}
		})
	}
	if n := srv.Requests(); n != 0 {
		t.Errorf("the refusals sent %d requests", n)
	}
}

// A key file as keys create saves it, or a JWK, carries its ID; a PEM
// file does not, and is refused by name. A client with a key alone signs
// and calls nothing.
func TestWithSigningKeyFile(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testkey.Load(t, "rsa2048.pem", "k")))
	defer srv.Close()
	created, err := srv.NewClient().CreateSigningKey(context.Background(), testAccount)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	saved := filepath.Join(dir, "key.json")
	if err := os.WriteFile(saved, created.Export(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := streamtoken.NewClient(streamtoken.WithSigningKeyFile(saved))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateToken(context.Background(), testAccount, testVideo, streamtoken.TokenRequest{})
	if err != nil || !tok.Local {
		t.Fatalf("CreateToken() = %v, %v; want a local token", tok, err)
	}
	// The account's JWK set holds the created key: the token verifies.
	set, err := streamtoken.NewKeySet(srv.JWKSURL(testAccount))
	if err != nil {
		t.Fatal(err)
	}
	if claims, err := set.Verify(context.Background(), tok.Value); err != nil || claims.KeyID != created.ID {
		t.Errorf("Verify(a local token) = %v, %v; want kid %s", claims, err, created.ID)
	}
	if _, err := c.ListSigningKeys(context.Background(), testAccount); !errors.Is(err, streamtoken.ErrNoCredentials) {
		t.Errorf("ListSigningKeys() without credentials = %v, want ErrNoCredentials", err)
	}

	pemFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(pemFile, testkey.Read(t, "rsa2048.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		pemFile:                         "carries no key ID",
		filepath.Join(dir, "none.json"): "no such file",
	} {
		if _, err := streamtoken.NewClient(streamtoken.WithSigningKeyFile(path)); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "WithSigningKeyFile") {
			t.Errorf("NewClient(WithSigningKeyFile(%s)) = %v, want %q", filepath.Base(path), err, want)
		}
	}
	if _, err := streamtoken.NewClient(streamtoken.WithSigner(nil)); err == nil {
		t.Error("NewClient(WithSigner(nil)) = nil error")
	}
}
