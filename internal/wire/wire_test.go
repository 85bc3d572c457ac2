package wire

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/token"
)

func ptr[T any](v T) *T { return &v }

func TestOptions(t *testing.T) {
	if got := Options("v", nil); !reflect.DeepEqual(got, token.Options{VideoID: "v"}) {
		t.Errorf("Options(nil body) = %+v, want only the video", got)
	}
	body := &gen.TokenRequest{
		Exp: ptr(int64(1800000000)), Nbf: ptr(int64(1790000000)), Downloadable: ptr(true),
		Flags: &gen.TokenFlags{Original: ptr(true)},
		AccessRules: []gen.AccessRule{
			{Type: gen.AccessRuleTypeIPGeoIPCountry, Action: gen.AccessRuleActionBlock, Country: []string{"US"}},
			{Type: gen.AccessRuleTypeAny, Action: gen.AccessRuleActionAllow},
		},
	}
	want := token.Options{
		VideoID: "v", ExpiresAt: time.Unix(1800000000, 0), NotBefore: time.Unix(1790000000, 0), Downloadable: true, Original: true,
		AccessRules: []token.Rule{
			{Type: token.RuleCountry, Action: token.ActionBlock, Country: []string{"US"}},
			{Type: token.RuleAny, Action: token.ActionAllow},
		},
	}
	if got := Options("v", body); !reflect.DeepEqual(got, want) {
		t.Errorf("Options() = %+v\nwant %+v", got, want)
	}
	// An explicit exp of 0 is a time (and refused later), not "unset".
	if got := Options("v", &gen.TokenRequest{Exp: ptr(int64(0))}); got.ExpiresAt.IsZero() {
		t.Error("Options(exp: 0) left exp unset")
	}
}

func TestCheck(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemField := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	now := time.Now()
	tests := []struct {
		name    string
		account string
		body    *gen.TokenRequest
		want    []string // fields of the violations
		wantKey string
	}{
		{name: "no body", account: "a"},
		{name: "id and pem", account: "a", body: &gen.TokenRequest{ID: ptr("kid-1"), PEM: &pemField}, wantKey: "kid-1"},
		{name: "empty id", account: "a", body: &gen.TokenRequest{ID: ptr(""), PEM: &pemField}, want: []string{"id"}},
		{name: "pem as plain PEM text", account: "a", body: &gen.TokenRequest{ID: ptr("k"), PEM: ptr("-----BEGIN RSA PRIVATE KEY-----")}, want: []string{"pem"}},
		{name: "pem of base64 not PEM", account: "a", body: &gen.TokenRequest{ID: ptr("k"), PEM: ptr(base64.StdEncoding.EncodeToString([]byte(`{"kty":"RSA"}`)))}, want: []string{"pem"}},
		{name: "everything wrong", account: "", body: &gen.TokenRequest{ID: ptr("k"), Exp: ptr(now.Add(-time.Hour).Unix())}, want: []string{"account_id", "pem", "exp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := Check(tt.account, "video", tt.body, now)
			var verr *token.ValidationError
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check() error = %v", err)
				}
				if (key == nil) != (tt.wantKey == "") || (key != nil && key.ID != tt.wantKey) {
					t.Errorf("Check() key = %v, want ID %q", key, tt.wantKey)
				}
				return
			}
			if !errors.As(err, &verr) || key != nil {
				t.Fatalf("Check() = %v, %v; want a *token.ValidationError", key, err)
			}
			var got []string
			for _, v := range verr.Violations {
				got = append(got, v.Field)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check() violations at %q, want %q", got, tt.want)
			}
		})
	}
}
