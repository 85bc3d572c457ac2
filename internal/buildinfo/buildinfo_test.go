package buildinfo

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestFromBuildInfo(t *testing.T) {
	settings := []debug.BuildSetting{{Key: "vcs.revision", Value: "7495dc2"}, {Key: "vcs.time", Value: "2026-11-30T09:00:00Z"}, {Key: "vcs.modified", Value: "true"}}
	for _, c := range []struct {
		name string
		bi   debug.BuildInfo
		want Info
	}{
		{"the command, from a checkout", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: Module, Version: "v0.0.0-20261130090000-7495dc2abcde+dirty"}, Settings: settings},
			Info{Version: "v0.0.0-20261130090000-7495dc2abcde+dirty", Revision: "7495dc2", Time: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), Modified: true, GoVersion: "go1.26.0"}},
		{"the command, go install @v1.2.3", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: Module, Version: "v1.2.3"}},
			Info{Version: "v1.2.3", GoVersion: "go1.26.0"}},
		{"no version stamped", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: Module, Version: "(devel)"}},
			Info{Version: "devel", GoVersion: "go1.26.0"}},
		{"a program that imports the library", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "example.com/app", Version: "v9"},
			Deps: []*debug.Module{{Path: "golang.org/x/text", Version: "v0.1.0"}, {Path: Module, Version: "v1.4.0"}}, Settings: settings},
			Info{Version: "v1.4.0", GoVersion: "go1.26.0"}},
		{"a replaced library", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "example.com/app"},
			Deps: []*debug.Module{{Path: Module, Version: "v1.4.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.4.1"}}}},
			Info{Version: "v1.4.1", GoVersion: "go1.26.0"}},
	} {
		if got := fromBuildInfo(&c.bi); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestReadAndUserAgent(t *testing.T) {
	info := Read()
	if info.Version == "" || !strings.HasPrefix(info.GoVersion, "go") {
		t.Errorf("Read() = %+v", info)
	}
	if ua := (Info{Version: "v1.2.3"}).UserAgent(); ua != "streamtoken/v1.2.3 (+https://github.com/streamtoken/streamtoken)" {
		t.Errorf("UserAgent() = %q", ua)
	}
}

// The release names its binary's version as it names its archive: the
// linker flag .goreleaser.yaml sets is the variable Read reads first.
func TestTheReleaseStampsTheVersion(t *testing.T) {
	goreleaser, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Skipf("no .goreleaser.yaml beside (not a clone): %v", err)
	}
	const flag = "-X " + Module + "/internal/buildinfo.release={{.Version}}"
	if !strings.Contains(string(goreleaser), flag) {
		t.Errorf(".goreleaser.yaml's ldflags lack %q", flag)
	}
	release = "v9.9.9-snapshot"
	defer func() { release = "" }()
	if got := Read().Version; got != "v9.9.9-snapshot" {
		t.Errorf("Read().Version with the release's stamp = %q, want it", got)
	}
}
