package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/token"
)

func newSignCmd(e env) *cobra.Command {
	var (
		tf           tokenFlags
		keyFile, kid string
		video        string
	)
	cmd := &cobra.Command{
		Use:   "sign VIDEO --key FILE [token flags]",
		Short: "Sign a token locally with a Stream signing key",
		Long: `Sign a token locally with a Stream signing key: no API call, no rate limit.

The key may be a key as "streamtoken keys create --out" saves it (the API's
answer: its id is the kid), a PEM file (PKCS#1 or PKCS#8), the API's pem
field (base64 of a PEM), or its jwk field (base64 of a JWK, whose kid is
the key ID). The
token follows the API's rules: exp at most 24h ahead, nbf before exp, at
most 5 access rules. It is printed on stdout, as --output says.`,
		Example: `  streamtoken sign ea95132c15732412d22c1476fa83f27a --key key.json --exp 2h
  streamtoken sign ea95132c15732412d22c1476fa83f27a --key key.pem --key-id 5213cfa121f70b8c1380686ffc371ba3
  streamtoken sign ea95132c15732412d22c1476fa83f27a --key key.jwk \
      --rule "block ip.geoip.country US,MX" --rule "allow ip.src 93.184.216.0/24,2400:cb00::/32" --rule "block any" \
      --customer-code f33zs165nr7gyfy4 --output json`,
		Args: videoArg(&video),
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			key, err := readSigningKey("--key", keyFile, kid)
			if err != nil {
				return err
			}
			opts, src, err := tf.options(e, video, now)
			if err != nil {
				return err
			}
			if problem := ids.Check(video); problem != "" {
				return badInput("--video: %s", problem)
			}
			if err := tf.lint(cmd.ErrOrStderr(), opts, now); err != nil {
				return err
			}
			signer, err := token.NewSigner(key, token.WithClock(func() time.Time { return now }), cryptoOf(cmd))
			if err != nil {
				return badInput("--key: %v", err)
			}
			tok, _, err := signer.Sign(opts)
			if err != nil {
				return invalidInput(err, src, map[string]string{"VideoID": "--video"})
			}
			return tf.printToken(cmd.OutOrStdout(), tok)
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "the signing key `FILE`")
	cmd.Flags().StringVar(&kid, "key-id", "", "the key's `ID` (the token's kid); needed unless the key carries one (a JWK, or a key saved by keys create)")
	cmd.Flags().StringVar(&video, "video", "", "the video `ID`: the same as the VIDEO argument")
	tf.register(cmd)
	_ = cmd.MarkFlagRequired("key")
	return cmd
}
