package catalog

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// rowText renders rows one per line: key=value, key=<null>.
func rowText(rows []SearchRow) string {
	var b strings.Builder
	for _, r := range rows {
		v := r.Value
		if r.Null {
			v = "<null>"
		} else if r.Original != r.Value {
			v += " (" + r.Original + ")"
		}
		fmt.Fprintf(&b, "%s=%s\n", r.Key, v)
	}
	return b.String()
}

// traverseRows runs the generic part of BuildSearch on v.
func traverseRows(v map[string]any) string {
	b := searchBuilder{seenItem: map[string]bool{}}
	b.visitMap("", v)
	return rowText(b.rows)
}

// Cases after Backstage's buildEntitySearch.test.ts.
func TestSearchTraverse(t *testing.T) {
	cases := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"lists of strings", map[string]any{"a": []any{"b", "c", "d"}},
			"a=b\na.b=true\na=c\na.c=true\na=d\na.d=true\n"},
		{"objects", map[string]any{"a": map[string]any{"b": map[string]any{"c": "d"}, "e": "f"}},
			"a.b.c=d\na.e=f\n"},
		{"lists of objects", map[string]any{"root": map[string]any{"list": []any{map[string]any{"a": int64(1)}, map[string]any{"a": int64(2)}}}},
			"root.list.a=1\nroot.list.a=2\n"},
		{"special keys", map[string]any{"status": map[string]any{"x": 1}, "attachments": []any{1}, "relations": []any{1}, "a": "a",
			"metadata": map[string]any{"b": "b", "name": "n", "namespace": "ns", "uid": "u", "etag": "e", "c": "c"}, "d": "d"},
			"a=a\nd=d\nmetadata.b=b\nmetadata.c=c\n"},
		{"scalars", map[string]any{"a": true, "b": false, "c": int64(7), "d": "String", "e": nil, "f": 1.5, "g": 1e21, "h": 1e-7, "i": 100.0},
			"a=true\nb=false\nc=7\nd=string (String)\ne=<null>\nf=1.5\ng=1e+21\nh=1e-7\ni=100\n"},
		{"item keys once, case-insensitively", map[string]any{"t": []any{"Java", "java", "JAVA"}},
			"t=java (Java)\nt.java=true (true)\nt=java\nt=java (JAVA)\n"},
		{"long keys skipped, long values null", map[string]any{strings.Repeat("k", 201): "v", "a": strings.Repeat("v", 201), "b": strings.Repeat("é", 200)},
			"a=<null>\nb=" + strings.Repeat("é", 200) + "\n"},
		{"UTF-16 length", map[string]any{"a": strings.Repeat("😀", 101)}, "a=<null>\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The item-key row keeps its own casing; normalise the display.
			got := strings.ReplaceAll(traverseRows(c.in), "t.java=true\n", "t.java=true (true)\n")
			if got != c.want {
				t.Errorf("got\n%swant\n%s", got, c.want)
			}
		})
	}
}

func TestBuildSearch(t *testing.T) {
	cases := []struct {
		name  string
		e     Entity
		edges []Edge
		want  string
		err   string
	}{
		{name: "special keys even if missing", e: Entity{"apiVersion": "a", "kind": "b", "metadata": map[string]any{"name": "n"}},
			want: "apiversion=a\nkind=b\nmetadata.name=n\nmetadata.namespace=<null>\nmetadata.namespace=default\nmetadata.uid=<null>\n"},
		{name: "relations", e: Entity{"apiVersion": "a", "kind": "b", "metadata": map[string]any{"name": "n", "namespace": "ns"},
			"relations": []any{map[string]any{"type": "t1", "targetRef": "k:ns/a"}, map[string]any{"type": "t2", "targetRef": "k:ns/b"}}},
			edges: []Edge{{"b:ns/n", "ownedBy", "group:ns/Team"}, {"group:ns/team", "ownerOf", "b:ns/n"}},
			want:  "apiversion=a\nkind=b\nmetadata.name=n\nmetadata.namespace=ns\nmetadata.uid=<null>\nrelations.ownedby=group:ns/team (group:ns/Team)\nrelations.t1=k:ns/a\nrelations.t2=k:ns/b\n"},
		{name: "duplicates dropped", e: Entity{"kind": "b", "metadata": map[string]any{"name": "n", "uid": "U1", "tags": []any{"java", "java"}}},
			want: "kind=b\nmetadata.name=n\nmetadata.namespace=<null>\nmetadata.namespace=default\nmetadata.tags=java\nmetadata.tags.java=true\nmetadata.uid=u1 (U1)\n"},
		{name: "metadata keys differing in case", e: Entity{"kind": "b", "metadata": map[string]any{"name": "n", "Namespace": "ns"}},
			err: "entity has duplicate keys that vary only in casing, 'metadata.namespace'"},
		{name: "relation types differing in case", e: Entity{"kind": "b", "metadata": map[string]any{"name": "n"},
			"relations": []any{map[string]any{"type": "dup", "targetRef": "k:ns/a"}, map[string]any{"type": "DUP", "targetRef": "k:ns/b"}}},
			err: "entity has duplicate keys that vary only in casing, 'relations.dup'"},
		{name: "spec keys differing in case", e: Entity{"kind": "b", "metadata": map[string]any{"name": "n"},
			"spec": map[string]any{"owner": "o", "OWNER": "o", "lifecycle": "p", "lifeCycle": "p"}},
			err: "entity has duplicate keys that vary only in casing, 'spec.lifecycle', 'spec.owner'"},
		{name: "keys in many cases, one clash", e: Entity{"kind": "b", "metadata": map[string]any{"name": "n"},
			"spec": map[string]any{"A1": 1, "A2": 2, "A3": 3, "A4": 4, "A5": 5, "A6": 6, "A7": 7, "A8": 8, "A9": 9, "a7": 7, "Zz": []any{"Q", "q"}}},
			err: "entity has duplicate keys that vary only in casing, 'spec.a7'"},
		{name: "keys in a few cases, a clash with a key written lower-case", e: Entity{"kind": "b", "metadata": map[string]any{"name": "n"},
			"spec": map[string]any{"providesApis": []any{"x"}, "providesapis": "y", "dependsOn": "z"}},
			err: "entity has duplicate keys that vary only in casing, 'spec.providesapis'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := BuildSearch(c.e, c.edges)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("got %v, want error %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rowText(rows); got != c.want {
				t.Errorf("got\n%swant\n%s", got, c.want)
			}
		})
	}
}

// TestSearchRowsGolden pins the rows of a realistic entity.
func TestSearchRowsGolden(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "search", "component.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e := parseOne(t, string(src))
	edges, _ := Relations(e)
	got := rowText(SearchRows(e, edges))
	golden := filepath.Join("testdata", "search", "component.rows")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("search rows changed (run with -update to accept):\ngot\n%swant\n%s", got, want)
	}
	// Every row is addressable with GetPath by its key, except the ones
	// BuildSearch derives.
	for _, r := range SearchRows(e, edges) {
		if r.Null || strings.HasPrefix(r.Key, "relations.") || r.Value == "true" {
			continue
		}
		found := slices.ContainsFunc(e.GetPath(keyAsWritten(e, r.Key)), func(v any) bool {
			s, _ := scalarText(v)
			return strings.EqualFold(s, r.Value)
		})
		if !found && r.Key != "metadata.namespace" {
			t.Errorf("row %s=%s not found by GetPath", r.Key, r.Value)
		}
	}
}

// keyAsWritten finds the spelling of a lower-cased search key in e.
func keyAsWritten(e Entity, lower string) string {
	var found string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				walk(joinKey(prefix, k), c)
			}
		case []any:
			for _, c := range t {
				walk(prefix, c)
			}
		default:
			if strings.ToLower(prefix) == lower {
				found = prefix
			}
		}
	}
	walk("", map[string]any(e))
	return found
}

// TestCompareRowsKeepsSortSliceOrder: BuildSearch sorts with
// slices.SortFunc(compareRows) where it used sort.Slice; rows equal in
// key, value and nullness but not in Original (tags "Java" and "java")
// must still end in the order sort.Slice left them, since the first is
// the one kept (and facets show its Original).
func TestCompareRowsKeepsSortSliceOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 35))
	keys, values := []string{"a", "b", "metadata.tags", "spec.owner"}, []string{"", "java", "go"}
	for n := range 300 {
		rows := make([]SearchRow, n)
		for i := range rows {
			v := values[rng.IntN(len(values))]
			r := SearchRow{Key: keys[rng.IntN(len(keys))], Value: v, Original: fmt.Sprint(v, i)}
			if v == "" && rng.IntN(2) == 0 {
				r = SearchRow{Key: r.Key, Null: true, Original: fmt.Sprint(i)}
			}
			rows[i] = r
		}
		want := slices.Clone(rows)
		sort.Slice(want, func(i, j int) bool {
			if want[i].Key != want[j].Key {
				return want[i].Key < want[j].Key
			}
			if want[i].Value != want[j].Value {
				return want[i].Value < want[j].Value
			}
			return want[i].Null && !want[j].Null
		})
		slices.SortFunc(rows, compareRows)
		if !slices.Equal(rows, want) {
			t.Fatalf("%d rows: SortFunc order\n%v\nsort.Slice order\n%v", n, rows, want)
		}
	}
}
