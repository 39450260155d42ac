package store

import (
	"strings"
	"testing"
)

// TestCountFromSearchShapes: the counts that read the search index alone
// are those of one condition on a search key alone, less
// the entities a hidden set names or else those the access predicate does
// not admit, and no other shape (which would then count wrongly or
// slowly), on a dialect that counts so: the conformance suite checks the
// totals, this which path gives them.
func TestCountFromSearchShapes(t *testing.T) {
	c := func(k string, v ...string) Cond { return Cond{Key: k, Values: v} }
	sensitive := Not(Match("metadata.tags", "js"))
	hidden := &HiddenAt{Gen: 1, Refs: []string{"component:default/x"}}
	cases := []struct {
		name   string
		qu     Query
		hidden *HiddenAt
		path   int
		less   bool
	}{
		{"a label", Query{Filter: Filter{{c("metadata.labels.team", "a")}}}, nil, countSearch, false},
		{"a key that exists", Query{Filter: Filter{{c("Spec.Lifecycle")}}}, nil, countSearch, false},
		{"kind without values", Query{Filter: Filter{{c("kind"), c("metadata.tags", "go")}}}, nil, countSearch, false},
		{"owner beside kind", Query{Filter: Filter{{c("Kind", "Component"), c("spec.owner", "team-a")}}}, nil, countEntities, false},
		{"a hidden set", Query{Filter: Filter{{c("spec.owner", "x")}}, Access: sensitive}, hidden, countSearch, true},
		{"an empty hidden set", Query{Filter: Filter{{c("spec.owner", "x")}}, Access: sensitive}, &HiddenAt{Gen: 1}, countSearch, false},
		{"the access predicate", Query{Filter: Filter{{c("spec.owner", "x")}}, Access: sensitive}, nil, countSearchLess, true},
		{"kind alone", Query{Filter: Filter{{c("kind", "component")}}}, nil, countEntities, false},
		{"namespace", Query{Filter: Filter{{c("spec.owner", "x"), c("metadata.namespace", "default")}}}, nil, countEntities, false},
		{"name", Query{Filter: Filter{{c("metadata.name", "x")}}}, nil, countEntities, false},
		{"everything", Query{}, nil, countEntities, false},
		{"an empty conjunction", Query{Filter: Filter{{}}}, nil, countEntities, false},
		{"two search keys", Query{Filter: Filter{{c("spec.owner", "x"), c("spec.type", "service")}}}, nil, countEntities, false},
		{"a relation", Query{Filter: Filter{{c("relations.ownedBy", "group:default/x")}}}, nil, countEntities, false},
		{"a uid", Query{Filter: Filter{{c("metadata.uid", "u")}}}, nil, countEntities, false},
		{"or", Query{Filter: Filter{{c("spec.owner", "x")}, {c("spec.owner", "y")}}}, nil, countEntities, false},
		{"full text", Query{Filter: Filter{{c("spec.owner", "x")}}, FullText: "svc"}, nil, countEntities, false},
	}
	s := &SQL{d: Dialect{Name: "sqlite", CountFromSearch: true}}
	for _, cs := range cases {
		q := s.builder()
		path := s.countFromSearch(&q, cs.qu, cs.hidden)
		sql := q.b.String()
		if path != cs.path || strings.Contains(sql, "NOT IN") != cs.less {
			t.Fatalf("%s: path %d subtracting %v, want path %d subtracting %v (%s)", cs.name, path, strings.Contains(sql, "NOT IN"), cs.path, cs.less, sql)
		}
		if path == countEntities && sql != "" {
			t.Fatalf("%s: wrote %q without taking the path", cs.name, sql)
		}
	}
	off := &SQL{d: Dialect{Name: "postgres"}}
	q := off.builder()
	if path := off.countFromSearch(&q, cases[0].qu, nil); path != countEntities || q.b.Len() != 0 {
		t.Fatalf("a dialect without CountFromSearch took the path: %q", q.b.String())
	}
}
