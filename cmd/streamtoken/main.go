// Command streamtoken mints, checks and serves Cloudflare Stream signed URL
// tokens: create calls the API, sign signs locally with a signing key,
// verify and inspect read tokens, serve runs a Cloudflare-compatible token
// server. Run "streamtoken help" for the commands.
//
// Exit codes: 0 success; 1 an API or network failure; 2 bad input (flags,
// files, keys, a request that fails validation); 6 audit found media that
// are not protected; verify has its own codes for a token that is not good
// (see "streamtoken verify --help").
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
)

// Exit codes shared by every command.
const (
	exitOK       = 0
	exitFailure  = 1 // the API or the network failed
	exitBadInput = 2 // flags, files, keys or a request that fails validation
)

// env is how commands read the environment: the one place that does.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// draining, when set, is called by a command that has something to
	// drain on a signal (serve, once it listens): from then on the first
	// SIGINT or SIGTERM cancels the command's context instead of ending
	// the process.
	draining func()
	// self is how the user runs this command, for the hints it prints: a
	// path as it was started by one (make run's ./bin/streamtoken), else
	// the name on PATH ("" is "streamtoken").
	self string
}

// command is how the user runs this command (see env.self).
func (e env) command() string {
	if e.self == "" {
		return "streamtoken"
	}
	return e.self
}

func main() {
	// Signals are handled before anything is loaded: until a command says
	// it can drain, a signal ends the process at once.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var graceful atomic.Bool
	go watchSignals(sigs, &graceful, cancel, os.Exit, os.Stderr)
	code := run(ctx, os.Args[1:], env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		draining: func() { graceful.Store(true) },
		self:     selfName(os.Args[0]),
	})
	cancel()
	os.Exit(code)
}

// selfName is how to run this command again: the path it was started by,
// when it was started by a path (./bin/streamtoken), else its name, found
// on PATH.
func selfName(arg0 string) string {
	if strings.ContainsRune(arg0, filepath.Separator) {
		return arg0
	}
	return "streamtoken"
}

// watchSignals acts on SIGINT and SIGTERM: the first cancels the context
// when the command can drain (graceful is set), else it exits at once; a
// second one always exits at once, ending a drain that takes too long.
func watchSignals(sigs <-chan os.Signal, graceful *atomic.Bool, cancel func(), exit func(int), stderr io.Writer) {
	for n := 0; ; n++ {
		sig, ok := <-sigs
		if !ok {
			return
		}
		if n == 0 && graceful.Load() {
			fmt.Fprintf(stderr, "streamtoken: %v: letting requests in flight finish; send it again to stop at once\n", sig)
			cancel()
			continue
		}
		fmt.Fprintf(stderr, "streamtoken: %v: stopping at once\n", sig)
		exit(signalExitCode(sig))
		return
	}
}

// signalExitCode is the shell's code for a process ended by sig.
func signalExitCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitFailure
}

// run executes the command line args and returns the exit code. Errors are
// printed on one line to stderr.
func run(ctx context.Context, args []string, e env) int {
	ctx, cancel := context.WithCancel(ctx) // ends what the command started, --timeout's timer among them
	defer cancel()
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
	fmt.Fprintln(e.stderr, "streamtoken: "+oneLine(trimPrefix(err)))
	return code
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
