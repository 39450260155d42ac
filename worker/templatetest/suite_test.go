package templatetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseFile reads every field of a case.
func TestParseFile(t *testing.T) {
	f, err := ParseFile("t/template.test.yaml", []byte(`
template: multi.yaml
cases:
  - name: one
    template: second
    values: {name: x, n: 3}
    secrets: {token: abc}
    user: {ref: user:default/jane, entity: {metadata: {name: jane}}}
    entities:
      - {kind: Group, metadata: {name: team, namespace: ops}}
    fakes:
      publish:github: {output: {remoteUrl: u}}
      pr: {error: boom}
    expect:
      steps: {a: completed, b: skipped}
      outputs: {a: {k: v}}
      output: {text: [{content: hi}]}
      snapshot: snaps/one
      log: line
      notLog: [abc]
      calls: {publish:github: [{}, {repoUrl: r}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Template != "t/multi.yaml" || len(f.Cases) != 1 {
		t.Fatalf("template %q, %d cases", f.Template, len(f.Cases))
	}
	c := f.Cases[0]
	if c.Name != "one" || c.Line != 4 || c.TemplateName != "second" || c.Values["n"] != int64(3) || c.Secrets["token"] != "abc" ||
		c.UserRef != "user:default/jane" || c.UserEntity == nil || len(c.Entities) != 1 ||
		c.Fakes["publish:github"].Output["remoteUrl"] != "u" || c.Fakes["pr"].Error != "boom" {
		t.Errorf("case: %+v", c)
	}
	e := c.Expect
	if e.Steps["b"] != "skipped" || e.Outputs["a"]["k"] != "v" || e.Output == nil || e.Snapshot != "snaps/one" ||
		len(e.Log) != 1 || e.NotLog[0] != "abc" || len(e.Calls["publish:github"]) != 2 {
		t.Errorf("expect: %+v", e)
	}
	// tests/*.yaml test the template in the folder above.
	f, err = ParseFile("t/tests/more.yaml", []byte("cases: [{name: a, expect: {steps: {a: completed}}}]\n"))
	if err != nil || f.Template != "t/template.yaml" {
		t.Errorf("tests/more.yaml: template %q, %v", f.Template, err)
	}
}

// TestParseFileErrors: a bad test file is refused with its file, line and
// field, and never quotes a secret's value.
func TestParseFileErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"no cases", "template: t.yaml\n", "f.yaml:1: cases: required"},
		{"empty cases", "cases: []\n", "f.yaml:1: cases: must be a non-empty list"},
		{"unknown top", "cases: [{name: a, expect: {}}]\ntemplates: x\n", "f.yaml:2: templates: unknown field"},
		{"unknown case field", "cases:\n  - name: a\n    value: {}\n    expect: {}\n", "f.yaml:3: cases[0].value: unknown field"},
		{"no name", "cases:\n  - expect: {}\n", "f.yaml:2: cases[0].name: required"},
		{"no expect", "cases:\n  - name: a\n", "f.yaml:2: cases[0].expect: required"},
		{"bad status", "cases:\n  - name: a\n    expect:\n      steps: {x: done}\n", `f.yaml:4: cases[0].expect.steps.x: "done" is not a step status`},
		{"duplicate name", "cases:\n  - {name: a, expect: {}}\n  - {name: a, expect: {}}\n", `f.yaml:3: cases[1].name: "a" is also the name of the case on line 2`},
		{"secret not a string", "cases:\n  - name: a\n    secrets: {pw: 12345678}\n    expect: {}\n", "f.yaml:3: cases[0].secrets.pw: must be a non-empty string"},
		{"escaping snapshot", "cases:\n  - name: a\n    expect: {snapshot: ../../x}\n", "f.yaml:3: cases[0].expect.snapshot: must be a folder below"},
		{"values not a map", "cases:\n  - name: a\n    values: [1]\n    expect: {}\n", "f.yaml:3: cases[0].values: must be a mapping"},
		{"entity without name", "cases:\n  - name: a\n    entities: [{kind: Group}]\n    expect: {}\n", "f.yaml:3: cases[0].entities[0]: an entity needs kind and metadata.name"},
		{"calls not a list", "cases:\n  - name: a\n    expect:\n      calls: {x: 2}\n", "f.yaml:4: cases[0].expect.calls.x: must be a list"},
		{"duplicate key", "cases:\n  - name: a\n    name: b\n    expect: {}\n", "f.yaml:3: cases[0].name: duplicate key"},
		{"anchors", "cases:\n  - &c {name: a, expect: {}}\n  - *c\n", "f.yaml:2"},
		{"bad yaml", "cases: [\n", "f.yaml:"},
		{"error and snapshot", "cases:\n  - name: a\n    expect: {error: x, snapshot: s}\n", "exclude each other"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFile("f.yaml", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			if strings.Contains(err.Error(), "12345678") {
				t.Errorf("the error quotes a secret: %v", err)
			}
		})
	}
}

// TestContained: each difference is named by its path, with what was
// wanted and what came.
func TestContained(t *testing.T) {
	got := jsonShape(map[string]any{"a": 1, "b": map[string]any{"c": "x", "extra": true}, "l": []any{1, 2}})
	if d := contained("output", jsonShape(map[string]any{"a": 1, "b": map[string]any{"c": "x"}}), got); len(d) != 0 {
		t.Errorf("a subset must match: %v", d)
	}
	d := contained("output", jsonShape(map[string]any{"a": 2, "b": map[string]any{"c": "y", "d": 1}, "l": []any{1}}), got)
	want := []string{
		"output.a: want 2, got 1",
		`output.b.c: want "y", got "x"`,
		"output.b.d: missing (want 1)",
		"output.l: want 1 items, got 2: [1,2]",
	}
	if strings.Join(d, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(d, "\n"), strings.Join(want, "\n"))
	}
	if d := contained("x", "1", float64(1)); len(d) != 1 {
		t.Errorf("a string is not a number: %v", d)
	}
}

func TestLineDiff(t *testing.T) {
	got := lineDiff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n")
	want := "      a\n    - b\n    + B\n      c\n      d\n    + e"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestDiscover finds template.test.yaml and tests/*.yaml beside a
// template.yaml, also through a folder given as a symbolic link, and a
// template file brings its tests; a folder without any is an error.
func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a/template.yaml", "a/template.test.yaml", "a/tests/more.yaml",
		"b/template.yaml", "b/tests/only.yml", "c/tests/not-beside-a-template.yaml", "a/.hidden/template.test.yaml"} {
		write(f)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	got, err := Discover([]string{link})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a/template.test.yaml", "a/tests/more.yaml", "b/tests/only.yml"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i, w := range want {
		if got[i] != filepath.Join(link, w) {
			t.Errorf("got %s, want %s", got[i], filepath.Join(link, w))
		}
	}
	if got, err := Discover([]string{filepath.Join(dir, "b", "template.yaml")}); err != nil || len(got) != 1 {
		t.Errorf("a template file brings its tests: %v %v", got, err)
	}
	if _, err := Discover([]string{filepath.Join(dir, "c")}); err == nil || !strings.Contains(err.Error(), "no template tests found") {
		t.Errorf("a folder without tests: %v", err)
	}
}
