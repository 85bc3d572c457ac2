package streamtoken_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
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

// No route is written by hand: every operation's method and path come from
// the spec (gen/operations.gen.go). A one-line string literal in the code (not
// its tests, not help texts) that spells a path of the API's fails this.
func TestNoRouteWrittenByHand(t *testing.T) {
	fragments := []string{"/accounts/", "/stream/", "/.well-known/"}
	segments := map[string]bool{"stream": true}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (path == "gen" || path == "compat" || path == "internal/genops" || strings.HasPrefix(d.Name(), ".")) && path != ".":
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, ".gen.go"):
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if _, ok := n.(*ast.ImportSpec); ok {
				return false
			}
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING || strings.Contains(lit.Value, "\n") {
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			for _, frag := range fragments {
				if strings.Contains(s, frag) {
					t.Errorf("%s: %q spells a route: take it from gen's routes", fset.Position(lit.Pos()), s)
					break
				}
			}
			if segments[s] {
				t.Errorf("%s: %q is a path segment: take the path from gen's routes", fset.Position(lit.Pos()), s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
