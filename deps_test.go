package streamtoken_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The typed client must stay lean: importing it links no OpenAPI loader,
// JSON Schema validator or YAML parser (the spec lives in package openapi,
// which only servers import).
func TestClientLinksNoSpecMachinery(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps .: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/getkin/kin-openapi", "github.com/santhosh-tekuri/jsonschema", "go.yaml.in/yaml", "gopkg.in/yaml", "golang.org/x/text/message"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("the client package links %s", dep)
			}
		}
	}
}

// The PostgreSQL driver is linked by those who use the PostgreSQL store
// (and the command line), not by the client, the server's package, nor the
// store package's memory and directory stores.
func TestOnlyThePostgreSQLStoreLinksPgx(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	for _, pkg := range []string{".", "./server", "./store", "./streamtokentest", "./token"} {
		out, err := exec.Command(goTool, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/jackc/") {
				t.Errorf("%s links %s", pkg, dep)
			}
		}
	}
}
