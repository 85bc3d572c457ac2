package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// The README is executed: every fenced block of shell or Go is marked, in
// an HTML comment on the line before it, with how it is tested:
//
//	<!-- walkthrough: NAME -->          a console session (lines "$ command",
//	                                    then its output), run by
//	                                    TestREADMEWalkthroughs
//	<!-- snippet: FILE#NAME -->         Go, the same text as FILE's lines
//	                                    between "// snippet:NAME" and
//	                                    "// end snippet" (a compiled test
//	                                    file), checked by TestREADMESnippets
//	<!-- not run: WHY -->               a block no test can run, and why
//
// so that the README's text and what the tests run cannot drift apart.

const readmePath = "../../README.md"

// readmeBlock is a fenced block of the README.
type readmeBlock struct {
	line   int    // of its opening fence
	lang   string // console, sh, go, ...
	marker string // walkthrough, snippet, not run; "" for none
	arg    string // the marker's NAME, FILE#NAME or WHY
	text   []string
}

var markerLine = regexp.MustCompile(`^<!-- (walkthrough|snippet|not run): (.+) -->$`)

func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	f, err := os.Open(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		prev   string
		indent string // of the open block's fence
		n      int
	)
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		n++
		l := lines.Text()
		fence := strings.HasPrefix(strings.TrimLeft(l, " "), "```")
		switch {
		case cur != nil && fence:
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text = append(cur.text, strings.TrimPrefix(l, indent)) // a block in a list item is indented
		case fence:
			indent = l[:len(l)-len(strings.TrimLeft(l, " "))]
			cur = &readmeBlock{line: n, lang: strings.TrimPrefix(strings.TrimLeft(l, " "), "```")}
			if m := markerLine.FindStringSubmatch(strings.TrimSpace(prev)); m != nil {
				cur.marker, cur.arg = m[1], m[2]
			}
		}
		prev = l
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// Every block of shell or Go says how it is tested.
func TestREADMEBlocksAreMarked(t *testing.T) {
	names := map[string]int{}
	for _, b := range readmeBlocks(t) {
		switch b.lang {
		case "console", "sh", "go":
		default:
			continue // output, YAML: shown, not run
		}
		switch {
		case b.marker == "":
			t.Errorf("README.md:%d: a %s block without a marker (walkthrough, snippet or not run)", b.line, b.lang)
		case b.marker == "walkthrough" && b.lang != "console":
			t.Errorf("README.md:%d: a walkthrough must be a console block", b.line)
		case b.marker == "snippet" && b.lang != "go":
			t.Errorf("README.md:%d: a snippet must be a go block", b.line)
		}
		if b.marker == "walkthrough" || b.marker == "snippet" {
			if at, ok := names[b.arg]; ok {
				t.Errorf("README.md:%d: %s %q is also at line %d", b.line, b.marker, b.arg, at)
			}
			names[b.arg] = b.line
		}
	}
}

// Each Go snippet of the README is the text of a compiled test file's
// region.
func TestREADMESnippets(t *testing.T) {
	for _, b := range readmeBlocks(t) {
		if b.marker != "snippet" {
			continue
		}
		file, name, ok := strings.Cut(b.arg, "#")
		if !ok {
			t.Errorf("README.md:%d: snippet %q: want FILE#NAME", b.line, b.arg)
			continue
		}
		region, err := snippetRegion(filepath.Join("../..", file), name)
		if err != nil {
			t.Errorf("README.md:%d: %v", b.line, err)
			continue
		}
		if want := strings.Join(b.text, "\n"); region != want {
			t.Errorf("README.md:%d: the snippet differs from %s#%s:\n%s", b.line, file, name, firstDifference(want, region))
		}
	}
}

// snippetRegion is the text between "// snippet:NAME" and "// end snippet"
// in file, less the indentation of its first line.
func snippetRegion(file, name string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var out []string
	in, indent := false, ""
	for _, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == "// snippet:"+name:
			in = true
			indent = l[:len(l)-len(strings.TrimLeft(l, "\t"))]
		case in && t == "// end snippet":
			return strings.Join(out, "\n"), nil
		case in:
			out = append(out, strings.TrimPrefix(l, indent))
		}
	}
	return "", fmt.Errorf("%s: no snippet %q (// snippet:%s ... // end snippet)", file, name, name)
}

func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n  README: %q\n  file:   %q", i+1, a, b)
		}
	}
	return "(the same)"
}

// Each console walk-through of the README runs as written, in a fresh
// temporary directory with streamtoken (this test binary) on PATH, and
// prints what the README shows: each "$ command" line, then its output
// (stderr with stdout), where a 32-digit hex ID, an RFC 3339 time, unix
// seconds and a token stand for any of their kind, "…" in a line for
// anything, and a line of "…" alone for any lines.
func TestREADMEWalkthroughs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's walk-throughs, servers included; not with -short")
	}
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(bin, "streamtoken")); err != nil {
		t.Fatal(err)
	}
	// A walk-through "NAME continues PREV" goes on with PREV's session:
	// they run as one script.
	type chain struct {
		name  string
		lines []int
		text  []string
	}
	var chains []*chain
	byName := map[string]*chain{}
	for _, b := range readmeBlocks(t) {
		if b.marker != "walkthrough" {
			continue
		}
		name, prev, continues := strings.Cut(b.arg, " continues ")
		c := byName[prev]
		switch {
		case continues && c == nil:
			t.Fatalf("README.md:%d: walk-through %q continues %q, which comes before it nowhere", b.line, name, prev)
		case !continues:
			c = &chain{name: name}
			chains = append(chains, c)
		}
		byName[name] = c
		c.lines = append(c.lines, b.line)
		c.text = append(c.text, b.text...)
	}
	if len(chains) == 0 {
		t.Fatal("the README has no walk-through")
	}
	scripts := t.TempDir()
	for _, c := range chains {
		script := walkthroughScript(c.text)
		txtar := fmt.Sprintf("# README.md, lines %v\nexec bash walkthrough.sh\ntranscript expected.txt\n", c.lines) +
			"-- walkthrough.sh --\n" + script + "-- expected.txt --\n" + strings.Join(c.text, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(scripts, c.name+".txtar"), []byte(txtar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testscript.Run(t, testscript.Params{
		Dir: scripts,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			env.Setenv(readmeChild, "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"transcript": transcript},
	})
}

// readmeChild marks the environment of the walk-throughs: the test binary
// named streamtoken in it runs the command line (see TestMain).
const readmeChild = "STREAMTOKEN_README_CHILD"

// walkthroughScript is a console block as a bash script that prints each
// command as the README shows it, then runs it; background jobs end with
// the script.
func walkthroughScript(lines []string) string {
	var b strings.Builder
	b.WriteString("exec 2>&1\ntrap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\nst=0\n")
	for i := 0; i < len(lines); i++ {
		cmd, ok := strings.CutPrefix(lines[i], "$ ")
		if !ok {
			continue // output
		}
		shown := []string{lines[i]}
		for strings.HasSuffix(cmd, "\\") && i+1 < len(lines) {
			i++
			shown = append(shown, lines[i])
			cmd += "\n" + lines[i]
		}
		if m := heredoc.FindStringSubmatch(cmd); m != nil { // its lines, to the terminator, are the command's
			for i+1 < len(lines) {
				i++
				shown = append(shown, lines[i])
				cmd += "\n" + lines[i]
				if lines[i] == m[1] {
					break
				}
			}
		}
		// The command sees the status of the one before ($?), not printf's.
		fmt.Fprintf(&b, "printf '%%s\\n' %s\n(exit $st); %s\nst=$?\n", shellQuote(strings.Join(shown, "\n")), cmd)
	}
	return b.String()
}

// heredoc is a here-document's start, <<'EOF' or <<EOF, and its terminator.
var heredoc = regexp.MustCompile(`<<-?'?(\w+)'?`)

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// volatile are the parts of an output that differ from run to run, each
// matched by its kind.
var volatile = regexp.MustCompile(`[0-9a-f]{32}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z|\b1[789]\d{8}\b|eyJ[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*`)

func volatilePattern(s string) string {
	switch {
	case strings.HasPrefix(s, "eyJ"):
		return `eyJ[A-Za-z0-9_.-]*`
	case len(s) == 32 && !strings.Contains(s, "-"):
		return `[0-9a-f]{32}`
	case strings.Contains(s, "T"):
		return `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`
	}
	return `\d{10}`
}

// linePattern is an expected line as a regular expression.
func linePattern(line string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range volatile.FindAllStringIndex(line, -1) {
		b.WriteString(literal(line[last:loc[0]]))
		b.WriteString(volatilePattern(line[loc[0]:loc[1]]))
		last = loc[1]
	}
	b.WriteString(literal(line[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func literal(s string) string {
	parts := strings.Split(s, "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return strings.Join(parts, ".*")
}

// transcript compares the script's stdout with the README's block: each
// expected line matches the next printed one, and a line of "…" alone
// skips lines until the next expected one matches.
func transcript(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: transcript EXPECTED")
	}
	want := nonBlank(ts.ReadFile(args[0]))
	got := nonBlank(ts.ReadFile("stdout"))
	g := 0
	for i := 0; i < len(want); i++ {
		if strings.TrimSpace(want[i]) == "…" {
			if i+1 == len(want) {
				return
			}
			next := linePattern(want[i+1])
			for g < len(got) && !next.MatchString(got[g]) {
				g++
			}
			continue
		}
		if g >= len(got) || !linePattern(want[i]).MatchString(got[g]) {
			shown := "(nothing more)"
			if g < len(got) {
				shown = got[g]
			}
			ts.Fatalf("the README shows\n  %s\nbut the walk-through printed\n  %s\n(whole output, tokens elided:)\n%s",
				want[i], elide(shown), elide(strings.Join(got, "\n")))
		}
		g++
	}
	if g < len(got) {
		ts.Fatalf("the walk-through printed more than the README shows, from\n  %s", elide(got[g]))
	}
}

// nonBlank is text's lines but the blank ones, which the README uses to
// space a session out.
func nonBlank(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// elide shortens tokens: a test's output shows none whole.
func elide(s string) string {
	return regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8}[A-Za-z0-9_.-]*`).ReplaceAllStringFunc(s, func(tok string) string { return tok[:11] + "…" })
}
