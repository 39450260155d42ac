package yamlsafe

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// corpusDir holds YAML written by others (catalogs, templates, docs
// configs), beside the repository.
const corpusDir = "../../../shared/corpus"

// sameTree reports the first difference between the trees yaml.v3 (want)
// and another reader (got) built, in every field the fast reader sets, and
// anchors and aliases (which it never does).
func sameTree(want, got *yaml.Node, path string) error {
	if (want == nil) != (got == nil) {
		return fmt.Errorf("%s: yaml.v3 node %v, the other's %v", path, want != nil, got != nil)
	}
	if want == nil {
		return nil
	}
	if want.Kind != got.Kind || want.Tag != got.Tag || want.Style != got.Style || want.Value != got.Value ||
		want.Line != got.Line || want.Column != got.Column || want.Anchor != got.Anchor || (want.Alias == nil) != (got.Alias == nil) ||
		len(want.Content) != len(got.Content) {
		return fmt.Errorf("%s: yaml.v3 {kind %v tag %s style %v value %q at %d:%d, %d children} the other {kind %v tag %s style %v value %q at %d:%d, %d children}",
			path, want.Kind, want.Tag, want.Style, want.Value, want.Line, want.Column, len(want.Content),
			got.Kind, got.Tag, got.Style, got.Value, got.Line, got.Column, len(got.Content))
	}
	for i := range want.Content {
		if err := sameTree(want.Content[i], got.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// fastDocuments reads data with the fast reader alone: ok is false when
// it declines any document.
func fastDocuments(data []byte) (docs []Document, ok bool) {
	p, ok := newFastParser(data)
	if !ok {
		return nil, false
	}
	for {
		d, more := p.next()
		if !more {
			return docs, !p.bad
		}
		docs = append(docs, d)
	}
}

// yamlv3Documents reads data with yaml.v3 alone.
func yamlv3Documents(data []byte) ([]Document, error) {
	var out []Document
	err := slowDocuments(data, 0, func(d Document) bool {
		out = append(out, d)
		return true
	})
	return out, err
}

// sameDocuments reports the first difference between two reads of a
// stream.
func sameDocuments(want, got []Document) error {
	if len(want) != len(got) {
		return fmt.Errorf("yaml.v3 read %d documents, the other %d", len(want), len(got))
	}
	for i := range want {
		if want[i].Line != got[i].Line {
			return fmt.Errorf("document %d: yaml.v3 starts it on line %d, the other on %d", i, want[i].Line, got[i].Line)
		}
		if err := sameTree(want[i].Node, got[i].Node, fmt.Sprintf("document %d", i)); err != nil {
			return err
		}
	}
	return nil
}

// compareFast reads data three ways. When the fast reader takes all of
// it, yaml.v3 must read it without error into the same documents; and
// Documents (the fast reader up to the first document it declines, then
// yaml.v3) must return what yaml.v3 alone does, documents and error. It
// returns whether the fast reader took it all.
func compareFast(data []byte) (bool, error) {
	want, wantErr := yamlv3Documents(data)
	got, gotErr := Documents(data)
	if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
		return false, fmt.Errorf("Documents: error %v, yaml.v3 alone %v", gotErr, wantErr)
	}
	if err := sameDocuments(want, got); err != nil {
		return false, fmt.Errorf("Documents: %w", err)
	}
	fast, ok := fastDocuments(data)
	if !ok {
		return false, nil
	}
	if wantErr != nil {
		return true, fmt.Errorf("the fast reader took what yaml.v3 refuses (%v)", wantErr)
	}
	return true, sameDocuments(want, fast)
}

// fastCases are streams the fast reader must take (the shapes catalog and
// template files are written in) and streams it must leave to yaml.v3.
var fastCases = []struct {
	src  string
	fast bool
}{
	{"", true},
	{"# only a comment\n", true},
	{"---\n", true},
	{"a: 1\n---\n", true},
	{"---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc # trailing comment\n  annotations:\n    github.com/project-slug: 'example/svc'\n    backstage.io/techdocs-ref: \"dir:.\"\n  tags: [go, grpc]\n  links: [{url: 'https://x.example.com', title: Dashboard}]\nspec:\n  type: service\n  owner: group:default/team-a\n  dependsOn:\n    - resource:db\n  providesApis:\n  - api-1\n  - api-2\n---\n# next\nkind: User\nmetadata: {name: u, description: \"caf\\u00e9 \\\"x\\\"\"}\nspec: {profile: {email: u@example.com}, memberOf: []}\n", true},
	{"steps:\n  - id: fetch\n    name: Fetch\n    action: fetch:template\n    input:\n      url: ./skeleton\n      values:\n        name: ${{ parameters.name }}\n  - id: log\n    input:\n      message: |\n        line one\n\n          indented\n        last\n      folded: >-\n        one\n        two\n\n        three\n      keep: |+\n        a\n\n      empty:\n      n: 12\n      f: 1.5\n      b: true\n      d: 2024-01-02\n      z: null\n      t: ~\n", true},
	{"- a\n-\n- - b\n", false},                 // a nested compact sequence
	{"a: &x 1\nb: *x\n", false},                // anchors and aliases go to yaml.v3, which screening rejects
	{"a: !!str 1\n", false},                    // tags
	{"a:\tb\n", false},                         // tabs
	{"a: b\rc: d\n", false},                    // a CR alone
	{"a: |\r\n  b\r\n\r\n  c\r\n", true},       // CRLF line ends
	{"a: b\n  c\n", false},                     // a multi-line plain scalar
	{"a: 'b\n  c'\n", false},                   // a multi-line quoted scalar
	{"a: [b,\n  c]\n", false},                  // a multi-line flow collection
	{"a: b: c\n", false},                       // a syntax error
	{"a: 1\n b: 2\n", false},                   // bad indentation
	{"a:\n  b: 1\n c: 2\n", false},             // bad indentation
	{"? a\n: b\n", false},                      // an explicit key
	{"<<: {a: 1}\n", false},                    // a merge key
	{"%YAML 1.2\n---\na: 1\n", false},          // a directive
	{"a: 1\n...\n# c\n---\nb: 2\n...\n", true}, // document end markers
	{"a: 1\n...\nb: 2\n", false},               // a bare document after an end marker
	{"a: [b: c]\n", false},                     // a single pair in a flow sequence
	{"a: |2\n   b\n", false},                   // an explicit indentation
	{"a: >\n  b\n    c\n", false},              // a more indented folded line
	{"a: |\n  b", false},                       // no final line break
	{"a: \"\\N\"\n", false},                    // an escape it does not know
	{"a: b\nc\n", false},                       // a scalar where a key belongs
	{"\xef\xbb\xbfa: 1\n", false},              // a byte order mark
	{"a: \"\\ud800\"\n", false},                // a surrogate escape
	{"a: [x, ]\n", false},                      // a trailing comma
	{"a: {b}\n", false},                        // a flow key without a value
	{"a:\n  - b\n  c: d\n", false},             // a key after an item
	{"n: 12\nm: -3\nz: 0\no: 012\nv: 1.2.3\nbig: 123456789012345678901\nh: 0x1F\ne: 1e3\ns: -\n", false}, // "-" alone is an item
	{"n: 12\nm: -3\nz: 0\no: 012\nv: 1.2.3\nbig: 123456789012345678901\nh: 0x1F\ne: 1e3\nd: -.5\n", true},
	{"a: 1\n---\nb: &x 2\n", false},                                 // the second document goes to yaml.v3
	{"a: 1\n---\nb: c: d\n---\ne: 1\n", false},                      // a syntax error after a document read fast
	{"a: 1\n---\nb: 'x\n  y'\n---\nc: 3\n---\nd: !!str 4\n", false}, // yaml.v3 reads on to the end
	{"x\n", true},                        // a scalar document
	{"- |\n  text\n- >\n  more\n", true}, // block scalars as items
	{"a:\n- b\n- c\nd: e\n", true},       // an indentless sequence
	{"a: 'it''s'\nb: \"\\x41\\t\"\n", true},
	{"\"quoted key\": 1\n'other': 2\n", true},
	{"k: v#not-a-comment\nu: https://example.com/a#b\n", true},
	{"a: [https://example.com, x:y]\n", true},
	{"emoji: \"\U0001F680\" # ✓\nname: café\n", true},
}

// floats is a mapping of n floats (each tag asked of yaml.v3).
func floats(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "f%d: %d.5\n", i, i)
	}
	return b.String()
}

// TestFastDocuments: the fast reader takes the shapes it is for and
// leaves the rest to yaml.v3, and what it takes reads as yaml.v3 reads it.
// Hostile shapes cost it no more than yaml.v3: it leaves nesting deeper
// than maxDepth (an unclosed one too, which it would otherwise recurse
// into a frame and a node a byte) and more than maxResolved tags to
// resolve to yaml.v3, and counts columns on a long non-ASCII line from
// the last it counted.
func TestFastDocuments(t *testing.T) {
	wide := "# é\na: [" + strings.Repeat("ü, x, ", 20000) + "\"ñ\", {b: é}]\n"
	cases := append(fastCases[:len(fastCases):len(fastCases)], []struct {
		src  string
		fast bool
	}{
		{"a: " + strings.Repeat("[", maxDepth-2) + strings.Repeat("]", maxDepth-2) + "\n", true},
		{"a: " + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + "\n", false},
		{"a: " + strings.Repeat("[", 1<<20), false},
		{"- a:\n    b: 1\n- é: [ü, {ñ: é}] # é\n  x: é\n", true},
		{floats(maxResolved), true},
		{floats(maxResolved + 1), false},
		{wide, true},
	}...)
	for _, c := range cases {
		ok, err := compareFast([]byte(c.src))
		name := c.src
		if len(name) > 80 {
			name = name[:80] + "..."
		}
		if err != nil {
			t.Errorf("%q: %v", name, err)
		}
		if ok != c.fast {
			t.Errorf("%q: fast reader took it: %v, want %v", name, ok, c.fast)
		}
	}
}

// TestFastDocumentsCorpus: every YAML file others wrote reads the same
// both ways, and most of them take the fast path.
func TestFastDocumentsCorpus(t *testing.T) {
	var files, fast int
	err := filepath.WalkDir(corpusDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		ok, err := compareFast(data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if ok {
			fast++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read %d YAML files under %s, expected the corpus (over 100)", files, corpusDir)
	}
	t.Logf("%d of %d corpus files took the fast path", fast, files)
	if fast*10 < files*7 {
		t.Errorf("only %d of %d corpus files took the fast path", fast, files)
	}
}

// FuzzFastDocuments holds the fast reader to yaml.v3 on any input.
func FuzzFastDocuments(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c.src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := compareFast(data); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkDocuments reads a catalog file of 500 entities with the fast
// reader and with yaml.v3.
func BenchmarkDocuments(b *testing.B) {
	var src strings.Builder
	for i := range 500 {
		fmt.Fprintf(&src, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-%d\n  title: \"Service %d\"\n  description: Synthetic component svc-%d # generated\n  labels:\n    bench: synthetic\n  tags: [go, grpc]\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/team-%d\n  dependsOn:\n    - component:default/svc-%d\n  providesApis:\n    - api:default/api-%d\n", i, i, i, i%20, i+1, i)
	}
	data := []byte(src.String())
	for _, r := range []struct {
		name string
		read func([]byte) ([]Document, error)
	}{{"fast", Documents}, {"yaml.v3", yamlv3Documents}} {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if docs, err := r.read(data); err != nil || len(docs) != 500 {
					b.Fatal(err, len(docs))
				}
			}
		})
	}
}
