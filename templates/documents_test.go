package templates

import (
	"errors"
	"strings"
	"testing"
)

// TestParseDocuments reads a file of several templates: each is parsed on
// its own, and a bad one is named by its document index and starting line
// while the others still parse.
func TestParseDocuments(t *testing.T) {
	src := `# two templates and a broken one
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: first}
spec:
  steps:
    - {id: a, action: debug:log, input: {message: hi}}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: second}
spec:
  steps: []
---

---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: third}
spec:
  steps: 42
`
	docs, err := ParseDocuments("multi.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 {
		t.Fatalf("want 3 documents (the empty one ignored), got %d", len(docs))
	}
	for i, want := range []struct {
		name string
		line int
	}{{"first", 2}, {"second", 9}, {"", 17}} {
		d := docs[i]
		if d.Index != i+1 || d.Line != want.line {
			t.Errorf("document %d: index %d line %d, want index %d line %d", i, d.Index, d.Line, i+1, want.line)
		}
		if want.name != "" && (d.Err != nil || d.Template.Metadata.Name != want.name) {
			t.Errorf("document %d: want template %s, got %v, %v", i, want.name, d.Template, d.Err)
		}
	}
	if docs[2].Err == nil || !strings.Contains(docs[2].Err.Error(), "multi.yaml (document 3, line 17): spec.steps") {
		t.Errorf("the bad document's error must name the file, document, line and field: %v", docs[2].Err)
	}
	if _, err := Parse("multi.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Errorf("Parse still reads one document only: %v", err)
	}
	one, err := ParseDocuments("one.yaml", []byte(strings.SplitN(src, "---", 2)[0]))
	if err != nil || len(one) != 1 || one[0].Label("one.yaml", 1) != "one.yaml" {
		t.Errorf("a file of one template is labelled by its name alone: %v %v", one, err)
	}
	if _, err := ParseDocuments("empty.yaml", []byte("# nothing\n")); err == nil {
		t.Error("a file without documents must be refused")
	}
	if _, err := ParseDocuments("bad.yaml", []byte("a: [\n")); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("a YAML syntax error names the file: %v", err)
	}
}

// FuzzParseDocuments: any input gives documents or an error, never a
// panic, and every document holds a template or a ParseError.
func FuzzParseDocuments(f *testing.F) {
	f.Add([]byte(minimalTemplate + "---\n" + minimalTemplate))
	f.Add([]byte("---\n---\na: 1\n---\n[\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := ParseDocuments("fuzz.yaml", data)
		if err != nil {
			return
		}
		for _, d := range docs {
			var pe *ParseError
			if (d.Template == nil) == (d.Err == nil) || d.Err != nil && !errors.As(d.Err, &pe) {
				t.Fatalf("document %d: template %v, error %v", d.Index, d.Template, d.Err)
			}
		}
	})
}
