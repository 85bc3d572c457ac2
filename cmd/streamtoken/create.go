package main

import (
	"encoding/base64"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
	"github.com/streamtoken/streamtoken/token"
)

func newCreateCmd(e env) *cobra.Command {
	var (
		tf                      tokenFlags
		api                     apiFlags
		video                   string
		keyID, pemFile, keyFile string
	)
	cmd := &cobra.Command{
		Use:   "create VIDEO --account ID [token flags]",
		Short: "Ask the Cloudflare API (or a compatible server) for a token",
		Long: `Ask the Cloudflare API for a signed token: POST
/accounts/{account_id}/stream/{identifier}/token. --base-url points it at
another server on the same wire, such as "streamtoken serve".

Credentials come from the environment only: CLOUDFLARE_API_TOKEN, or
CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY. The request is checked before it is
sent; only the fields asked for are sent. The token is printed on stdout,
as --output says. With --send-key (and --key-id for a PEM file), the API
signs with that signing key.

With --key, create signs the token here with that signing key and calls
nothing: no credentials, no rate limit, the same checks and the same token
as the API's. The key file is one keys create saved, or a JWK; a PEM file
needs --key-id.`,
		Example: `  export CLOUDFLARE_API_TOKEN=...
  streamtoken create ea95132c15732412d22c1476fa83f27a --account 023e105f4ecef8ad9ca31a8372d0c353
  streamtoken create ea95132c15732412d22c1476fa83f27a --account 023e105f4ecef8ad9ca31a8372d0c353 \
      --exp 2h --downloadable --rule "block ip.geoip.country US,MX" --rule "allow any" \
      --base-url http://127.0.0.1:8787/client/v4 --output json
  streamtoken create ea95132c15732412d22c1476fa83f27a --account 023e105f4ecef8ad9ca31a8372d0c353 --key key.json`,
		Args: videoArg(&video),
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			opts, src, err := tf.options(e, video, now)
			if err != nil {
				return err
			}
			if err := tf.lint(cmd.ErrOrStderr(), opts, now); err != nil {
				return err
			}
			req := streamtoken.TokenRequest{
				ExpiresAt: opts.ExpiresAt, NotBefore: opts.NotBefore,
				Downloadable: opts.Downloadable, AccessRules: opts.AccessRules,
			}
			clock := func() time.Time { return now }
			var c *streamtoken.Client
			switch {
			case keyFile != "" && pemFile != "":
				return badInput("--send-key: not with --key (--key signs here; --send-key asks the API to sign with the key)")
			case keyFile != "" && api.base != "":
				return badInput("--base-url: not with --key, which signs here and calls nothing")
			case keyFile != "":
				key, err := readSigningKey("--key", keyFile, keyID)
				if err != nil {
					return err
				}
				signer, err := token.NewSigner(key, token.WithClock(clock), cryptoOf(cmd))
				if err != nil {
					return badInput("--key: %v", err)
				}
				if c, err = streamtoken.NewClient(streamtoken.WithSigner(signer), streamtoken.WithClock(clock)); err != nil {
					return badInput("--key: %v", trimPrefix(err))
				}
			case pemFile != "":
				if req.PEM, req.KeyID, err = pemField(pemFile, keyID); err != nil {
					return err
				}
			case keyID != "":
				return badInput("--key-id: needs --send-key or --key")
			}
			if c == nil {
				if c, err = api.client(e, streamtoken.WithClock(clock)); err != nil {
					return err
				}
			}
			tok, err := c.CreateToken(cmd.Context(), api.account, video, req)
			if err != nil {
				return apiFailure(err, src, map[string]string{gen.ParamAccountID: "--account", gen.ParamIdentifier: "--video", "/id": "--key-id", "/pem": "--send-key"})
			}
			return tf.printToken(cmd.OutOrStdout(), tok.Value)
		},
	}
	fl := cmd.Flags()
	api.register(cmd)
	fl.StringVar(&video, "video", "", "the video `ID`: the same as the VIDEO argument")
	fl.StringVar(&keyID, "key-id", "", "the `ID` of the Stream signing key in --send-key or --key")
	fl.StringVar(&keyFile, "key", "", "a signing key `FILE` to sign with here, calling nothing (a key saved by keys create, a JWK, or PEM with --key-id)")
	fl.StringVar(&pemFile, "send-key", "", "a signing key `FILE` to send, for the API to sign with (a key saved by keys create, PEM, JWK, or the API's base64 forms)")
	// --pem is --send-key's older name, which read as "PEM only" though it
	// takes every form: still taken, no longer shown.
	fl.StringVar(&pemFile, "pem", "", "--send-key, by its older name")
	_ = fl.MarkHidden("pem")
	tf.register(cmd)
	return cmd
}

// pemField reads a signing key file in any form and returns the API's pem
// field (base64 of a PKCS#1 PEM) and the key's ID.
func pemField(path, keyID string) (string, string, error) {
	key, err := readSigningKey("--send-key", path, keyID)
	if err != nil {
		if keyID == "" {
			return "", "", badInput("--send-key: %v (give --key-id)", unwrapExit(err))
		}
		return "", "", err
	}
	block, err := key.PrivatePEM()
	if err != nil {
		return "", "", badInput("--send-key: %v", err)
	}
	return base64.StdEncoding.EncodeToString(block), key.ID, nil
}
