package streamtoken_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// maxTrackedBytes bounds a committed file: anything larger is a build
// output or a data set that does not belong in the module's zip.
const maxTrackedBytes = 1 << 20

// largeFilesAllowed are the committed files allowed past maxTrackedBytes,
// each with its reason.
var largeFilesAllowed = map[string]string{
	"server/docs/redoc.standalone.js": "Redoc, vendored and pinned for /docs (internal/gendocs)",
}

// A built binary once landed in the repository (25 MB); nothing tracked may
// be a compiled executable, an executable without a #! line, or larger than
// 1 MiB outside the allow-list above.
func TestNoBuiltOrLargeFilesTracked(t *testing.T) {
	gitTool, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git command: the tracked files cannot be listed (a module download, not a clone)")
	}
	out, err := exec.Command(gitTool, "ls-files", "-s", "-z").Output()
	if err != nil {
		t.Skipf("git ls-files: %v (not a clone)", err)
	}
	for _, entry := range bytes.Split(out, []byte{0}) {
		// "<mode> <object> <stage>\t<path>"
		meta, path, ok := strings.Cut(string(entry), "\t")
		if !ok {
			continue
		}
		mode := strings.Fields(meta)[0]
		info, err := os.Lstat(path)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the work tree, or a symbolic link
		}
		if info.Size() > maxTrackedBytes {
			if _, ok := largeFilesAllowed[path]; !ok {
				t.Errorf("%s is tracked and %d bytes, over %d: a build output or data that belongs elsewhere (or add it to largeFilesAllowed with a reason)", path, info.Size(), maxTrackedBytes)
			}
		}
		head := fileHead(t, path)
		if isCompiled(head) {
			t.Errorf("%s is a compiled executable and is tracked: remove it (git rm --cached) and let .gitignore cover it", path)
		} else if mode == "100755" && !bytes.HasPrefix(head, []byte("#!")) {
			t.Errorf("%s is tracked as executable but is no script (no #! line)", path)
		}
	}
}

func fileHead(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	head, _ := bufio.NewReader(f).Peek(4)
	return head
}

// isCompiled says whether a file starts as an ELF, PE or Mach-O binary does.
func isCompiled(head []byte) bool {
	for _, magic := range [][]byte{
		[]byte("\x7fELF"),
		[]byte("MZ"),
		{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf},
		{0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe},
		{0xca, 0xfe, 0xba, 0xbe},
	} {
		if bytes.HasPrefix(head, magic) {
			return true
		}
	}
	return false
}
