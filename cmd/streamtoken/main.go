// Command streamtoken mints, checks and serves Cloudflare Stream signed URL
// tokens: create calls the API, sign signs locally with a signing key,
// verify and inspect read tokens, serve runs a Cloudflare-compatible token
// server. Run "streamtoken help" for the commands.
//
// Exit codes: 0 success; 1 an API or network failure; 2 bad input (flags,
// files, keys, a request that fails validation); verify has its own codes
// for a token that is not good (see "streamtoken verify --help").
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes shared by every command.
const (
	exitOK       = 0
	exitFailure  = 1 // the API or the network failed
	exitBadInput = 2 // flags, files, keys or a request that fails validation
)

// exitError carries an exit code with the one-line message for stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return &exitError{code: exitBadInput, err: fmt.Errorf(format, args...)}
}

func failure(err error) error { return &exitError{code: exitFailure, err: err} }

// env is how commands read the environment: the one place that does.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code. Errors are
// printed on one line to stderr.
func run(ctx context.Context, args []string, e env) int {
	cmd := newRootCmd(e)
	cmd.SetArgs(args)
	cmd.SetIn(e.stdin)
	cmd.SetOut(e.stdout)
	cmd.SetErr(e.stderr)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitBadInput // cobra's own errors: unknown flags, missing arguments
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	fmt.Fprintln(e.stderr, "streamtoken: "+oneLine(strings.TrimPrefix(err.Error(), "streamtoken: ")))
	return code
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
