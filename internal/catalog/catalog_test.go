package catalog

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

const component = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: svc-a
  tags: [go]
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: payments
  providesApis: [pay-api]
  dependsOn: [resource:default/db]
`

func TestHostileInputs(t *testing.T) {
	deep := strings.Repeat("[", 1000) + strings.Repeat("]", 1000)
	cases := []struct {
		name, yaml string
		lim        Limits
		want       string
	}{
		{"alias bomb", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n  a: &a [l, l, l, l, l, l, l, l, l]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n", DefaultLimits(), "anchors and aliases are not allowed"},
		{"ten megabyte entity", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n  description: " + strings.Repeat("x", 10<<20) + "\n", DefaultLimits(), "more than the limit of"},
		{"big entity under file limit", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n  annotations:\n" + strings.Repeat("    k: v\n", 1) + bigAnnotations(2000) + "spec: {type: a, lifecycle: b, owner: c}\n", Limits{DocumentBytes: 8 << 20, EntityBytes: 64 << 10, MaxDepth: 64, MaxStringLength: 65536}, "more than the limit of 65536"},
		{"depth 1000", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\nspec:\n  deep: " + deep + "\n", DefaultLimits(), "nested deeper than 64 levels"},
		{"duplicate keys", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n  name: y\n", DefaultLimits(), "metadata.name: duplicate key (first set on line 4)"},
		{"not a mapping", "- a\n- b\n", DefaultLimits(), "must be a mapping"},
		{"long string", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n  title: " + strings.Repeat("t", 100001) + "\n", DefaultLimits(), "metadata.title: value is 100001 characters long"},
		{"syntax error", "apiVersion: [\n", DefaultLimits(), "YAML syntax error"},
		{"bad name", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: -bad-\nspec: {type: a, lifecycle: b, owner: c}\n", DefaultLimits(), `metadata.name: "-bad-" is not valid`},
		{"bad ref", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\nspec: {type: a, lifecycle: b, owner: 'group:'}\n", DefaultLimits(), "spec.owner: entity ref"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			docs, err := Parse("hostile.yaml", []byte(c.yaml), c.lim)
			var msgs []string
			if err != nil {
				msgs = append(msgs, err.Error())
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
			if !strings.Contains(all, c.want) || !strings.Contains(all, "hostile.yaml") {
				t.Fatalf("want a message naming the file and containing %q, got:\n%s", c.want, all)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func bigAnnotations(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "    example.com/k%d: %s\n", i, strings.Repeat("v", 60))
	}
	return b.String()
}

func TestRelationsAndSearch(t *testing.T) {
	docs, err := Parse("c.yaml", []byte(component), DefaultLimits())
	if err != nil || len(docs) != 1 || docs[0].Entity == nil {
		t.Fatalf("parse: %v %+v", err, docs)
	}
	e := docs[0].Entity
	edges, probs := Relations(e)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var got []string
	for _, ed := range edges {
		got = append(got, ed.Source+" "+ed.Type+" "+ed.Target)
	}
	want := []string{
		"component:default/svc-a ownedBy group:default/team-a", "group:default/team-a ownerOf component:default/svc-a",
		"component:default/svc-a partOf system:default/payments", "system:default/payments hasPart component:default/svc-a",
		"component:default/svc-a providesApi api:default/pay-api", "api:default/pay-api apiProvidedBy component:default/svc-a",
		"component:default/svc-a dependsOn resource:default/db", "resource:default/db dependencyOf component:default/svc-a",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("relations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rows := SearchRows(e, edges)
	has := func(k, v string) bool {
		return slices.ContainsFunc(rows, func(r SearchRow) bool { return r.Key == k && r.Value == v })
	}
	for _, kv := range [][2]string{{"kind", "component"}, {"metadata.name", "svc-a"}, {"metadata.namespace", "default"}, {"metadata.tags", "go"},
		{"spec.owner", "team-a"}, {"spec.providesapis", "pay-api"}, {"relations.ownedby", "group:default/team-a"}} {
		if !has(kv[0], kv[1]) {
			t.Errorf("no search row %s=%s in %v", kv[0], kv[1], rows)
		}
	}
	if has("relations.ownerof", "component:default/svc-a") {
		t.Error("reverse relation indexed on the wrong entity")
	}
}

func TestParseFilter(t *testing.T) {
	cases := []struct {
		in   []string
		want store.Filter
		err  string
	}{
		{[]string{"kind=Component"}, store.Filter{{{Key: "kind", Values: []string{"component"}}}}, ""},
		{[]string{"kind=component,spec.type=service"}, store.Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.type", Values: []string{"service"}}}}, ""},
		{[]string{"kind=api", "kind=group"}, store.Filter{{{Key: "kind", Values: []string{"api"}}}, {{Key: "kind", Values: []string{"group"}}}}, ""},
		{[]string{"kind=api,kind=group"}, store.Filter{{{Key: "kind", Values: []string{"api", "group"}}}}, ""},
		{[]string{"metadata.annotations.backstage.io/techdocs-ref"}, store.Filter{{{Key: "metadata.annotations.backstage.io/techdocs-ref"}}}, ""},
		{[]string{"relations.ownedBy=group:default/Team-A"}, store.Filter{{{Key: "relations.ownedby", Values: []string{"group:default/team-a"}}}}, ""},
		{[]string{"spec.x=a=b"}, store.Filter{{{Key: "spec.x", Values: []string{"a=b"}}}}, ""},
		{[]string{""}, nil, ""},
		{[]string{"=x"}, nil, "has no key"},
	}
	for _, c := range cases {
		got, err := ParseFilter(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: want error %q, got %v", c.in, c.err, err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%v: got %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestApplyFields(t *testing.T) {
	e := map[string]any{"kind": "Component", "metadata": map[string]any{"name": "a", "tags": []any{"x"}}, "spec": map[string]any{"owner": "t"}}
	got := ApplyFields(e, []string{"kind", "metadata.name", "spec.missing"})
	if fmt.Sprint(got) != "map[kind:Component metadata:map[name:a]]" {
		t.Fatalf("got %v", got)
	}
}

func TestRules(t *testing.T) {
	user := Entity{"kind": "User", "metadata": map[string]any{"name": "u"}}
	comp := Entity{"kind": "Component", "metadata": map[string]any{"name": "c"}}
	r := DefaultRules()
	if err := r.Allowed(user, Source{Type: "url", Target: "https://x/y.yaml"}, nil); err == nil || !strings.Contains(err.Error(), "only locations in rigger.yaml") {
		t.Errorf("user from registered location: %v", err)
	}
	if err := r.Allowed(user, Source{Type: "file", Target: "org.yaml", Static: true}, nil); err != nil {
		t.Errorf("user from static location: %v", err)
	}
	if err := r.Allowed(comp, Source{Type: "url", Target: "https://x"}, nil); err != nil {
		t.Errorf("component: %v", err)
	}
	strict := Rules{Global: []Rule{{Allow: []string{"Component"}, Locations: []RuleLocation{{Type: "file", Pattern: "/repo/*.yaml"}}}}}
	if err := strict.Allowed(comp, Source{Type: "file", Target: "/repo/a.yaml"}, nil); err != nil {
		t.Errorf("pattern match: %v", err)
	}
	if err := strict.Allowed(comp, Source{Type: "file", Target: "/other/a.yaml"}, nil); err == nil {
		t.Error("pattern mismatch allowed")
	}
}

func TestParseRef(t *testing.T) {
	for in, want := range map[string]string{
		"team-a": "group:default/team-a", "Group:Ops/Team-A": "group:ops/Team-A", "ns/x": "group:ns/x", "user:x": "user:default/x",
	} {
		r, err := ParseRef(in, "Group", "default")
		if err != nil || r.String() != want {
			t.Errorf("%s: %v %v, want %s", in, r, err, want)
		}
	}
	for _, bad := range []string{"", "x:", "a:b/c/d", "x:ns/"} {
		if _, err := ParseRef(bad, "Group", "default"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseRef("name", "", "default"); err == nil {
		t.Error("ref without kind accepted where none is implied")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(component))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("---\n---\nkind: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := Parse("f.yaml", data, DefaultLimits())
		for _, d := range docs {
			if d.Entity != nil && len(Validate(d.Entity)) > 0 {
				t.Fatal("an accepted entity does not validate")
			}
			if d.Entity != nil {
				edges, _ := Relations(d.Entity)
				_ = SearchRows(d.Entity, edges)
			}
		}
	})
}

func FuzzParseFilter(f *testing.F) {
	f.Add("kind=component,spec.type=service")
	f.Add("=,,=")
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter([]string{s})
		if err != nil {
			return
		}
		for _, all := range flt {
			for _, c := range all {
				if c.Key == "" || c.Key != strings.ToLower(c.Key) {
					t.Fatalf("bad key %q", c.Key)
				}
			}
		}
	})
}
