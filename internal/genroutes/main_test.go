package main

import (
	"strings"
	"testing"
)

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{"account_id": "accountID", "identifier": "identifier", "live_input_identifier": "liveInputIdentifier", "id": "id"} {
		if got := goName(in); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOperations(t *testing.T) {
	spec := `
paths:
  /a/{account_id}/b:
    get:
      operationId: getB
    parameters: []
  /.well-known/x.json:
    servers: [{url: /}]
    get:
      operationId: getX
`
	ops, err := operations([]byte(spec))
	if err != nil || len(ops) != 2 || ops[0].Name != "GetB" || ops[0].Method != "GET" || ops[0].Root || !ops[1].Root {
		t.Fatalf("operations() = %+v, %v", ops, err)
	}
	src, err := source(ops)
	if err != nil || !strings.Contains(string(src), `return "/a/" + url.PathEscape(accountID) + "/b"`) || !strings.Contains(string(src), "func GetXPath() string") {
		t.Errorf("source() = %s, %v", src, err)
	}
	for name, bad := range map[string]string{
		"no operationId": "paths:\n  /a:\n    get: {}\n",
		"a name twice":   "paths:\n  /a:\n    get: {operationId: x}\n  /b:\n    get: {operationId: x}\n",
	} {
		if _, err := operations([]byte(bad)); err == nil {
			t.Errorf("operations(%s) = nil error", name)
		}
	}
}
