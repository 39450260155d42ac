package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// testRelationKeys: every use of a relations.<type> key reads the
// relations table, whoever emitted the relation — filters, access checks
// (a probe per row and the hidden set), counts, facets, orders and full
// text, with fields and without — and no search row of such a key is
// stored, even when a writer hands one over. team-a's ownerOf relations
// are emitted by what it owns: a search row of team-a never held them.
func testRelationKeys(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/a.yaml"}))
	es := seed()
	// A writer that still hands over relations.* rows (as Backstage's
	// search table holds them): they are not stored.
	es[1].Search = append(es[1].Search, store.SearchRow{Key: "relations.ownedby", Value: "group:default/team-z", Original: "group:default/Team-Z"})
	must(s.ReplaceLocation(ctx, loc.ID, es, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	c := func(k string, v ...string) store.Cond { return store.Cond{Key: k, Values: v} }
	components := store.Filter{{c("kind", "component")}}

	query := func(name string, qu store.Query, want ...string) {
		t.Helper()
		qu.Limit = 100
		p := must(s.Query(ctx, qu))
		if got := names(p.Entities); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
		if p.TotalItems != len(want) {
			t.Errorf("%s: totalItems %d, want %d", name, p.TotalItems, len(want))
		}
		qu.CountOnly = true
		if n := must(s.Query(ctx, qu)).TotalItems; n != len(want) {
			t.Errorf("%s: count alone %d, want %d", name, n, len(want))
		}
	}
	query("a handed-over relations row is not stored", store.Query{FullText: "team-z"})
	query("reverse relation filter", store.Query{Filter: store.Filter{{c("relations.ownerOf", "component:default/svc-a")}}}, "group:default/team-a")
	query("full text in a relation field", store.Query{FullText: "TEAM-B", FullTextFields: []string{"relations.ownedBy"}}, "component:default/svc-b")
	query("full text in a name or a relation", store.Query{FullText: "b", FullTextFields: []string{"metadata.name", "relations.ownedBy"}}, "component:default/svc-b")
	query("full text in a reverse relation", store.Query{FullText: "svc-c", FullTextFields: []string{"relations.ownerOf"}}, "group:default/team-a")
	query("full text in any value reads relations", store.Query{FullText: "component:default/svc-a"}, "group:default/team-a")
	query("full text in any value, a relation target", store.Query{FullText: "group:default/team-b"}, "component:default/svc-b")
	// Ordered by name with a full text: SQLite walks the names and tests
	// the text on each row (querywalk).
	query("walked full text in a relation field", store.Query{FullText: "team-a", FullTextFields: []string{"relations.ownedBy"}, Order: []store.Order{{Field: "metadata.name"}}},
		"api:default/api-a", "component:default/svc-a", "component:default/svc-c")
	query("ordered by a relation", store.Query{Filter: components, Order: []store.Order{{Field: "relations.ownedBy", Desc: true}, {Field: "metadata.name"}}},
		"component:default/svc-b", "component:default/svc-a", "component:default/svc-c")
	query("access by a reverse relation", store.Query{Access: store.Match("relations.ownerOf", "component:default/svc-c")}, "group:default/team-a")
	query("access by a relation", store.Query{Filter: components, Access: store.Match("relations.ownedBy", "group:default/team-b")}, "component:default/svc-b")
	query("access: any relation of a type", store.Query{Access: store.Match("relations.ownerOf")}, "group:default/team-a")
	query("access: no relation of a type", store.Query{Access: store.Not(store.Match("relations.ownedBy"))}, "group:default/team-a")

	hidden := must(s.HiddenRefs(ctx, []string{"component:default/svc-a", "component:default/svc-b", "group:default/team-a"}, store.Match("relations.ownedBy", "group:default/team-a")))
	want := map[string]bool{"component:default/svc-b": true, "group:default/team-a": true}
	if fmt.Sprint(hidden) != fmt.Sprint(want) {
		t.Errorf("hidden by a relation access: %v, want %v", hidden, want)
	}
	if _, set, whole, err := s.HiddenSet(ctx, store.Match("relations.ownedBy", "group:default/team-a"), 100); err != nil || !whole || fmt.Sprint(set) != fmt.Sprint(want) {
		t.Errorf("hidden set of a relation access: %v (whole %v, %v), want %v", set, whole, err, want)
	}

	facets := func(name string, f store.Filter, access *store.Expr, key, want string) {
		t.Helper()
		got := must(s.FacetsAccess(ctx, f, access, []string{key}))
		if fmt.Sprint(got[key]) != want {
			t.Errorf("%s: facet %s %v, want %s", name, key, got[key], want)
		}
	}
	facets("owners of components", components, nil, "relations.ownedBy", "[{group:default/team-a 2} {group:default/team-b 1}]")
	facets("what the groups own", nil, nil, "relations.ownerOf", "[{api:default/api-a 1} {component:default/svc-a 1} {component:default/svc-c 1}]")
	facets("owners, filtered by a relation", store.Filter{{c("relations.ownedBy", "group:default/team-b")}}, nil, "relations.ownedBy", "[{group:default/team-b 1}]")
	facets("owners under access", components, store.Or(store.Match("spec.type", "service"), store.Match("kind", "group")), "relations.ownedBy", "[{group:default/team-a 2}]")
	facets("a type no entity has", nil, nil, "relations.partOf", "[]")
	// A target access does not admit is not named (as an entity's
	// relations leave it out); one that is no entity is.
	facets("what the groups own, svc-a hidden", nil, store.Not(store.Match("metadata.name", "svc-a")), "relations.ownerOf", "[{api:default/api-a 1} {component:default/svc-c 1}]")
	facets("owners, team-a hidden", components, store.Not(store.Match("kind", "group")), "relations.ownedBy", "[{group:default/team-b 1}]")
}
