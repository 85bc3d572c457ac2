package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/streamtoken/streamtoken"
	"github.com/streamtoken/streamtoken/internal/files"
	"github.com/streamtoken/streamtoken/token"
)

// The helpers more than one command uses: how a command fails (an exit
// code with a one-line message), and what several commands read or print
// alike.

// exitError carries an exit code with the one-line message for stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func (e *exitError) Unwrap() error { return e.err }

// badInput is a refusal of the command's input (exit 2): its message names
// the flag, argument or variable at fault.
func badInput(format string, args ...any) error {
	return &exitError{code: exitBadInput, err: fmt.Errorf(format, args...)}
}

// failure is a failure of the API or the network (exit 1).
func failure(err error) error { return &exitError{code: exitFailure, err: err} }

// unwrapExit is the message of err without its exit code, for a caller
// that words it anew.
func unwrapExit(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.err
	}
	return err
}

// apiFailure maps a client error onto an exit code: a request the client or
// the API found invalid is bad input; the rest is an API or network failure.
// An API's answer is said as the Go client says it: method and URL, status,
// the envelope's codes and messages, and its hint, attempts and cf-ray.
func apiFailure(err error, src ruleSource, keyFlags map[string]string) error {
	var apiErr *streamtoken.APIError
	switch {
	case errors.Is(err, streamtoken.ErrInvalid) && !errors.As(err, &apiErr):
		return invalidInput(err, src, keyFlags)
	case errors.Is(err, streamtoken.ErrInvalid):
		return badInput("%v", err)
	}
	return failure(err)
}

// exactArgs is cobra.ExactArgs with a message naming the argument.
func exactArgs(n int, name string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return badInput("want exactly one %s argument, got %d", name, len(args))
		}
		return nil
	}
}

// trimPrefix drops the library's "streamtoken: " from an error: the CLI
// says its name once, first.
func trimPrefix(err error) string {
	return strings.TrimPrefix(err.Error(), "streamtoken: ")
}

// tokenArg is a TOKEN argument: the token itself, or - to read it from
// standard input (at most 1 MiB).
func tokenArg(e env, arg string) (string, error) {
	if arg != "-" {
		return strings.TrimSpace(arg), nil
	}
	data, err := files.ReadAll("standard input", e.stdin)
	if err != nil {
		return "", badInput("TOKEN: %v", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", badInput("TOKEN: standard input is empty")
	}
	return tok, nil
}

// readSigningKey reads a private key file in any form token reads, given
// by flag (which errors name); kid, when given, names it. Unlike serve's
// key, whose ID the server publishes, a key here must carry its ID or be
// given one: a token's kid is how Cloudflare finds the key that checks it.
func readSigningKey(flag, path, kid string) (*token.Key, error) {
	if kid != "" {
		if err := token.CheckKeyID(kid); err != nil {
			return nil, badInput("--key-id: %v", err)
		}
	}
	key, err := token.ReadPrivateKey(path)
	if err != nil {
		return nil, badInput("%s: %v", flag, err)
	}
	if kid != "" {
		key.ID = kid
	}
	if key.ID == "" {
		return nil, badInput("--key-id: %v", token.ErrNoKeyID)
	}
	return key, nil
}

// warnIfLoose warns about a secret file that group or others may read.
func warnIfLoose(logger *slog.Logger, flag, path string) {
	if files.LooseMode(path) {
		logger.Warn("a secret file is readable by group or others: chmod 600 it", "flag", flag, "file", path)
	}
}

// compact returns raw as JSON for embedding, or as a JSON string when it is
// not JSON.
func compact(raw []byte) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.Bytes()
	}
	s, _ := json.Marshal(string(raw))
	return s
}

// utc is a time as the commands print it: RFC 3339, in UTC.
func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// videoArg takes the video of a token command: its VIDEO argument, or
// --video, the same by the flag's name; one of the two.
func videoArg(video *string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		flag := cmd.Flags().Changed("video")
		switch {
		case len(args) > 1:
			return badInput("want one VIDEO argument, got %d", len(args))
		case len(args) == 1 && flag:
			return badInput("VIDEO: given twice, as the argument and as --video")
		case len(args) == 1:
			*video = args[0]
		case !flag:
			return badInput("VIDEO: required (the video's ID, as the argument or --video)")
		}
		return nil
	}
}
