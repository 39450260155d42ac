package store

import (
	"strings"
	"testing"
)

// TestCountFromSearchShapes: the counts that read the search index alone
// are those of one condition on a search key, with kind and namespace
// beside it, under any access predicate (whose hidden entities are then
// subtracted), and no other shape (which would then count wrongly or
// slowly): the conformance suite checks the totals, this which path
// gives them.
func TestCountFromSearchShapes(t *testing.T) {
	c := func(k string, v ...string) Cond { return Cond{Key: k, Values: v} }
	cases := []struct {
		name string
		qu   Query
		want bool
	}{
		{"a label", Query{Filter: Filter{{c("metadata.labels.team", "a")}}}, true},
		{"owner beside kind", Query{Filter: Filter{{c("Kind", "Component"), c("spec.owner", "team-a")}}}, true},
		{"a key that exists, kind and namespace", Query{Filter: Filter{{c("spec.lifecycle"), c("kind", "api"), c("metadata.namespace", "default")}}}, true},
		{"a hidden set", Query{Filter: Filter{{c("spec.owner", "x")}}, Access: Not(Match("metadata.tags", "js")), Hidden: &HiddenAt{Gen: 1, Refs: []string{"component:default/x"}}}, true},
		{"the access predicate", Query{Filter: Filter{{c("spec.owner", "x")}}, Access: Not(Match("metadata.tags", "js"))}, true},
		{"kind alone", Query{Filter: Filter{{c("kind", "component")}}}, false},
		{"everything", Query{}, false},
		{"two search keys", Query{Filter: Filter{{c("spec.owner", "x"), c("spec.type", "service")}}}, false},
		{"a relation", Query{Filter: Filter{{c("relations.ownedBy", "group:default/x")}}}, false},
		{"a uid", Query{Filter: Filter{{c("metadata.uid", "u")}}}, false},
		{"or", Query{Filter: Filter{{c("spec.owner", "x")}, {c("spec.owner", "y")}}}, false},
		{"full text", Query{Filter: Filter{{c("spec.owner", "x")}}, FullText: "svc"}, false},
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		s := &SQL{d: Dialect{Name: dialect}}
		for _, cs := range cases {
			q := s.builder()
			got := s.countFromSearch(&q, cs.qu)
			if got != cs.want {
				t.Fatalf("%s, %s: %v, want %v (%s)", dialect, cs.name, got, cs.want, q.b.String())
			}
			if !got && q.b.Len() != 0 {
				t.Fatalf("%s, %s: wrote %q without taking the path", dialect, cs.name, q.b.String())
			}
			if got && strings.Contains(q.b.String(), "NOT IN") != !cs.qu.Access.IsTrue() {
				t.Fatalf("%s, %s: the entities access does not admit are subtracted: %v, want %v (%s)", dialect, cs.name, !cs.qu.Access.IsTrue(), strings.Contains(q.b.String(), "NOT IN"), q.b.String())
			}
		}
	}
}
