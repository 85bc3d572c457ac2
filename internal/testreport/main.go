// Command testreport reads "go test -json" on standard input and prints
// what a person reads of a test run: each package's result line, the
// output of the tests that failed, and the tests that were skipped, each
// with its reason, so that nothing skips silently. It exits 1 when a test
// or a build failed.
//
//	go test -json ./... | go run ./internal/testreport -skips S -failures F
//	go run ./internal/testreport -summary S -failures F
//
// -skips and -failures append the skipped and the failed tests to files,
// so that several runs (the module's, compat's, bench's) go on after one
// fails and are summed up once at the end by -summary, which prints them,
// removes the files, and exits 1 when anything failed. A run that failed
// without a test to blame (go test's own error) is recorded by its caller
// appending a line to the failures file.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action, Package, Test, Output, ImportPath string
	Elapsed                                   float64
}

// maxLine bounds one line of the stream: a test's output line may be long.
const maxLine = 16 << 20

func main() {
	skips := flag.String("skips", "", "append the skipped tests to this `FILE`")
	failures := flag.String("failures", "", "append the failed tests to this `FILE`")
	summary := flag.String("summary", "", "print the skipped tests of this `FILE` (and the failed ones of -failures), remove both, and exit 1 if anything failed")
	flag.Parse()
	if *summary != "" {
		os.Exit(printSummary(os.Stdout, *summary, *failures))
	}
	failed, skipped, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	for file, lines := range map[string][]string{*skips: skipped, *failures: failed} {
		if err := appendLines(file, lines); err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			os.Exit(1)
		}
	}
	if len(failed) > 0 {
		os.Exit(1)
	}
}

// appendLines appends lines to file, if both are given.
func appendLines(file string, lines []string) error {
	if file == "" || len(lines) == 0 {
		return nil
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, strings.Join(lines, "\n")+"\n")
	return errors.Join(err, f.Close())
}

// report prints the run's results as they come and returns the failed
// tests ("package Test", or "package (build failed)") and the skipped ones
// ("package Test: reason").
func report(r io.Reader, w io.Writer) (failed, skipped []string, err error) {
	outputs := map[string][]string{} // by package and test, until it ends
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 64<<10), maxLine)
	for in.Scan() {
		line := in.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || e.Action == "" {
			fmt.Fprintf(w, "%s\n", line) // not an event: go's own message
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output", "build-output":
			outputs[key] = append(outputs[key], e.Output)
			continue
		case "build-fail":
			failed = append(failed, e.ImportPath+" (build failed)")
			fmt.Fprint(w, strings.Join(outputs[e.ImportPath+" "], ""))
			fmt.Fprint(w, strings.Join(outputs[" "], ""))
			continue
		case "fail":
			if e.Test != "" {
				failed = append(failed, e.Package+" "+e.Test)
			} else if !slices.ContainsFunc(failed, func(f string) bool { return strings.HasPrefix(f, e.Package+" ") }) {
				failed = append(failed, e.Package+" (no test to blame: a panic, a timeout, or TestMain)")
			}
			fmt.Fprint(w, strings.Join(outputs[key], "")) // a test's output, or the package's "FAIL pkg"
		case "skip":
			if e.Test != "" {
				skipped = append(skipped, e.Package+" "+e.Test+": "+reason(outputs[key]))
			} else {
				fmt.Fprint(w, strings.Join(outputs[key], "")) // "?   pkg [no test files]"
			}
		case "pass":
			if e.Test == "" {
				fmt.Fprint(w, lastLines(outputs[key]))
			}
		default:
			continue
		}
		delete(outputs, key)
	}
	return failed, skipped, in.Err()
}

// lastLines is a package's result line ("ok  pkg 1.2s"), without the
// "PASS" before it.
func lastLines(out []string) string {
	var b strings.Builder
	for _, l := range out {
		if strings.TrimSpace(l) != "PASS" {
			b.WriteString(l)
		}
	}
	return b.String()
}

// reason is why a test skipped: its last line of output before the
// "--- SKIP" line, without the file:line prefix.
func reason(out []string) string {
	why := "no reason given"
	for _, l := range out {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		if _, rest, ok := strings.Cut(t, ".go:"); ok {
			if _, msg, ok := strings.Cut(rest, ": "); ok {
				t = msg
			}
		}
		why = t
	}
	return why
}

// printSummary prints the skipped tests of skipsFile and the failed ones
// of failuresFile, one a line, removes both, and returns the exit code: 1
// when anything failed.
func printSummary(w io.Writer, skipsFile, failuresFile string) int {
	code := 0
	for _, part := range []struct{ file, what string }{{skipsFile, "skipped"}, {failuresFile, "failed"}} {
		if part.file == "" {
			continue
		}
		data, err := os.ReadFile(part.file)
		if err != nil && !os.IsNotExist(err) {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			return 1
		}
		var lines []string
		for l := range strings.Lines(string(data)) {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			fmt.Fprintf(w, "%s: none\n", part.what)
			continue
		}
		if part.what == "failed" {
			code = 1
		}
		sort.Strings(lines)
		fmt.Fprintf(w, "%s: %d\n", part.what, len(lines))
		for _, l := range lines {
			fmt.Fprintln(w, "  "+l)
		}
		_ = os.Remove(part.file)
	}
	return code
}
