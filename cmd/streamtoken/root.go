package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/internal/suggest"
	"github.com/streamtoken/streamtoken/token"
)

func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "streamtoken",
		Short: "Mint, check and serve Cloudflare Stream signed URL tokens",
		Long: `streamtoken mints, checks and serves Cloudflare Stream signed URL tokens.

Exit codes: 0 success, 1 an API or network failure, 2 bad input; verify
has its own (3 to 5, see its help), and audit 6 when media are not
protected, 7 when it could not see them all.`,
		Version:       streamtoken.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var timeout time.Duration
	var stopTimeout context.CancelFunc
	root.PersistentFlags().DurationVar(&timeout, "timeout", 0, fmt.Sprintf("bounds the whole command (not given: %v, %v for healthcheck, and none for audit, serve and guard, whose calls are many or which serve; 0: none); each API call is bounded by %v besides, retries and waits included", defaultTimeout, healthTimeout, callTimeout))
	root.PersistentFlags().String("crypto", string(token.CryptoAuto), "RSA implementation: auto (OpenSSL's libcrypto where it loads, else Go's), openssl or go (never loads libcrypto); or "+envCrypto)
	root.PersistentPostRun = func(*cobra.Command, []string) {
		if stopTimeout != nil {
			stopTimeout()
		}
	}
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		d := timeout
		switch given := cmd.Flags().Changed("timeout"); {
		case d < 0:
			return badInput("--timeout %v: want 0 (none) or more", d)
		case !given && (cmd.Name() == "audit" || cmd.Name() == "serve" || cmd.Name() == "guard"):
			d = 0
		case !given && cmd.Name() == "healthcheck":
			d = healthTimeout
		case !given:
			d = defaultTimeout
		}
		if d > 0 {
			ctx, cancel := context.WithTimeoutCause(cmd.Context(), d, fmt.Errorf("the command's --timeout of %v ran out", d))
			cmd.SetContext(ctx)
			stopTimeout = cancel // and run's own end releases it when the command fails
		}
		choice, _ := cmd.Flags().GetString("crypto")
		if v := e.getenv(envCrypto); v != "" && !cmd.Flags().Changed("crypto") {
			choice = v
			_ = cmd.Flags().Set("crypto", v)
		}
		if token.Crypto(choice) == token.CryptoAuto {
			return nil // resolved by each signer the command makes, if any: a command that signs nothing loads nothing
		}
		_, _, err := chooseCrypto(choice)
		return err
	}
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(newCreateCmd(e), newSignCmd(e), newVerifyCmd(e), newInspectCmd(e), newKeysCmd(e), newMediaCmd(e, videoKind), newMediaCmd(e, liveInputKind), newAuditCmd(e), newServeCmd(e), newWebhookCmd(e), newGuardCmd(e), newHealthcheckCmd(e), newVersionCmd(e))
	return root
}

// defaultTimeout bounds a whole command unless --timeout says otherwise
// (audit and serve have none); callTimeout bounds each API call, retries
// and waits included.
const (
	defaultTimeout = 60 * time.Second
	callTimeout    = 60 * time.Second
)

// envCrypto is the variable that chooses the RSA implementation when
// --crypto is not given, in every command.
const envCrypto = "STREAMTOKEN_CRYPTO"

// chooseCrypto resolves choice (auto, openssl or go, as --crypto or
// STREAMTOKEN_CRYPTO gives it) to the RSA the command's signers use, and
// its version: token.ResolveCrypto, refusing as bad input what it cannot
// be. "go" never loads libcrypto.
func chooseCrypto(choice string) (token.Crypto, string, error) {
	switch token.Crypto(choice) {
	case token.CryptoAuto, token.CryptoOpenSSL, token.CryptoGo:
	default:
		return "", "", badInput("--crypto %q: want auto, openssl or go", choice)
	}
	use, version, err := token.ResolveCrypto(token.Crypto(choice))
	if err != nil {
		return "", "", badInput("--crypto openssl: %v; --crypto auto or go signs with Go's crypto/rsa", err)
	}
	return use, version, nil
}

// cryptoOf is the command's --crypto (STREAMTOKEN_CRYPTO applied), for
// its signers: token.WithCrypto of it.
func cryptoOf(cmd *cobra.Command) token.SignerOption {
	choice, _ := cmd.Flags().GetString("crypto")
	return token.WithCrypto(token.Crypto(choice))
}

// flagError is a flag's error as bad input, with the flag the mistyped one
// was likely meant to be: "unknown flag: --video-id (did you mean
// --video?)".
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		var names []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, f.Name)
			}
		})
		if want := suggest.Flag(name, names); want != "" {
			msg += " (did you mean --" + want + "?)"
		}
	}
	return badInput("%s", msg)
}
