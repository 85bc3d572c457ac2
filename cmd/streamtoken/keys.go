package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/gen"
)

// keysFailure maps a keys-API error onto an exit code and one line.
func keysFailure(err error) error {
	return apiFailure(err, nil, map[string]string{gen.ParamAccountID: "--account", gen.ParamIdentifier: "KEY_ID"})
}

func newKeysCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list, delete, rotate and import Stream signing keys",
		Long: `Create, list and delete the Stream signing keys that sign tokens locally
("streamtoken sign"): POST, GET /accounts/{account_id}/stream/keys and
DELETE /accounts/{account_id}/stream/keys/{identifier}. --base-url points
them at another server on the same wire, such as "streamtoken serve".

Credentials come from the environment only: CLOUDFLARE_API_TOKEN, or
CLOUDFLARE_EMAIL with CLOUDFLARE_API_KEY.

Rotation: "keys rotate" creates a second key, saves it, and says when the
first may be deleted: once its tokens have expired (24 hours at most);
deleted, its tokens stop working at once.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newKeysCreateCmd(e), newKeysListCmd(e), newKeysDeleteCmd(e), newKeysRotateCmd(e), newKeysImportCmd(e))
	return cmd
}

func newKeysCreateCmd(e env) *cobra.Command {
	var (
		f   apiFlags
		out string
	)
	cmd := &cobra.Command{
		Use:   "create --account ID --out FILE",
		Short: "Create a signing key and save it",
		Long: `Create a signing key and save it to --out as the API hands it out (its
id, pem, jwk and created), mode 0600: the only time its private half is
shown. The file is never overwritten. "streamtoken sign --key FILE" and
"streamtoken serve --signing-key FILE" read it, kid included. Prints the
key's ID alone.`,
		Example: `  streamtoken keys create --account 023e105f4ecef8ad9ca31a8372d0c353 --out key.json --base-url http://127.0.0.1:8787/client/v4`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := createKeyFile(cmd, e, f, out)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), key.ID)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "the `FILE` to save the key in (mode 0600; must not exist)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func newKeysListCmd(e env) *cobra.Command {
	var (
		f   apiFlags
		out output
	)
	cmd := &cobra.Command{
		Use:   "list --account ID",
		Short: "List the account's signing keys",
		Long:  `List the account's signing keys: ID and creation time, one a line (or --output json). No private half is ever listed.`,
		Example: `  streamtoken keys list --account 023e105f4ecef8ad9ca31a8372d0c353
  streamtoken keys list --account 023e105f4ecef8ad9ca31a8372d0c353 --base-url http://127.0.0.1:8787/client/v4 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			keys, err := c.ListSigningKeys(cmd.Context(), f.account)
			if err != nil {
				return keysFailure(err)
			}
			if out.json() {
				if keys == nil {
					keys = []streamtoken.SigningKeyInfo{}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(keys)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCREATED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\n", k.ID, k.Created.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	outputFlag(cmd.Flags(), &out, "text or json")
	return cmd
}

func newKeysDeleteCmd(e env) *cobra.Command {
	var f apiFlags
	cmd := &cobra.Command{
		Use:   "delete KEY_ID --account ID",
		Short: "Delete a signing key: its tokens stop working",
		Long: `Delete a signing key: DELETE /accounts/{account_id}/stream/keys/{identifier}.
The tokens it signed stop verifying at once on the token server (its JWK
set drops the key), and on Cloudflare. Sign with another key first when
rotating (see "keys create").`,
		Example: `  streamtoken keys delete 5213cfa121f70b8c1380686ffc371ba3 --account 023e105f4ecef8ad9ca31a8372d0c353
  streamtoken keys delete 5213cfa121f70b8c1380686ffc371ba3 --account 023e105f4ecef8ad9ca31a8372d0c353 --base-url http://127.0.0.1:8787/client/v4`,
		Args: exactArgs(1, "KEY_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(e)
			if err != nil {
				return err
			}
			if err := c.DeleteSigningKey(cmd.Context(), f.account, args[0]); err != nil {
				return keysFailure(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// createKeyFile creates a key through the API and saves it to out, as the
// API hands it out, mode 0600: out is opened first (never over a file), so
// that a key the API made is never lost to a bad --out, and a key that
// could not be saved is deleted at the API again (nothing half-made).
func createKeyFile(cmd *cobra.Command, e env, f apiFlags, out string) (*streamtoken.SigningKey, error) {
	file, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, badInput("--out %s: the file exists: a key is never written over another", out)
	}
	if err != nil {
		return nil, badInput("--out: %v", err)
	}
	written := false
	defer func() {
		file.Close()
		if !written {
			os.Remove(out)
		}
	}()
	c, err := f.client(e)
	if err != nil {
		return nil, err
	}
	key, err := c.CreateSigningKey(cmd.Context(), f.account)
	if err != nil {
		return nil, keysFailure(err)
	}
	if _, err = file.Write(append(key.Export(), '\n')); err == nil {
		err = file.Sync()
	}
	if err != nil {
		fate := "deleted at the API again"
		if derr := c.DeleteSigningKey(cmd.Context(), f.account, key.ID); derr != nil {
			fate = "left at the API (its delete failed too: delete it, or create another)"
		}
		return nil, failure(fmt.Errorf("--out %s: %w (key %s was created, and %s)", out, err, key.ID, fate))
	}
	written = true
	return key, nil
}
