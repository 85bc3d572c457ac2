package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/token"
)

func newKeysRotateCmd(e env) *cobra.Command {
	var (
		f        apiFlags
		old, out string
	)
	cmd := &cobra.Command{
		Use:   "rotate --account ID --key OLD --out NEW",
		Short: "Replace a key file with a new key, and say when the old one may go",
		Long: `Rotate an operator's signing key: create a new key through the API and save
it to --out as "keys create" does (mode 0600, never over a file; a key that
could not be saved is deleted at the API again), then print the old key's
ID (read from --key) and the earliest time it may be deleted: when every
token it signed has expired (24 hours at most, and 5 minutes for clocks).
Sign with the new key from now on; both stay in the account's JWK set
until the old one is deleted ("keys delete", as printed).`,
		Example: `  streamtoken keys rotate --account 023e105f4ecef8ad9ca31a8372d0c353 --key key1.json --out key2.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The old key first: a bad --key creates nothing.
			prev, err := store.LoadKey(old, "")
			if err != nil {
				return badInput("--key: %v", err)
			}
			key, err := createKeyFile(cmd, e, f, out)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			base := ""
			if f.base != "" {
				base = " --base-url " + f.base
			}
			fmt.Fprintf(w, "new key:  %s, saved to %s: sign with it from now on\n", key.ID, out)
			fmt.Fprintf(w, "old key:  %s: delete it at or after %s, once every token it signed has expired:\n", prev.ID,
				time.Now().Add(token.RetireAfter).UTC().Format(time.RFC3339))
			fmt.Fprintf(w, "  %s keys delete %s --account %s%s\n", e.command(), prev.ID, f.account, base)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&old, "key", "", "the key `FILE` signing now (its ID is the old key's)")
	cmd.Flags().StringVar(&out, "out", "", "the `FILE` to save the new key in (mode 0600; must not exist)")
	_ = cmd.MarkFlagRequired("key")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
