package server_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamtoken/streamtoken/openapi"
	"github.com/streamtoken/streamtoken/server"
)

// /docs and its script come from the server, with a policy that keeps the
// page's every request on it.
func TestDocsAreServed(t *testing.T) {
	base, _ := start(t, server.Config{})
	page := do(t, http.MethodGet, base+"/docs", nil)
	if page.Status != 200 || !strings.Contains(page.Raw, `<redoc spec-url="/openapi.json">`) ||
		!strings.Contains(page.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("GET /docs = %d %v %.200s", page.Status, page.Header, page.Raw)
	}
	if js := do(t, http.MethodGet, base+"/docs/redoc.standalone.js", nil); js.Status != 200 || len(js.Raw) < 500_000 {
		t.Errorf("GET /docs/redoc.standalone.js = %d, %d bytes", js.Status, len(js.Raw))
	}
	if r := do(t, http.MethodGet, base+"/docs/../openapi.json", nil); r.Status == 200 && strings.Contains(r.Raw, "redoc") {
		t.Errorf("a path out of /docs served %d", r.Status)
	}
}

// A real browser (headless Chromium) renders /docs with every operation of
// the spec; the screenshot is kept as a test artefact. CI installs
// Chromium and sets STREAMTOKEN_REQUIRE_CHROMIUM, so that this never
// skips there.
func TestDocsInABrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser; not with -short")
	}
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		if os.Getenv("STREAMTOKEN_REQUIRE_CHROMIUM") != "" {
			t.Fatal("no Chromium, and STREAMTOKEN_REQUIRE_CHROMIUM is set (apt-get install chromium)")
		}
		t.Skip("no Chromium on PATH (apt-get install chromium to run it)")
	}
	base, _ := start(t, server.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	chromium := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(ctx, browser, append([]string{"--headless", "--no-sandbox", "--disable-gpu",
			"--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--virtual-time-budget=15000"}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", browser, err)
		}
		return out
	}
	dom := string(chromium("--dump-dom", base+"/docs"))
	spec, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			if op.Summary == "" || !strings.Contains(dom, op.Summary) {
				t.Errorf("%s %s (%q) is not on the rendered page", method, path, op.Summary)
			}
		}
	}
	if n < 10 {
		t.Errorf("the spec has %d operations", n)
	}
	dir := os.Getenv("STREAMTOKEN_ARTEFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "streamtoken-artefacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "docs.png")
	chromium("--window-size=1280,1400", "--screenshot="+shot, base+"/docs")
	if info, err := os.Stat(shot); err != nil || info.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("the screenshot of /docs: %s", shot)
}
