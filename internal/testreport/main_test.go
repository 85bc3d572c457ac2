package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const stream = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:12: official schema excerpt not found at ../shared\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestB"}
{"Action":"run","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:3: want 1, got 2\n"}
{"Action":"output","Package":"p","Test":"TestC","Output":"--- FAIL: TestC (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Output":"FAIL\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.01s\n"}
{"Action":"fail","Package":"p"}
{"Action":"output","Package":"q","Output":"ok  \tq\t0.02s\n"}
{"Action":"pass","Package":"q"}
`

func TestReport(t *testing.T) {
	var out strings.Builder
	failed, skipped, err := report(strings.NewReader(stream), &out)
	if err != nil || !slices.Equal(failed, []string{"p TestC"}) {
		t.Fatalf("report() = failed %q, %v; want p TestC alone", failed, err)
	}
	if len(skipped) != 1 || skipped[0] != "p TestB: official schema excerpt not found at ../shared" {
		t.Errorf("skipped = %q", skipped)
	}
	got := out.String()
	for _, want := range []string{"want 1, got 2", "--- FAIL: TestC", "FAIL\tp\t0.01s", "ok  \tq\t0.02s"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "TestA") {
		t.Errorf("a passing test's output is shown:\n%s", got)
	}
}

func TestReportPasses(t *testing.T) {
	failed, _, err := report(strings.NewReader(`{"Action":"output","Package":"q","Output":"ok  \tq\t0.02s\n"}
{"Action":"pass","Package":"q"}
`), &strings.Builder{})
	if len(failed) > 0 || err != nil {
		t.Errorf("report(a pass) = failed %q, %v", failed, err)
	}
}

// A package that fails with no failed test (a panic in TestMain, a
// timeout) and a build failure are failures too.
func TestReportBlamesPackagesAndBuilds(t *testing.T) {
	failed, _, err := report(strings.NewReader(`{"Action":"output","Package":"r","Output":"panic: boom\n"}
{"Action":"fail","Package":"r"}
{"ImportPath":"s [s.test]","Action":"build-output","Output":"s/x.go:1: syntax error\n"}
{"ImportPath":"s [s.test]","Action":"build-fail"}
`), &strings.Builder{})
	want := []string{"r (no test to blame: a panic, a timeout, or TestMain)", "s [s.test] (build failed)"}
	if err != nil || !slices.Equal(failed, want) {
		t.Errorf("report() = failed %q, %v; want %q", failed, err, want)
	}
}

// The summary of several runs lists every failure and skip, and fails when
// one run did.
func TestSummary(t *testing.T) {
	dir := t.TempDir()
	skips, failures := filepath.Join(dir, "skips"), filepath.Join(dir, "failures")
	for file, lines := range map[string][]string{skips: {"p TestB: why"}, failures: {"p TestC", "compat: go test exited 1"}} {
		if err := appendLines(file, lines); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	if code := printSummary(&out, skips, failures); code != 1 {
		t.Errorf("printSummary(a failure) = %d, want 1", code)
	}
	for _, want := range []string{"skipped: 1\n  p TestB: why\n", "failed: 2\n  compat: go test exited 1\n  p TestC\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(failures); !os.IsNotExist(err) {
		t.Errorf("the failures file is left behind: %v", err)
	}
	out.Reset()
	if code := printSummary(&out, skips, failures); code != 0 || out.String() != "skipped: none\nfailed: none\n" {
		t.Errorf("printSummary(nothing) = %d, %q", code, out.String())
	}
}
