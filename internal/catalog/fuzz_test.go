package catalog

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParse checks the invariants of the entity parser on any input: no
// panic; every accepted entity validates again, marshals to JSON within the
// entity limit, has a namespace, and yields search rows and relations
// without error; every rejection names the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte(component))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("---\n---\nkind: x\n"))
	f.Add([]byte(`{"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "g"}, "spec": {"type": "team", "children": []}}`))
	f.Add([]byte(withSpec("scaffolder.backstage.io/v1beta3", "Template", "  type: s\n  steps: [{action: debug:log}]\n")))
	f.Add([]byte(withSpec("backstage.io/v1alpha1", "User", "  memberOf: [ns/g, 'group:x']\n")))
	f.Add([]byte("apiVersion: v1\nkind: X\nmetadata: {name: a, tags: [Java], annotations: {a/b/c: 1}}\nspec: {a: !!float nan, b: 1e400}\n"))
	f.Add([]byte("apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: x}\nspec: {owner: o, Owner: p}\n"))
	f.Add([]byte(service))
	f.Add([]byte(strings.Replace(service, "number: 8080", "number: [x]", 1)))
	model := testModel(f)
	lim := DefaultLimits()
	lim.DocumentBytes = 64 << 10
	lim.EntityBytes = 16 << 10
	lim.MaxStringLength = 4 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		for _, p := range []Policy{{}, {AllowUnknownKinds: true}, {Model: model}} {
			docs, err := ParseWith("f.yaml", data, lim, p)
			if err != nil && !strings.HasPrefix(err.Error(), "f.yaml: ") {
				t.Fatalf("file error does not name the file: %v", err)
			}
			for _, d := range docs {
				for _, e := range d.Errors {
					if !strings.HasPrefix(e.Error(), "f.yaml: document ") {
						t.Fatalf("error does not name the document: %v", e)
					}
					if e.Line < 1 || e.Line > lines {
						t.Fatalf("error at line %d of a %d-line file: %v", e.Line, lines, e)
					}
				}
				if d.Entity == nil {
					if len(d.Errors) == 0 {
						t.Fatal("a document has neither entity nor errors")
					}
					continue
				}
				if probs := ValidateWith(d.Entity, p); len(probs) > 0 {
					t.Fatalf("an accepted entity does not validate: %v", probs)
				}
				b, err := json.Marshal(d.Entity)
				if err != nil || len(b) > lim.EntityBytes {
					t.Fatalf("accepted entity: %d bytes as JSON, %v", len(b), err)
				}
				if d.Entity.Metadata()["namespace"] == nil || d.Ref != d.Entity.Ref().String() {
					t.Fatalf("accepted entity without namespace or with ref %q", d.Ref)
				}
				edges, probs := p.Model.Relations(d.Entity)
				if len(probs) > 0 {
					t.Fatalf("relations of an accepted entity: %v", probs)
				}
				if _, err := BuildSearch(d.Entity, edges); err != nil {
					t.Fatalf("search rows of an accepted entity: %v", err)
				}
			}
		}
	})
}

// FuzzParseFilter checks that any filter parameter parses to lower-cased,
// trimmed, non-empty keys, or fails with Backstage's message, and that
// matching never panics.
func FuzzParseFilter(f *testing.F) {
	f.Add("kind=component,spec.type=service")
	f.Add("=,,=")
	f.Add("relations.ownedBy=group:default/x, kind")
	f.Add(" a = 1 , b = 2 , a = 3 ")
	rows := SearchRows(Entity{"kind": "Component", "metadata": map[string]any{"name": "x", "tags": []any{"a"}}}, nil)
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter([]string{s, s})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid filter, ") {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		for _, all := range flt {
			if len(all) == 0 {
				t.Fatal("empty alternative")
			}
			for _, c := range all {
				if c.Key == "" || c.Key != strings.ToLower(c.Key) || c.Key != strings.TrimSpace(c.Key) || strings.Contains(c.Key, ",") {
					t.Fatalf("bad key %q", c.Key)
				}
				for _, v := range c.Values {
					if v != strings.TrimSpace(v) || strings.Contains(v, ",") {
						t.Fatalf("bad value %q", v)
					}
				}
			}
		}
		MatchFilter(flt, rows)
	})
}

// FuzzParseRef checks that parsed refs print and parse back to themselves.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"a", "k:n", "ns/n", "k:ns/n", "a/b:c", "k:ns/a/b", ":", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s, "Group", "default")
		if err != nil {
			return
		}
		if r.Kind == "" || r.Namespace == "" || r.Name == "" {
			t.Fatalf("%q parsed to %#v", s, r)
		}
		if strings.ContainsAny(r.Kind, ":/") || strings.Contains(r.Namespace, "/") {
			t.Fatalf("%q parsed to %#v", s, r)
		}
		back, err := ParseRef(r.String(), "", "")
		if err != nil || !back.Equal(r) {
			t.Fatalf("%q: %#v printed as %q parsed back as %#v, %v", s, r, r.String(), back, err)
		}
	})
}
