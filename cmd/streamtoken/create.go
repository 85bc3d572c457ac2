package main

import (
	"encoding/base64"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
)

func newCreateCmd(e env) *cobra.Command {
	var (
		tf             tokenFlags
		api            apiFlags
		video          string
		keyID, pemFile string
	)
	cmd := &cobra.Command{
		Use:   "create --account ID --video ID [token flags]",
		Short: "Ask the Cloudflare API (or a compatible server) for a token",
		Long: `Ask the Cloudflare API for a signed token: POST
/accounts/{account_id}/stream/{identifier}/token. --base-url points it at
another server on the same wire, such as "streamtoken serve".

Credentials come from the environment only: CLOUDFLARE_API_TOKEN, or
CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY. The request is checked before it is
sent; only the fields asked for are sent. The token is printed on stdout,
as --output says. With --key-id and --pem, the API signs with that signing key.`,
		Example: `  export CLOUDFLARE_API_TOKEN=...
  streamtoken create --account 023e105f4ecef8ad9ca31a8372d0c353 --video ea95132c15732412d22c1476fa83f27a
  streamtoken create --account 023e105f4ecef8ad9ca31a8372d0c353 --video ea95132c15732412d22c1476fa83f27a \
      --exp 2h --downloadable --rule "block ip.geoip.country US,MX" --rule "allow any" \
      --base-url http://127.0.0.1:8787/client/v4 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			opts, src, err := tf.options(e, video, now)
			if err != nil {
				return err
			}
			req := streamtoken.TokenRequest{
				ExpiresAt: opts.ExpiresAt, NotBefore: opts.NotBefore,
				Downloadable: opts.Downloadable, AccessRules: opts.AccessRules,
			}
			if pemFile != "" {
				if req.PEM, req.KeyID, err = pemField(pemFile, keyID); err != nil {
					return err
				}
			} else if keyID != "" {
				return badInput("--key-id: needs --pem")
			}
			c, err := api.client(e, streamtoken.WithClock(func() time.Time { return now }))
			if err != nil {
				return err
			}
			tok, err := c.CreateToken(cmd.Context(), api.account, video, req)
			if err != nil {
				return apiFailure(err, src, map[string]string{"account_id": "--account", "identifier": "--video", "/id": "--key-id", "/pem": "--pem"})
			}
			return tf.printToken(cmd.OutOrStdout(), tok.Value)
		},
	}
	fl := cmd.Flags()
	api.register(cmd)
	fl.StringVar(&video, "video", "", "the video `ID`")
	fl.StringVar(&keyID, "key-id", "", "the `ID` of the Stream signing key in --pem")
	fl.StringVar(&pemFile, "pem", "", "a signing key `FILE` for the API to sign with (a key saved by keys create, PEM, JWK, or the API's base64 forms)")
	tf.register(cmd)
	_ = cmd.MarkFlagRequired("video")
	return cmd
}

// pemField reads a signing key file in any form and returns the API's pem
// field (base64 of a PKCS#1 PEM) and the key's ID.
func pemField(path, keyID string) (string, string, error) {
	key, err := readSigningKey("--pem", path, keyID)
	if err != nil {
		if keyID == "" {
			return "", "", badInput("--pem: %v (give --key-id)", unwrapExit(err))
		}
		return "", "", err
	}
	block, err := key.PrivatePEM()
	if err != nil {
		return "", "", badInput("--pem: %v", err)
	}
	return base64.StdEncoding.EncodeToString(block), key.ID, nil
}
