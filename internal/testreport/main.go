// Command testreport reads "go test -json" on standard input and prints
// what a person reads of a test run: each package's result line, the
// output of the tests that failed, and the tests that were skipped, each
// with its reason, so that nothing skips silently. It exits 1 when a test
// or a build failed.
//
//	go test -json ./... | go run ./internal/testreport -skips skipped.txt
//	go run ./internal/testreport -summary skipped.txt
//
// -skips appends the skipped tests to a file, so that several runs (the
// module's, compat's, bench's) are summed up once at the end by -summary,
// which prints them and removes the file.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
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
	summary := flag.String("summary", "", "print the skipped tests of this `FILE`, then remove it")
	flag.Parse()
	if *summary != "" {
		os.Exit(printSummary(os.Stdout, *summary))
	}
	failed, skipped, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(1)
	}
	if *skips != "" && len(skipped) > 0 {
		f, err := os.OpenFile(*skips, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = io.WriteString(f, strings.Join(skipped, "\n")+"\n")
			err = errorsJoin(err, f.Close())
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			os.Exit(1)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// report prints the run's results as they come and returns whether
// anything failed and the skipped tests ("package Test: reason").
func report(r io.Reader, w io.Writer) (failed bool, skipped []string, err error) {
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
			failed = true
			fmt.Fprint(w, strings.Join(outputs[e.ImportPath+" "], ""))
			fmt.Fprint(w, strings.Join(outputs[" "], ""))
			continue
		case "fail":
			failed = true
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

// printSummary prints the skipped tests of file, one a line, and removes
// it.
func printSummary(w io.Writer, file string) int {
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		fmt.Fprintln(w, "skipped: none")
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		return 1
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	sort.Strings(lines)
	fmt.Fprintf(w, "skipped: %d\n", len(lines))
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
	_ = os.Remove(file)
	return 0
}
