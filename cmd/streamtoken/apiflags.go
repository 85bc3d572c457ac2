package main

import (
	"strings"

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
	creds, err := credentialsFromEnv(e)
	if err != nil {
		return nil, err
	}
	// The credentials alone first: a bad one names its variable, not
	// --base-url.
	if _, err := streamtoken.NewClient(creds); err != nil {
		return nil, badInput("%s: %s", credentialsVar(e), strings.TrimPrefix(err.Error(), "streamtoken: "))
	}
	opts := append([]streamtoken.Option{creds}, more...)
	if f.base != "" {
		opts = append(opts, streamtoken.WithBaseURL(f.base))
	}
	c, err := streamtoken.NewClient(opts...)
	if err != nil {
		return nil, badInput("--base-url: %v", err)
	}
	return c, nil
}

// credentialsVar names the variable the credentials came from.
func credentialsVar(e env) string {
	if e.getenv(streamtoken.EnvAPIToken) != "" {
		return streamtoken.EnvAPIToken
	}
	return streamtoken.EnvEmail + " and " + streamtoken.EnvAPIKey
}

// credentialsFromEnv reads CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL with
// CLOUDFLARE_API_KEY.
func credentialsFromEnv(e env) (streamtoken.Option, error) {
	if t := e.getenv(streamtoken.EnvAPIToken); t != "" {
		return streamtoken.WithAPIToken(t), nil
	}
	email, key := e.getenv(streamtoken.EnvEmail), e.getenv(streamtoken.EnvAPIKey)
	switch {
	case email != "" && key != "":
		return streamtoken.WithAPIKey(email, key), nil
	case email != "" || key != "":
		return nil, badInput("%s and %s must be set together", streamtoken.EnvEmail, streamtoken.EnvAPIKey)
	}
	return nil, badInput("no credentials: set %s, or %s and %s", streamtoken.EnvAPIToken, streamtoken.EnvEmail, streamtoken.EnvAPIKey)
}
