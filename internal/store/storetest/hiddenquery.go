package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// testQueryHidden: a query given what its access predicate hides
// (Query.Hidden) leaves out exactly those entities, page and count, when
// its statements read the set's generation, and answers by the predicate
// itself when they read another: a set read before a write never decides
// a page or a total read after it.
func testQueryHidden(t *testing.T, open Opener) {
	ctx := context.Background()
	s, loc := loaded(t, open)
	// Hides svc-b (tagged js).
	access := store.Not(store.Match("metadata.tags", "js"))
	gen, refs, whole, err := s.HiddenSet(ctx, access, 10)
	if err != nil || !whole || len(refs) != 1 || !refs["component:default/svc-b"] {
		t.Fatalf("HiddenSet = %d %v %v %v", gen, refs, whole, err)
	}
	components := store.Filter{{{Key: "kind", Values: []string{"component"}}}}
	check := func(name string, q store.Query, want []string, wantTotal int) {
		t.Helper()
		q.Access = access
		page := must(s.Query(ctx, q))
		if got := names(page.Entities); !slices.Equal(got, want) || page.TotalItems != wantTotal {
			t.Fatalf("%s: %v total %d, want %v total %d", name, got, page.TotalItems, want, wantTotal)
		}
		// The count alone: the same total, for the filter as given and
		// for one on a key of the search rows alone, which a dialect may
		// count from those rows: the set decides as it does the page's.
		q.CountOnly = true
		if n := must(s.Query(ctx, q)).TotalItems; n != wantTotal {
			t.Fatalf("%s, count only: %d, want %d", name, n, wantTotal)
		}
		q.Filter, q.CountOnly = store.Filter{{{Key: "spec.lifecycle"}}}, false
		listed := len(must(s.Query(ctx, q)).Entities)
		q.CountOnly = true
		if n := must(s.Query(ctx, q)).TotalItems; n != listed || listed == 0 {
			t.Fatalf("%s, spec.lifecycle, count only: %d, the page lists %d", name, n, listed)
		}
	}
	byAccess := []string{"component:default/svc-a", "component:default/svc-c"}
	check("by the predicate", store.Query{Filter: components, Limit: 10}, byAccess, 2)
	check("by the set", store.Query{Filter: components, Limit: 10, Hidden: &store.HiddenAt{Gen: gen, Refs: []string{"component:default/svc-b"}}}, byAccess, 2)
	// A set that says otherwise than the predicate shows which decided.
	other := []string{"component:default/svc-c"}
	check("the set decides at its generation", store.Query{Filter: components, Limit: 10, Hidden: &store.HiddenAt{Gen: gen, Refs: other}},
		[]string{"component:default/svc-a", "component:default/svc-b"}, 2)
	check("an empty set at its generation", store.Query{Filter: components, Limit: 10, Hidden: &store.HiddenAt{Gen: gen}},
		[]string{"component:default/svc-a", "component:default/svc-b", "component:default/svc-c"}, 3)
	check("a set of another generation", store.Query{Filter: components, Limit: 10, Hidden: &store.HiddenAt{Gen: gen - 1}}, byAccess, 2)
	check("no match", store.Query{Filter: store.Filter{{{Key: "kind", Values: []string{"domain"}}}}, Limit: 10, Hidden: &store.HiddenAt{Gen: gen - 1}}, []string{}, 0)
	// A write after the set was read: the set no longer decides.
	es := seed()
	es[0] = ent("Component", "svc-a", map[string]string{"type": "service", "lifecycle": "production", "owner": "team-a"}, "go", "js")
	must(s.ReplaceLocation(ctx, loc.ID, es, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	check("after a write", store.Query{Filter: components, Limit: 10, Hidden: &store.HiddenAt{Gen: gen, Refs: []string{"component:default/svc-b"}}},
		[]string{"component:default/svc-c"}, 1)
}
