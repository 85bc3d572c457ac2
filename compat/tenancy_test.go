package compat

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/stream"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

// cloudflare-go v6, unchanged, gets account A's tokens every way there is
// from a server of two tenants; each verifies against A's JWK set and not
// against B's.
func TestSDKCrossTenantMatrix(t *testing.T) {
	const tenantA, tenantB = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	srv := streamtokentest.NewServer(
		streamtokentest.WithKeyGenerator(testkey.Generator(t)),
		streamtokentest.WithCredentials(
			server.Credential{Token: "token-a", Accounts: []string{tenantA}},
			server.Credential{Token: "token-b", Accounts: []string{tenantB}}),
	)
	defer srv.Close()
	ctx := context.Background()
	sdkA := newSDK(srv, option.WithAPIToken("token-a"))
	sdkB := newSDK(srv, option.WithAPIToken("token-b"))
	if _, err := sdkB.Stream.Token.New(ctx, video, stream.TokenNewParams{AccountID: cloudflare.F(tenantB)}); err != nil {
		t.Fatal(err)
	}

	fromServer, err := sdkA.Stream.Token.New(ctx, video, stream.TokenNewParams{AccountID: cloudflare.F(tenantA)})
	if err != nil {
		t.Fatal(err)
	}
	created, err := sdkA.Stream.Keys.New(ctx, stream.KeyNewParams{AccountID: cloudflare.F(tenantA)})
	if err != nil {
		t.Fatal(err)
	}
	result, _ := json.Marshal(map[string]any{"id": created.ID, "pem": created.Pem, "jwk": created.Jwk})
	key, err := token.ParsePrivateKey(result)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := token.NewSigner(key)
	local, _, err := signer.Sign(token.Request{VideoID: video})
	if err != nil {
		t.Fatal(err)
	}
	withPEM, err := sdkA.Stream.Token.New(ctx, video, stream.TokenNewParams{AccountID: cloudflare.F(tenantA),
		ID: cloudflare.F(created.ID), Pem: cloudflare.F(created.Pem)})
	if err != nil {
		t.Fatal(err)
	}
	setA, _ := streamtoken.NewKeySet(srv.JWKSURL(tenantA))
	setB, _ := streamtoken.NewKeySet(srv.JWKSURL(tenantB))
	for name, tok := range map[string]string{
		"the server's key for A":             fromServer.Token,
		"a key of A's keys API, signed here": local,
		"A's key as id and pem":              withPEM.Token,
	} {
		if _, err := setA.Verify(ctx, tok); err != nil {
			t.Errorf("%s, against A's set: %v, want valid", name, err)
		}
		if _, err := setB.Verify(ctx, tok); !errors.Is(err, token.ErrUnknownKey) {
			t.Errorf("%s, against B's set: %v, want ErrUnknownKey", name, err)
		}
	}
	var cfErr *cloudflare.Error
	if _, err := sdkA.Stream.Token.New(ctx, video, stream.TokenNewParams{AccountID: cloudflare.F(tenantB)}); !errors.As(err, &cfErr) || cfErr.StatusCode != 403 {
		t.Errorf("A's credential, B's token: %v, want a 403", err)
	}
}
