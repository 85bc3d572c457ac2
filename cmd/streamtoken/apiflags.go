package main

import (
	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
)

// apiFlags are the flags of every command that calls the API.
type apiFlags struct {
	account, base string
}

func (f *apiFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.account, "account", "", "the account `ID`")
	cmd.Flags().StringVar(&f.base, "base-url", "", "the API's base `URL` (default "+streamtoken.DefaultBaseURL+")")
	_ = cmd.MarkFlagRequired("account")
}

// client is a client with the environment's credentials, --base-url, and
// more options when given.
func (f *apiFlags) client(e env, more ...streamtoken.Option) (*streamtoken.Client, error) {
	creds := streamtoken.WithCredentialsFrom(e.getenv)
	// The credentials alone first: their errors name their variables,
	// and a bad one is not blamed on --base-url.
	if _, err := streamtoken.NewClient(creds); err != nil {
		return nil, badInput("%s", trimPrefix(err))
	}
	opts := append([]streamtoken.Option{creds, streamtoken.WithCallTimeout(callTimeout)}, more...)
	if f.base != "" {
		opts = append(opts, streamtoken.WithBaseURL(f.base))
	}
	c, err := streamtoken.NewClient(opts...)
	if err != nil {
		return nil, badInput("--base-url: %v", err)
	}
	return c, nil
}
