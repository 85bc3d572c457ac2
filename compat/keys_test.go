package compat

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/stream"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/apicode"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

// cloudflare-go v6, unchanged, runs the keys API of the token server:
// create (with the null body it sends by default, and with {}), list,
// sign locally with a created key, delete.
func TestSDKManagesSigningKeys(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testKey(t)))
	defer srv.Close()
	sdk := newSDK(srv)
	ctx := context.Background()

	var created []*stream.Keys
	for _, body := range []any{nil, map[string]any{}} {
		k, err := sdk.Stream.Keys.New(ctx, stream.KeyNewParams{AccountID: cloudflare.F(account), Body: body})
		if err != nil {
			t.Fatalf("Stream.Keys.New(body %v) = %v", body, err)
		}
		if k.ID == "" || k.Pem == "" || k.Jwk == "" || k.Created.IsZero() {
			t.Fatalf("Stream.Keys.New() = %+v, want id, pem, jwk and created", k)
		}
		created = append(created, k)
	}
	page, err := sdk.Stream.Keys.Get(ctx, stream.KeyGetParams{AccountID: cloudflare.F(account)})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, k := range page.Result {
		if k.KeyID != k.ID || k.Created.IsZero() {
			t.Errorf("Stream.Keys.Get() entry %+v, want key_id and created", k)
		}
		listed = append(listed, k.ID)
	}
	for _, k := range created {
		if !slices.Contains(listed, k.ID) {
			t.Errorf("Stream.Keys.Get() = %v, lacks %s", listed, k.ID)
		}
	}

	// The key as the SDK returns it signs with its kid, and the server's
	// JWK set vouches for it.
	result, _ := json.Marshal(map[string]any{"id": created[0].ID, "pem": created[0].Pem, "jwk": created[0].Jwk, "created": created[0].Created})
	key, err := token.ParsePrivateKey(result)
	if err != nil || key.ID != created[0].ID {
		t.Fatalf("the SDK's key parses as %v, %v", key, err)
	}
	signer, _ := token.NewSigner(key)
	tok, _, err := signer.Sign(token.Request{VideoID: video})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := streamtoken.NewKeySet(srv.JWKSURL(account))
	if _, err := set.Verify(ctx, tok); err != nil {
		t.Errorf("a token of the SDK's key: %v", err)
	}

	res, err := sdk.Stream.Keys.Delete(ctx, created[0].ID, stream.KeyDeleteParams{AccountID: cloudflare.F(account)})
	if err != nil || res == nil || *res == "" {
		t.Fatalf("Stream.Keys.Delete() = %v, %v; want a string", res, err)
	}
	page, err = sdk.Stream.Keys.Get(ctx, stream.KeyGetParams{AccountID: cloudflare.F(account)})
	if err != nil || len(page.Result) != 1 || page.Result[0].ID != created[1].ID {
		t.Errorf("Stream.Keys.Get() after the delete = %+v, %v; want the second key alone", page, err)
	}
	fresh, _ := streamtoken.NewKeySet(srv.JWKSURL(account))
	if _, err := fresh.Verify(ctx, tok); !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("a token of the deleted key: %v, want ErrUnknownKey", err)
	}

	_, err = sdk.Stream.Keys.Delete(ctx, created[0].ID, stream.KeyDeleteParams{AccountID: cloudflare.F(account)})
	var cfErr *cloudflare.Error
	if !errors.As(err, &cfErr) || cfErr.StatusCode != 404 || len(cfErr.Errors) == 0 || cfErr.Errors[0].Code != int64(apicode.NoSuchKey) {
		t.Errorf("Stream.Keys.Delete(an unknown key) = %v, want a *cloudflare.Error 404 (1010)", err)
	}
}
