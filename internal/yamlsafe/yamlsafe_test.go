package yamlsafe

import (
	"fmt"
	"strings"
	"testing"
)

// screenText screens src's first document and writes each problem as
// Problem.Error does, one a line.
func screenText(t *testing.T, src string, lim Limits) string {
	t.Helper()
	docs, err := Documents([]byte(src))
	if err != nil || len(docs) == 0 || docs[0].Node == nil {
		t.Fatalf("%q: %v", src, err)
	}
	var b strings.Builder
	for _, p := range Screen(docs[0].Node, lim) {
		b.WriteString(p.Error() + "\n")
	}
	return b.String()
}

// TestScreen: each problem with its line, column and path (keys joined
// by dots, items as [i]), duplicates reported at the later key with the
// first's line in small mappings and large ones alike, and a clean
// document passes.
func TestScreen(t *testing.T) {
	var large strings.Builder
	large.WriteString("big:\n")
	for i := range 40 {
		fmt.Fprintf(&large, "  k%02d: %d\n", i, i)
	}
	large.WriteString("  k07: again\n  k39: again\n")
	lim := Limits{MaxDepth: 4, MaxStringLength: 10}
	for _, c := range []struct{ name, src, want string }{
		{"clean", "a: 1\nb: [x, {c: d}]\n", ""},
		{"duplicate in a small mapping", "a:\n  b: 1\n  c: 2\n  b: 3\n", "line 4:3: a.b: duplicate key (first set on line 2)\n"},
		{"duplicates in a large mapping", large.String(),
			"line 42:3: big.k07: duplicate key (first set on line 9)\nline 43:3: big.k39: duplicate key (first set on line 41)\n"},
		{"in a sequence", "list:\n  - ok\n  - {x: 12345678901}\n  - [a, &anchor b]\n",
			"line 3:9: list[1].x: value is 11 characters long, more than the limit of 10\nline 4:9: list[2][1]: YAML anchors and aliases are not allowed\n"},
		{"merge key then the same key", "m:\n  <<: {a: 1}\n  <<: {b: 2}\n", "line 2:3: m: YAML merge keys are not allowed\nline 3:3: m: YAML merge keys are not allowed\n"},
		{"non-string key", "m:\n  [a]: 1\n  ok: 2\n", "line 2:3: m: mapping keys must be strings\n"},
		{"depth", "a: {b: {c: {d: {e: 1}}}}\n", "line 1:20: a.b.c.d.e: nested deeper than 4 levels\n"},
		{"long key, then its duplicate", "m:\n  abcdefghijkl: 1\n  abcdefghijkl: 2\n",
			"line 2:3: m: key longer than 10 characters\nline 3:3: m.abcdefghijkl: duplicate key (first set on line 2)\n"},
		{"NUL", "\"a\\0\": \"b\\0\"\n", "line 1:1: key holds a NUL character (\\0)\n"},
		{"empty keys", "\"\":\n  - x: \"\\0\"\n", "line 2:8: [0].x: value holds a NUL character (\\0)\n"},
	} {
		if got := screenText(t, c.src, lim); got != c.want {
			t.Errorf("%s: got\n%swant\n%s", c.name, got, c.want)
		}
	}
}
