package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/errs"
)

// allocatedBy returns the bytes allocated while f runs.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHostileInputs(t *testing.T) {
	const head = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n"
	big := DefaultLimits()
	big.DocumentBytes = 16 << 20
	cases := []struct {
		name string
		yaml string
		lim  Limits
		want string
	}{
		{"billion laughs", head + billionLaughs(), DefaultLimits(), "metadata.l0: YAML anchors and aliases are not allowed"},
		{"merge key", head + "  <<: {title: x}\n", DefaultLimits(), "merge keys are not allowed"},
		{"ten megabyte file", head + "  description: " + strings.Repeat("x", 10<<20) + "\n", DefaultLimits(), "bytes, more than the limit of 4194304"},
		{"ten megabyte entity", head + "  description: " + strings.Repeat("x", 10<<20) + "\n", big, "more than the limit of 65536"},
		{"entity over its limit", head + "  annotations:\n" + bigAnnotations(20000) + "spec: {type: a, lifecycle: b, owner: c}\n", big, "entity as JSON is more than the limit of 1048576 bytes"},
		{"depth 1000", head + "spec:\n  deep: " + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + "\n", DefaultLimits(), "nested deeper than 64 levels"},
		{"deep mappings", head + "spec:\n" + deepMapping(200), DefaultLimits(), "nested deeper than 64 levels"},
		{"duplicate keys", head + "  name: y\n", DefaultLimits(), "document 1 (line 5): metadata.name: duplicate key (first set on line 4)"},
		{"non-mapping document", "- a\n- b\n", DefaultLimits(), "document 1 (line 1): a catalog document must be a mapping with apiVersion, kind and metadata, got a list"},
		{"scalar document", "just text\n", DefaultLimits(), "got a scalar"},
		{"non-string key", head + "  [a, b]: c\n", DefaultLimits(), "mapping keys must be strings"},
		{"100k string", head + "  title: " + strings.Repeat("t", 100001) + "\n", DefaultLimits(), "metadata.title: value is 100001 characters long, more than the limit of 65536"},
		{"long key", head + "  ? " + strings.Repeat("k", 70000) + "\n  : v\n", DefaultLimits(), "key longer than 65536 characters"},
		{"not a number JSON holds", head + "  n: !!float nan\n", DefaultLimits(), `metadata.n: "nan" is not a number JSON can hold`},
		{"NUL in a value", head + "  description: \"a\\0b\"\n", DefaultLimits(), "document 1 (line 5): metadata.description: value holds a NUL character (\\0)"},
		{"NUL in a key", head + "  annotations:\n    \"a\\0\": b\n", DefaultLimits(), "metadata.annotations: key holds a NUL character"},
		{"syntax error", "apiVersion: [\n", DefaultLimits(), "hostile.yaml: document 1: YAML syntax error"},
		{"too many documents", strings.Repeat("---\n"+head+"spec: {type: a, lifecycle: b, owner: c}\n", 3), Limits{MaxEntities: 2}, "more than 2 entities in one file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var docs []Doc
			var err error
			data := []byte(c.yaml)
			alloc := allocatedBy(func() { docs, err = Parse("hostile.yaml", data, c.lim) })
			var msgs []string
			if err != nil {
				msgs = append(msgs, err.Error())
				if !errors.Is(err, errs.ErrInvalid) {
					t.Errorf("file error %v is not errs.ErrInvalid", err)
				}
			}
			for _, d := range docs {
				if d.Entity != nil {
					t.Errorf("document %d was accepted", d.Index)
				}
				for _, e := range d.Errors {
					msgs = append(msgs, e.Error())
				}
			}
			all := strings.Join(msgs, "\n")
			if !strings.Contains(all, c.want) || !strings.HasPrefix(all, "hostile.yaml: ") {
				t.Fatalf("want a message naming the file and containing %q, got:\n%.2000s", c.want, all)
			}
			// Rejection costs little beyond the YAML node tree (yaml.v3 needs
			// up to ~11 bytes per input byte): nothing the input could
			// multiply (aliases, nesting) is ever expanded.
			if limit := uint64(12*len(c.yaml)) + 2<<20; alloc > limit {
				t.Errorf("allocated %d bytes for %d bytes of input (limit %d)", alloc, len(c.yaml), limit)
			}
		})
	}
}

// billionLaughs nests nine levels of nine aliases: 9^9 strings if expanded.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		prev := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(prev+", ", 9), ", "))
	}
	return b.String()
}

func bigAnnotations(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "    example.com/k%d: %s\n", i, strings.Repeat("v", 60))
	}
	return b.String()
}

func deepMapping(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat("  ", i+1) + "k:\n")
	}
	return b.String()
}

func TestParseDocuments(t *testing.T) {
	src := `# leading comment
---
# a comment-only document
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: one
spec: {type: service, lifecycle: production, owner: team-a}
---
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: two, namespace: ops}
spec: {type: service, lifecycle: production}
---
{"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "team-a"},
 "spec": {"type": "team", "children": []}}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ONE
spec: {type: service, lifecycle: production, owner: team-a}
...
`
	docs, err := Parse("catalog-info.yaml", []byte(src), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		index, line int
		ref         string
		err         string
	}
	want := []outcome{
		// The leading comment belongs to the first document, which holds
		// only comments; the fourth is empty.
		{1, 5, "component:default/one", ""},
		{3, 12, "component:ops/two", "catalog-info.yaml: document 4 (line 15): spec.owner: required field is missing"},
		{4, 17, "group:default/team-a", ""},
		{5, 20, "component:default/one", "catalog-info.yaml: document 6 (line 20): entity component:default/one is already defined by document 2 of this file"},
	}
	if len(docs) != len(want) {
		t.Fatalf("%d documents, want %d: %+v", len(docs), len(want), docs)
	}
	for i, w := range want {
		d := docs[i]
		var got string
		if len(d.Errors) > 0 {
			got = d.Errors[0].Error()
		}
		if d.Index != w.index || d.Line != w.line || d.Ref != w.ref || got != w.err || (w.err == "") != (d.Entity != nil) {
			t.Errorf("document %d: got index %d line %d ref %q entity %v error %q; want %+v", i, d.Index, d.Line, d.Ref, d.Entity != nil, got, w)
		}
	}
	if ns := docs[0].Entity.Metadata()["namespace"]; ns != DefaultNamespace {
		t.Errorf("namespace not defaulted: %v", ns)
	}
	if docs[2].Entity.Kind() != "Group" {
		t.Error("JSON document not read")
	}
	ve := docs[1].Errors[0]
	if ve.File != "catalog-info.yaml" || ve.Doc != 3 || ve.Path != "spec.owner" || ve.Message != "required field is missing" || !errors.Is(ve, errs.ErrInvalid) {
		t.Errorf("structured error: %+v", ve)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, src := range []string{"", "   ", "# only a comment\n", "---\n---\n", "---\n...\n"} {
		docs, err := Parse("e.yaml", []byte(src), DefaultLimits())
		if err != nil || len(docs) != 0 {
			t.Errorf("%q: %v %v", src, docs, err)
		}
	}
}

func TestParseKeepsDocumentsBeforeSyntaxError(t *testing.T) {
	src := component + "---\nkind: [\n"
	docs, err := Parse("s.yaml", []byte(src), DefaultLimits())
	if len(docs) != 1 || docs[0].Entity == nil {
		t.Fatalf("documents before the error: %+v", docs)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Doc != 1 || !strings.Contains(err.Error(), "s.yaml: document 2: YAML syntax error") {
		t.Fatalf("error %v", err)
	}
}

func TestParseWithPolicy(t *testing.T) {
	src := "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 3}\n"
	if docs, _ := Parse("w.yaml", []byte(src), DefaultLimits()); docs[0].Entity != nil {
		t.Error("unknown kind accepted by default")
	}
	docs, _ := ParseWith("w.yaml", []byte(src), DefaultLimits(), Policy{AllowUnknownKinds: true})
	if docs[0].Entity == nil {
		t.Fatalf("unknown kind refused under the policy: %s", docErrors(docs))
	}
	if edges, _ := Relations(docs[0].Entity); len(edges) != 0 {
		t.Errorf("an unknown kind emitted relations: %v", edges)
	}
}

func TestParseRelationErrors(t *testing.T) {
	src := withSpec("backstage.io/v1alpha1", "Component", "  type: a\n  lifecycle: b\n  owner: c\n  dependsOn: [db]\n")
	docs, _ := Parse("r.yaml", []byte(src), DefaultLimits())
	if docs[0].Entity != nil || !strings.Contains(docErrors(docs), `spec.dependsOn[0]: entity ref "db" has no kind`) {
		t.Fatalf("got %s", docErrors(docs))
	}
}

func TestValidationErrorText(t *testing.T) {
	cases := []struct {
		e    ValidationError
		want string
	}{
		{ValidationError{File: "c.yaml", Doc: 1, Line: 9, Path: "spec.owner", Message: "required field is missing"}, "c.yaml: document 2 (line 9): spec.owner: required field is missing"},
		{ValidationError{File: "c.yaml", Doc: 0, Message: "m"}, "c.yaml: document 1: m"},
		{ValidationError{File: "c.yaml", Doc: -1, Message: "file is too big"}, "c.yaml: file is too big"},
		{ValidationError{File: "c.yaml", Doc: -1, Line: 3, Message: "m"}, "c.yaml: line 3: m"},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// TestMeasureMatchesJSON checks that the entity size limit measures what
// encoding/json writes.
func TestMeasureMatchesJSON(t *testing.T) {
	srcs := []string{
		component,
		"a: \"<tag> & \\\"q\\\" \\\\ \\n\\t\\b\\f\\u0001 \\u2028 ünï 😀\"\nb: [1, -2, 3.5, 1e-7, 1.0e+21, 123456789012, true, null, ~]\nc: {}\nd: []\ne: {x: {y: [{z: ''}]}}\n",
		"n: 0.000001\nm: 1e21\nk: -0.0\nt: 2024-01-01\ns: '0x1F'\nh: 0x1F\n",
	}
	for _, src := range srcs {
		docs, err := yamlDocs(src)
		if err != nil {
			t.Fatal(err)
		}
		size, bad := measure(docs, "", 0)
		if bad != nil {
			t.Fatal(bad)
		}
		v := mustValue(t, docs)
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if size != len(b) {
			t.Errorf("measured %d, encoding/json wrote %d: %s", size, len(b), b)
		}
	}
}
