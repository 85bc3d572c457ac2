// Package buildinfo says which build of streamtoken is running, from the
// binary's own build information (runtime/debug.ReadBuildInfo): the
// module's version, the VCS revision and time it was built from, whether
// the tree had changes, and the Go version. Nothing is hard-coded: a
// release built from a tag says the tag, "go install …@v1.2.3" says
// v1.2.3, a build from a checkout says the go command's pseudo-version.
package buildinfo

import (
	"cmp"
	"runtime"
	"runtime/debug"
	"time"
)

// Module is streamtoken's module path.
const Module = "github.com/streamtoken/streamtoken"

// Info is a build's information.
type Info struct {
	// Version is the module's version as the go command stamped it
	// ("v1.2.3", a pseudo-version for a build from a checkout), or
	// "devel" when it stamped none.
	Version string `json:"version"`
	// Revision, Time and Modified are the VCS's, when the binary was built
	// from a checkout (empty, zero and false otherwise).
	Revision string    `json:"revision,omitempty"`
	Time     time.Time `json:"time,omitzero"`
	Modified bool      `json:"modified"`
	// GoVersion is the toolchain's version ("go1.26.0").
	GoVersion string `json:"go"`
}

// Read returns the running binary's build information: streamtoken's
// version whether it is the main module (the command line) or a
// dependency (a program that imports the library).
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: cmp.Or(release, "devel"), GoVersion: runtime.Version()}
	}
	info := fromBuildInfo(bi)
	info.Version = cmp.Or(release, info.Version)
	return info
}

// release is the version a release build names itself by, set by the
// release's linker flags (-X ...buildinfo.release={{.Version}}, in
// .goreleaser.yaml), so that a binary says the version its archive is
// named by; empty in every other build, which reads the go command's
// stamp.
var release string

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "devel", GoVersion: bi.GoVersion}
	if info.GoVersion == "" {
		info.GoVersion = runtime.Version()
	}
	mod := &bi.Main
	if mod.Path != Module {
		mod = nil
		for _, d := range bi.Deps {
			if d.Path == Module {
				mod = d
				if d.Replace != nil && d.Replace.Version != "" {
					mod = d.Replace
				}
				break
			}
		}
	}
	if mod != nil && mod.Version != "" && mod.Version != "(devel)" {
		info.Version = mod.Version
	}
	if mod == &bi.Main || mod == nil {
		// The VCS settings are the main module's.
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time, _ = time.Parse(time.RFC3339, s.Value)
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	return info
}

// UserAgent is the User-Agent of streamtoken's client for this build.
func (i Info) UserAgent() string {
	return "streamtoken/" + i.Version + " (+https://" + Module + ")"
}
