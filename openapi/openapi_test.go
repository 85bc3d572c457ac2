package openapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/openapi"
)

func TestLoadGivesIndependentCopies(t *testing.T) {
	a, err := openapi.Load()
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	b, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	a.Paths.Set("/extra", a.Paths.Find("/accounts/{account_id}/stream/{identifier}/token"))
	if b.Paths.Find("/extra") != nil {
		t.Error("changing one loaded spec changed another")
	}
	if op := b.Paths.Find("/accounts/{account_id}/stream/{identifier}/token").GetOperation(http.MethodPost); op == nil || op.OperationID != "createStreamToken" {
		t.Errorf("the token operation is missing: %+v", op)
	}
	y := openapi.YAML()
	y[0] = 'X'
	if openapi.YAML()[0] == 'X' {
		t.Error("YAML() hands out the embedded bytes themselves")
	}
}

func TestParseRefusesInvalidSpecs(t *testing.T) {
	for name, doc := range map[string]string{
		"not YAML":           "openapi: [",
		"no info":            "openapi: 3.0.3\npaths: {}\n",
		"a dangling $ref":    "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n        '200': {$ref: '#/components/responses/Nope'}\n",
		"an invalid pattern": "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    S: {type: string, pattern: '('}\n",
	} {
		if _, err := openapi.Parse([]byte(doc)); err == nil || !strings.HasPrefix(err.Error(), "openapi: ") {
			t.Errorf("Parse(%s) = %v, want an error", name, err)
		}
	}
}
