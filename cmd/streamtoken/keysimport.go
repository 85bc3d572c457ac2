package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken/internal/ids"
	"github.com/streamtoken/streamtoken/server"
	"github.com/streamtoken/streamtoken/store"
	"github.com/streamtoken/streamtoken/store/postgres"
	"github.com/streamtoken/streamtoken/token"
)

func newKeysImportCmd(e env) *cobra.Command {
	var (
		f       storeFlags
		account string
	)
	cmd := &cobra.Command{
		Use:   "import FILE --account ID --store postgres://... --key-encryption-key KEK",
		Short: "Make a key file an account's signing key in serve's store",
		Long: `Make a signing key file (as "keys create --out" saves it against Cloudflare)
the account's signing key in a store that serve reads: sealed under the
key-encryption key in PostgreSQL, or a file of mode 0600 in a directory
(dir:PATH), so that every replica of a gateway (serve --upstream) signs the
account's tokens with a key that exists at the upstream. An account that
has a key in the store keeps it: nothing is imported then (exit 2). The
store and its key come from the flags or from serve's variables
(STREAMTOKEN_STORE, STREAMTOKEN_KEY_ENCRYPTION_KEY_FILE or ..._KEY).`,
		Example: `  streamtoken keys import key.json --account 023e105f4ecef8ad9ca31a8372d0c353 --store postgres://streamtoken@db/streamtoken --key-encryption-key kek`,
		Args:    exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if why := ids.Check(account); why != "" {
				return badInput("--account %q: %s", account, why)
			}
			if f.store == "" {
				f.store = e.getenv(envServeStore)
			}
			if f.kekFile == "" {
				f.kekFile = e.getenv(envServeKEK + "_FILE")
			}
			f.kek = e.getenv(envServeKEK)
			if !isPostgres(f.store) && !strings.HasPrefix(f.store, "dir:") {
				return badInput("--store: want postgres://... or dir:PATH, the store serve runs on (a memory store goes with its process: give serve --account-key instead)")
			}
			key, err := store.LoadKey(args[0], "")
			if err != nil {
				return badInput("FILE: %v", err)
			}
			if key.Private == nil {
				return badInput("FILE: a public key: an account's signing key is a private one")
			}
			logger := slog.New(slog.DiscardHandler)
			opened, err := openStore(cmd.Context(), logger, f, &server.Config{})
			if err != nil {
				return err
			}
			defer opened.store.Close()
			kept, err := opened.store.EnsureAccountKey(cmd.Context(), account, store.DefaultMaxAccounts, func() (*token.Key, error) { return key, nil })
			switch {
			case err != nil:
				return failure(fmt.Errorf("the store: %w", err))
			case kept.ID != key.ID:
				return badInput("account %s has signing key %s in the store already: nothing imported (serve signs its tokens with it)", account, kept.ID)
			}
			where := "sealed in PostgreSQL"
			if !isPostgres(f.store) {
				where = "in " + strings.TrimPrefix(f.store, "dir:")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s: account %s's signing key, %s\n", key.ID, account, where)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&account, "account", "", "the account `ID`")
	fl.StringVar(&f.store, "store", "", "serve's store: postgres://... or dir:PATH (default: "+envServeStore+")")
	fl.StringVar(&f.kekFile, "key-encryption-key", "", "the `FILE` of the key that seals keys in PostgreSQL, as serve's")
	f.poolConns, f.opTimeout, f.memoryBytes = 1, postgres.DefaultTimeout, store.DefaultMaxMemoryBytes
	_ = cmd.MarkFlagRequired("account")
	return cmd
}
