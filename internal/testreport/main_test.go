package main

import (
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
	if err != nil || !failed {
		t.Fatalf("report() = failed %v, %v", failed, err)
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
	if failed || err != nil {
		t.Errorf("report(a pass) = failed %v, %v", failed, err)
	}
}
