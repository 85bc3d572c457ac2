package compat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/stream"

	"github.com/streamtoken/streamtoken/internal/testkey"
	"github.com/streamtoken/streamtoken/streamtokentest"
	"github.com/streamtoken/streamtoken/token"
)

const (
	account = "023e105f4ecef8ad9ca31a8372d0c353"
	video   = "ea95132c15732412d22c1476fa83f27a"
)

func newSDK(srv *streamtokentest.Server, opts ...option.RequestOption) *cloudflare.Client {
	return cloudflare.NewClient(append([]option.RequestOption{
		option.WithAPIToken(srv.APIToken),
		option.WithBaseURL(srv.URL),
		option.WithHTTPClient(srv.Client()),
		option.WithMaxRetries(0),
	}, opts...)...)
}

func TestSDKGetsTokens(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testKey(t)))
	defer srv.Close()
	sdk := newSDK(srv)
	exp := time.Now().Add(2 * time.Hour).Unix()
	tests := []struct {
		name   string
		params stream.TokenNewParams
		check  func(t *testing.T, downloadable bool, rules int)
	}{
		{
			name:   "defaults",
			params: stream.TokenNewParams{AccountID: cloudflare.F(account)},
			check: func(t *testing.T, downloadable bool, rules int) {
				if downloadable || rules != 0 {
					t.Errorf("downloadable = %v, rules = %d; want the defaults", downloadable, rules)
				}
			},
		},
		{
			name: "every field",
			params: stream.TokenNewParams{
				AccountID:    cloudflare.F(account),
				Exp:          cloudflare.F(exp),
				Nbf:          cloudflare.F(time.Now().Add(-time.Minute).Unix()),
				Downloadable: cloudflare.F(true),
				Flags:        cloudflare.F(stream.TokenNewParamsFlags{Original: cloudflare.F(true)}),
				AccessRules: cloudflare.F([]stream.TokenNewParamsAccessRule{
					{Type: cloudflare.F(stream.TokenNewParamsAccessRulesTypeIPGeoipCountry), Action: cloudflare.F(stream.TokenNewParamsAccessRulesActionBlock), Country: cloudflare.F([]string{"US", "MX"})},
					{Type: cloudflare.F(stream.TokenNewParamsAccessRulesTypeIPSrc), Action: cloudflare.F(stream.TokenNewParamsAccessRulesActionAllow), IP: cloudflare.F([]string{"93.184.216.0/24", "2400:cb00::/32"})},
					{Type: cloudflare.F(stream.TokenNewParamsAccessRulesTypeAny), Action: cloudflare.F(stream.TokenNewParamsAccessRulesActionBlock)},
				}),
			},
			check: func(t *testing.T, downloadable bool, rules int) {
				if !downloadable || rules != 3 {
					t.Errorf("downloadable = %v, rules = %d; want true, 3", downloadable, rules)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := sdk.Stream.Token.New(context.Background(), video, tt.params)
			if err != nil {
				t.Fatalf("Stream.Token.New() error = %v", err)
			}
			claims, err := srv.Verify(account, resp.Token)
			if err != nil {
				t.Fatalf("Verify(token from the SDK) error = %v", err)
			}
			if claims.VideoID != video {
				t.Errorf("sub = %q, want %q", claims.VideoID, video)
			}
			tt.check(t, claims.Downloadable, len(claims.AccessRules))
		})
	}
}

func TestSDKGetsOurErrors(t *testing.T) {
	srv := streamtokentest.NewServer(streamtokentest.WithSigningKey(testKey(t)))
	defer srv.Close()
	tests := []struct {
		name        string
		sdk         *cloudflare.Client
		params      stream.TokenNewParams
		wantStatus  int
		wantCode    int64
		wantPointer string
	}{
		{
			name:       "wrong API token",
			sdk:        cloudflare.NewClient(option.WithAPIToken("wrong"), option.WithBaseURL(srv.URL), option.WithMaxRetries(0)),
			params:     stream.TokenNewParams{AccountID: cloudflare.F(account)},
			wantStatus: 401, wantCode: 10000,
		},
		{
			name:       "exp 48 hours ahead",
			sdk:        newSDK(srv),
			params:     stream.TokenNewParams{AccountID: cloudflare.F(account), Exp: cloudflare.F(time.Now().Add(48 * time.Hour).Unix())},
			wantStatus: 400, wantCode: 1003, wantPointer: "/exp",
		},
		{
			name: "bad CIDR",
			sdk:  newSDK(srv),
			params: stream.TokenNewParams{AccountID: cloudflare.F(account), AccessRules: cloudflare.F([]stream.TokenNewParamsAccessRule{
				{Type: cloudflare.F(stream.TokenNewParamsAccessRulesTypeIPSrc), Action: cloudflare.F(stream.TokenNewParamsAccessRulesActionAllow), IP: cloudflare.F([]string{"10.0.0.0/33"})},
			})},
			wantStatus: 400, wantCode: 1003, wantPointer: "/accessRules/0/ip/0",
		},
		{
			name: "unknown action",
			sdk:  newSDK(srv),
			params: stream.TokenNewParams{AccountID: cloudflare.F(account), AccessRules: cloudflare.F([]stream.TokenNewParamsAccessRule{
				{Type: cloudflare.F(stream.TokenNewParamsAccessRulesTypeAny), Action: cloudflare.F(stream.TokenNewParamsAccessRulesAction("deny"))},
			})},
			wantStatus: 400, wantCode: 1002, wantPointer: "/accessRules/0/action",
		},
		{
			name:       "id without pem",
			sdk:        newSDK(srv),
			params:     stream.TokenNewParams{AccountID: cloudflare.F(account), ID: cloudflare.F("ab0d4ef71g4425f8dcba9041231813000")},
			wantStatus: 400, wantCode: 1003, wantPointer: "/pem",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.sdk.Stream.Token.New(context.Background(), video, tt.params)
			var cfErr *cloudflare.Error
			if !errors.As(err, &cfErr) {
				t.Fatalf("Stream.Token.New() error = %v (%T), want *cloudflare.Error", err, err)
			}
			if cfErr.StatusCode != tt.wantStatus || len(cfErr.Errors) == 0 || cfErr.Errors[0].Code != tt.wantCode {
				t.Fatalf("error = status %d, errors %+v; want status %d, code %d", cfErr.StatusCode, cfErr.Errors, tt.wantStatus, tt.wantCode)
			}
			if got := cfErr.Errors[0].Source.Pointer; got != tt.wantPointer {
				t.Errorf("source.pointer = %q, want %q", got, tt.wantPointer)
			}
		})
	}
}

// testKey is a key of the main module's token/testdata: tests generate no
// RSA keys.
func testKey(t *testing.T) *token.Key { return testkey.Load(t, "rsa2048.pem", "compat-key") }
