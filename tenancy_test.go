package streamtoken_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

// Two tenants of one server, each with a credential scoped to its account.
const (
	tenantA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tenantB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// TestCrossTenantMatrix gets account A's tokens every way there is and
// verifies each against A's JWK set (valid) and B's (not valid), as
// verifiers of each account's videos would, with keys the server
// generated for each account and with keys of the operator's.
func TestCrossTenantMatrix(t *testing.T) {
	for _, keys := range []string{"generated", "operator's"} {
		t.Run(keys, func(t *testing.T) {
			opts := []streamtokentest.Option{
				streamtokentest.WithKeyGenerator(testkey.Generator(t)),
				streamtokentest.WithCredentials(
					server.Credential{Token: "token-a", Accounts: []string{tenantA}},
					server.Credential{Token: "token-b", Accounts: []string{tenantB}}),
			}
			if keys == "operator's" {
				opts = append(opts,
					streamtokentest.WithAccountKey(tenantA, testkey.Load(t, "rsa2048.pem", "operator-key-a")),
					streamtokentest.WithAccountKey(tenantB, testkey.Load(t, "rsa3072.pem", "operator-key-b")))
			}
			srv := streamtokentest.NewServer(opts...)
			defer srv.Close()
			ctx := context.Background()
			clientA := srv.NewClient(streamtoken.WithAPIToken("token-a"))
			clientB := srv.NewClient(streamtoken.WithAPIToken("token-b"))
			// B has tokens and keys of its own, so that its set is not empty.
			if _, err := clientB.CreateToken(ctx, tenantB, testVideo, streamtoken.TokenRequest{}); err != nil {
				t.Fatal(err)
			}
			if _, err := clientB.CreateSigningKey(ctx, tenantB); err != nil {
				t.Fatal(err)
			}

			fromServer, err := clientA.CreateToken(ctx, tenantA, testVideo, streamtoken.TokenRequest{})
			if err != nil {
				t.Fatal(err)
			}
			created, err := clientA.CreateSigningKey(ctx, tenantA)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := token.NewSigner(created.Key)
			if err != nil {
				t.Fatal(err)
			}
			local, _, err := signer.Sign(token.Request{VideoID: testVideo})
			if err != nil {
				t.Fatal(err)
			}
			pem, _ := created.Key.PrivatePEM()
			withPEM, err := clientA.CreateToken(ctx, tenantA, testVideo, streamtoken.TokenRequest{KeyID: created.ID, PEM: base64.StdEncoding.EncodeToString(pem)})
			if err != nil {
				t.Fatal(err)
			}
			setA, _ := streamtoken.NewKeySet(srv.JWKSURL(tenantA))
			setB, _ := streamtoken.NewKeySet(srv.JWKSURL(tenantB))
			for name, tok := range map[string]string{
				"the server's key for A":             fromServer.Value,
				"a key of A's keys API, signed here": local,
				"A's key as id and pem":              withPEM.Value,
			} {
				if _, err := setA.Verify(ctx, tok); err != nil {
					t.Errorf("%s, against A's set: %v, want valid", name, err)
				}
				if _, err := setB.Verify(ctx, tok); !errors.Is(err, token.ErrUnknownKey) {
					t.Errorf("%s, against B's set: %v, want ErrUnknownKey", name, err)
				}
			}
			// A's credential reaches nothing of B's.
			if _, err := clientA.CreateToken(ctx, tenantB, testVideo, streamtoken.TokenRequest{}); !errors.Is(err, streamtoken.ErrAuthentication) {
				t.Errorf("A's credential, B's token: %v, want a 403", err)
			}
		})
	}
}
