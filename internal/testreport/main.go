// Command testreport reads `go test -json` on stdin and writes what a person
// needs from a long run: each package's result line, the full output of
// every failing test, build errors, and at the end the list of skipped tests
// with their reasons (a skip is a promise not checked on this machine; it
// must not vanish into -v output). It exits 1 when a test or build failed,
// or when anything was skipped and CI=true (on CI every test must run).
// `make test` pipes through it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of test2json output.
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

// skip is a skipped test and why.
type skip struct {
	name, reason string
}

func main() {
	os.Exit(run(os.Stdin, os.Stdout, os.Getenv("CI") == "true"))
}

func run(in io.Reader, out io.Writer, ci bool) int {
	buf := map[string]*strings.Builder{}
	var skips []skip
	failed := false
	var passes, fails int
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not test2json (go vet or the go command itself): show it.
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
		case "build-fail":
			failed = true
		case "output":
			if e.Test == "" {
				if e.Output != "PASS\n" && !strings.HasPrefix(e.Output, "=== ") {
					fmt.Fprint(out, e.Output)
				}
				continue
			}
			b := buf[key]
			if b == nil {
				b = &strings.Builder{}
				buf[key] = b
			}
			b.WriteString(e.Output)
		case "fail":
			if e.Test == "" {
				failed = true
				// A test binary that exits mid-test (os.Exit, or a panic
				// on a goroutine no test owns) ends no test: its running
				// tests' output is all that says why.
				fails += unfinished(out, buf, e.Package)
				continue
			}
			failed = true
			fails++
			if b := buf[key]; b != nil {
				fmt.Fprint(out, b.String())
			}
			delete(buf, key)
		case "skip":
			if e.Test != "" {
				skips = append(skips, skip{e.Package + " " + e.Test, reason(buf[key])})
			}
			delete(buf, key)
		case "pass":
			if e.Test != "" {
				passes++
			}
			delete(buf, key)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(out, "testreport: reading go test -json:", err)
		return 1
	}
	// The closing line counts tests and subtests.
	defer fmt.Fprintf(out, "\n%d passed, %d failed, %d skipped\n", passes, fails, len(skips))
	if len(skips) > 0 {
		sort.Slice(skips, func(i, j int) bool { return skips[i].name < skips[j].name })
		fmt.Fprintf(out, "\nSkipped tests (%d):\n", len(skips))
		for _, s := range skips {
			fmt.Fprintf(out, "  %s: %s\n", s.name, s.reason)
		}
		if ci {
			fmt.Fprintln(out, "CI=true: every test must run here; the skips above fail the run")
			return 1
		}
	}
	if failed {
		return 1
	}
	return 0
}

// unfinished writes the output of pkg's tests that started (or paused) and
// never ended,
// drops them from buf, and returns how many there were.
func unfinished(out io.Writer, buf map[string]*strings.Builder, pkg string) int {
	var keys []string
	for k := range buf {
		if strings.HasPrefix(k, pkg+" ") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "--- %s did not finish: the test binary exited first. Its output:\n%s", k, buf[k].String())
		delete(buf, k)
	}
	return len(keys)
}

// reason is what a skipped test said: its output without the === and ---
// framing lines, on one line.
func reason(b *strings.Builder) string {
	if b == nil {
		return "(no reason given)"
	}
	var parts []string
	for _, l := range strings.Split(b.String(), "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}
