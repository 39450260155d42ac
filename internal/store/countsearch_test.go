package store

import "testing"

// TestCountFromSearchShapes: the counts that read the search index alone
// are those of one condition on a search key alone (the key read
// lower-cased), less the entities the access predicate does not admit
// unless a hidden set is given, and no other shape (which would then count
// wrongly or slowly), on a dialect that counts so: the conformance suite
// checks the totals, this which path gives them.
func TestCountFromSearchShapes(t *testing.T) {
	c := func(k string, v ...string) Cond { return Cond{Key: k, Values: v} }
	sensitive := Not(Match("metadata.tags", "js"))
	hidden := &HiddenAt{Gen: 1, Refs: []string{"component:default/x"}}
	cases := []struct {
		name   string
		qu     Query
		hidden *HiddenAt
		path   int
		key    string
	}{
		{"a label", Query{Filter: Filter{{c("metadata.labels.team", "a")}}}, nil, countSearch, "metadata.labels.team"},
		{"a key that exists", Query{Filter: Filter{{c("Spec.Lifecycle")}}}, nil, countSearch, "spec.lifecycle"},
		{"kind without values", Query{Filter: Filter{{c("kind"), c("metadata.tags", "go")}}}, nil, countSearch, "metadata.tags"},
		{"owner beside kind", Query{Filter: Filter{{c("Kind", "Component"), c("spec.owner", "team-a")}}}, nil, countEntities, ""},
		{"a hidden set", Query{Filter: Filter{{c("spec.owner", "x")}}, Access: sensitive}, hidden, countSearch, "spec.owner"},
		{"an empty hidden set", Query{Filter: Filter{{c("spec.owner", "x")}}, Access: sensitive}, &HiddenAt{Gen: 1}, countSearch, "spec.owner"},
		{"the access predicate", Query{Filter: Filter{{c("spec.owner", "x")}}, Access: sensitive}, nil, countSearchLess, "spec.owner"},
		{"kind alone", Query{Filter: Filter{{c("kind", "component")}}}, nil, countEntities, ""},
		{"namespace", Query{Filter: Filter{{c("spec.owner", "x"), c("metadata.namespace", "default")}}}, nil, countEntities, ""},
		{"name", Query{Filter: Filter{{c("metadata.name", "x")}}}, nil, countEntities, ""},
		{"everything", Query{}, nil, countEntities, ""},
		{"an empty conjunction", Query{Filter: Filter{{}}}, nil, countEntities, ""},
		{"two search keys", Query{Filter: Filter{{c("spec.owner", "x"), c("spec.type", "service")}}}, nil, countEntities, ""},
		{"a relation", Query{Filter: Filter{{c("relations.ownedBy", "group:default/x")}}}, nil, countEntities, ""},
		{"a uid", Query{Filter: Filter{{c("metadata.uid", "u")}}}, nil, countEntities, ""},
		{"or", Query{Filter: Filter{{c("spec.owner", "x")}, {c("spec.owner", "y")}}}, nil, countEntities, ""},
		{"full text", Query{Filter: Filter{{c("spec.owner", "x")}}, FullText: "svc"}, nil, countEntities, ""},
	}
	s := &SQL{d: Dialect{Name: "sqlite", CountFromSearch: true}}
	for _, cs := range cases {
		path, key := s.countFromSearch(cs.qu, cs.hidden)
		if path != cs.path || key.Key != cs.key {
			t.Fatalf("%s: path %d reading %q, want path %d reading %q", cs.name, path, key.Key, cs.path, cs.key)
		}
	}
	off := &SQL{d: Dialect{Name: "postgres"}}
	if path, _ := off.countFromSearch(cases[0].qu, nil); path != countEntities {
		t.Fatal("a dialect without CountFromSearch took the path")
	}
}
