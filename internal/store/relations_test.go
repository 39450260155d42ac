package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// jsonRelations is what json.Unmarshal reads from raw as SQLite's relations
// array, and whether it is one.
func jsonRelations(ref, raw string) ([]Relation, bool) {
	var pairs [][2]string
	if json.Unmarshal([]byte(raw), &pairs) != nil {
		return nil, false
	}
	out := make([]Relation, len(pairs))
	for i, p := range pairs {
		out[i] = Relation{Source: ref, Type: p[0], Target: p[1]}
	}
	return out, true
}

// TestParseRelations: the fast reading of the relations array answers as
// json.Unmarshal does, in SQLite's spacing and PostgreSQL's, and hands
// anything else (escapes, malformed text) to json.Unmarshal.
func TestParseRelations(t *testing.T) {
	for _, raw := range []string{
		`[]`,
		`[["ownedBy","group:default/team-a"]]`,
		`[["dependsOn","component:default/b"],["ownedBy","group:default/team-a"]]`,
		`[["dependsOn", "component:default/b"], ["ownedBy", "group:default/team-a"]]`,
		` [ [ "a" , "b" ] ] `,
		`[["ownedBy","group:default/t\"q"]]`,
		`[["ownedBy","group:default/\u00e9\\"]]`,
		`[["ownedBy","x"],]`,
		`[["ownedBy"]]`,
		`[["ownedBy","x","y"]]`,
		`[["ownedBy","x"]`,
		`[["ownedBy",1]]`,
		`[`,
		`[] x`,
		``,
	} {
		want, valid := jsonRelations("c:d/e", raw)
		got, err := parseRelations("c:d/e", raw)
		if (err == nil) != valid {
			t.Fatalf("%s: error %v, json.Unmarshal accepts it: %v", raw, err, valid)
		}
		if valid && !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("%s: %+v, want %+v", raw, got, want)
		}
	}
	if _, ok := scanPairs("c:d/e", `[["dependsOn", "component:default/b"], ["ownedBy", "group:default/team-a"]]`); !ok {
		t.Fatal("PostgreSQL's spacing fell back to json.Unmarshal")
	}
}

// FuzzParseRelations: whatever the text, parseRelations agrees with
// json.Unmarshal on whether it is a relations array and on its content.
func FuzzParseRelations(f *testing.F) {
	for _, s := range []string{`[]`, `[["a","b"]]`, `[["a", "b"], ["c", "d"]]`, `[["a\n","b"]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, valid := jsonRelations("r", raw)
		got, err := parseRelations("r", raw)
		if (err == nil) != valid {
			t.Fatalf("%q: error %v, json.Unmarshal accepts it: %v", raw, err, valid)
		}
		if valid && len(got)+len(want) > 0 && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: %+v, want %+v", raw, got, want)
		}
	})
}

// TestReadRelationsSortedDistinct: the relations array, in whatever order
// and with repeats (SQLite's is neither sorted nor distinct), reads
// sorted by type and then target in byte order, each pair once.
func TestReadRelationsSortedDistinct(t *testing.T) {
	raw := `[["x-a","group:default/b"],["ownedBy","group:default/t"],["x-B","group:default/a"],["ownedBy","group:default/t"],["dependsOn","component:default/z"],["dependsOn","component:default/a"]]`
	got, err := readRelations("c:d/e", raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []Relation{
		{Source: "c:d/e", Type: "dependsOn", Target: "component:default/a"},
		{Source: "c:d/e", Type: "dependsOn", Target: "component:default/z"},
		{Source: "c:d/e", Type: "ownedBy", Target: "group:default/t"},
		{Source: "c:d/e", Type: "x-B", Target: "group:default/a"},
		{Source: "c:d/e", Type: "x-a", Target: "group:default/b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	sorted := `[["dependsOn","component:default/a"],["ownedBy","group:default/t"]]`
	if got, err := readRelations("c:d/e", sorted); err != nil || len(got) != 2 || got[0].Type != "dependsOn" || got[1].Target != "group:default/t" {
		t.Fatalf("an already sorted array: %+v, %v", got, err)
	}
}
