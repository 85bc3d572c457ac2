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
      x-streamtoken-service: Token
    parameters: []
  /.well-known/x.json:
    servers: [{url: /}]
    get:
      operationId: getX
`
	ops, err := operations([]byte(spec))
	if err != nil || len(ops) != 2 || ops[0].Name != "GetB" || ops[0].Method != "GET" || ops[0].Root || ops[0].Service != "Token" || !ops[1].Root {
		t.Fatalf("operations() = %+v, %v", ops, err)
	}
	src, err := source(ops)
	for _, want := range []string{
		`return "/a/" + url.PathEscape(accountID) + "/b"`,
		"func GetXPath() string",
		"type TokenOperations interface {\n\t// GetB is GET /a/{account_id}/b.\n\tGetB(ctx context.Context, request GetBRequestObject) (GetBResponseObject, error)\n}",
		"type Operations interface {\n\tTokenOperations\n}",
	} {
		if err != nil || !strings.Contains(string(src), want) {
			t.Errorf("source() = %s, %v; want it to hold %s", src, err, want)
		}
	}
	for name, bad := range map[string]string{
		"no operationId":       "paths:\n  /a:\n    get: {x-streamtoken-service: A}\n",
		"a name twice":         "paths:\n  /a:\n    get: {operationId: x, x-streamtoken-service: A}\n  /b:\n    get: {operationId: x, x-streamtoken-service: A}\n",
		"no service":           "paths:\n  /a:\n    get: {operationId: x}\n",
		"a service not a name": "paths:\n  /a:\n    get: {operationId: x, x-streamtoken-service: token}\n",
		"a root one's service": "paths:\n  /a:\n    servers: [{url: /}]\n    get: {operationId: x, x-streamtoken-service: A}\n",
	} {
		if _, err := operations([]byte(bad)); err == nil {
			t.Errorf("operations(%s) = nil error", name)
		}
	}
}
