package streamtoken_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"maps"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/streamtoken/streamtoken/gen"
	"golang.org/x/tools/go/packages"
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

// Package webhook depends on the standard library alone: any program can
// verify a notification without the client or the generated code.
func TestWebhookLinksTheStandardLibraryAlone(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./webhook").Output()
	if err != nil {
		t.Fatalf("go list -deps ./webhook: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/streamtoken/streamtoken/webhook" {
			t.Errorf("package webhook links %s", dep)
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
	// The path parameters' names too: gen.ParamAccountID and the others.
	for _, r := range gen.Routes() {
		for _, m := range regexp.MustCompile(`\{([a-z_]+)\}`).FindAllStringSubmatch(r.Path, -1) {
			segments[m[1]] = true
		}
	}
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
				t.Errorf("%s: %q is a path segment or parameter: take it from gen (its routes, its Param constants)", fset.Position(lit.Pos()), s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The server's files stand on one another without a cycle: a file uses
// what files below it declare (a type, a function, a method, a field),
// never what a file that uses it declares. A cycle means two files hold
// one concern between them; move the shared piece below both (the
// answers several services give live in envelope.go). And the layers are
// declared (serverLayers): blocks, services, composition, each file in
// one, and no reference goes up them.
func TestServerFilesHaveNoCycle(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to load the package with")
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo}
	pkgs, err := packages.Load(cfg, "./server")
	if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
		t.Fatalf("loading ./server: %v %v", err, pkgs)
	}
	pkg := pkgs[0]
	uses := map[string]map[string]string{} // file -> file it uses -> a name it uses there
	for _, f := range pkg.Syntax {
		from := filepath.Base(pkg.Fset.Position(f.Pos()).Filename)
		uses[from] = map[string]string{}
		ast.Inspect(f, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok {
				return true
			}
			obj := pkg.TypesInfo.Uses[id]
			if obj == nil || obj.Pkg() != pkg.Types {
				return true
			}
			if v, ok := obj.(*types.Var); obj.Parent() != pkg.Types.Scope() && (!ok || !v.IsField()) {
				if _, method := obj.(*types.Func); !method {
					return true // a local name
				}
			}
			if to := filepath.Base(pkg.Fset.Position(obj.Pos()).Filename); to != from {
				uses[from][to] = id.Name
			}
			return true
		})
	}
	// A depth-first walk: a file met again while still on the path closes
	// a cycle.
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var walk func(string)
	walk = func(f string) {
		state[f] = onPath
		path = append(path, f)
		for _, to := range slices.Sorted(maps.Keys(uses[f])) {
			switch state[to] {
			case onPath:
				cycle := append(slices.Clone(path[slices.Index(path, to):]), to)
				var steps []string
				for i := 0; i+1 < len(cycle); i++ {
					steps = append(steps, fmt.Sprintf("%s uses %s of %s", cycle[i], uses[cycle[i]][cycle[i+1]], cycle[i+1]))
				}
				t.Errorf("server/ files in a cycle: %s", strings.Join(steps, "; "))
			case unseen:
				walk(to)
			}
		}
		path = path[:len(path)-1]
		state[f] = done
	}
	for _, f := range slices.Sorted(maps.Keys(uses)) {
		if state[f] == unseen {
			walk(f)
		}
	}
	// The layers, lowest first: a file uses files of its own layer or
	// lower ones, never a higher one. A file of no layer fails too, so
	// that each new one is placed.
	layerOf := map[string]int{}
	for level, files := range serverLayers {
		for _, f := range files.files {
			layerOf[f] = level
		}
	}
	for _, from := range slices.Sorted(maps.Keys(uses)) {
		lf, ok := layerOf[from]
		if !ok {
			t.Errorf("server/%s is in no layer of serverLayers: place it", from)
			continue
		}
		for _, to := range slices.Sorted(maps.Keys(uses[from])) {
			if lt, ok := layerOf[to]; ok && lt > lf {
				t.Errorf("server/%s (%s) uses %s of %s (%s): a reference up the layers", from, serverLayers[lf].name, uses[from][to], to, serverLayers[lt].name)
			}
		}
	}
}

// serverLayers are server/'s files by layer, lowest first: the blocks a
// server of one's own takes, the services that serve the operations with
// them, and the composition of our own server.
var serverLayers = []struct {
	name  string
	files []string
}{
	{"blocks", []string{"doc.go", "envelope.go", "errorhandlers.go", "auth.go", "credentials.go", "check.go", "checkmemo.go", "checktypes.go",
		"queue.go", "cache.go", "bodyrate.go", "listener.go", "rlimit_unix.go", "rlimit_other.go", "jwks.go", "docs.go", "tracing.go",
		"storerefusals.go", "metrics.go", "existence.go", "operations.go", "media.go", "header.go"}},
	{"services", []string{"signers.go", "tokenservice.go", "keyservice.go"}},
	{"composition", []string{"server.go"}},
}

// The core (package server) holds no media code: token issuance, key
// sets, authentication, the queue, the cache and metrics are its own; the
// details of videos and live inputs, their lists and uploads are the
// stand-in's (package standin), which the core composes through
// server.Media and asks through server.VideoChecker alone. A reference
// from server/ to the store's media half, or to the wire types of the
// media operations, fails this.
func TestTheCoreHoldsNoMediaCode(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to load the package with")
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports}
	pkgs, err := packages.Load(cfg, "./server")
	if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
		t.Fatalf("loading ./server: %v %v", err, pkgs)
	}
	pkg := pkgs[0]
	for path := range pkg.Imports {
		if strings.HasSuffix(path, "/standin") {
			t.Errorf("server imports %s", path)
		}
	}
	storeMedia := map[string]bool{"Media": true, "MediaStore": true, "Kind": true, "Video": true, "LiveInput": true,
		"ErrMediaLimit": true, "ErrNoSuchMedium": true, "ErrTooLarge": true, "MaxMediaPerAccount": true, "MaxDetailsBytes": true,
		"CheckDetails": true, "DefaultAccountMediaBytes": true, "Store": true}
	mediaFiles := map[string]bool{"filter.go": true, "list.go": true} // the store's media half, whole
	wireMedia := regexp.MustCompile(`Video|LiveInput|Upload|Media`)
	for id, obj := range pkg.TypesInfo.Uses {
		if obj.Pkg() == nil {
			continue
		}
		where := pkg.Fset.Position(id.Pos())
		switch obj.Pkg().Path() {
		case "github.com/streamtoken/streamtoken/store":
			if storeMedia[obj.Name()] || mediaFiles[filepath.Base(pkg.Fset.Position(obj.Pos()).Filename)] {
				t.Errorf("%s: the core uses store.%s, of the media", where, obj.Name())
			}
		case "github.com/streamtoken/streamtoken/gen":
			if wireMedia.MatchString(obj.Name()) && obj.Name() != "MediaOperations" {
				t.Errorf("%s: the core uses gen.%s, of the media operations", where, obj.Name())
			}
		}
	}
}
