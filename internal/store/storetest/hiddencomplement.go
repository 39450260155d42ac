package storetest

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// testHiddenSetComplement: for random access predicates (And, Or and Not
// over conditions on present, missing, multi-valued and case-differing
// fields, and bare existence tests), HiddenSet's entities are exactly the
// ones a query under the predicate does not return: none both, none
// neither. HiddenSet finds them from the index side with the predicate's
// negations pushed down to its conditions, and a page given the set (or
// a relation pruned by it) decides what a caller sees, so a pushdown that
// is not the exact complement would show an entity the policy hides.
func testHiddenSetComplement(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := loaded(t, open)
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/complement.yaml"}))
	// Entities without an owner or a type, with tags in several cases,
	// with an annotation, and a relation to a group.
	more := []store.Entity{
		ent("Component", "bare", map[string]string{}),
		ent("Component", "tagged", map[string]string{"type": "Service", "owner": "Team-B"}, "JS", "go", "x"),
		ent("Resource", "db", map[string]string{"type": "database", "owner": "team-b", "system": "payments"}),
	}
	more[1].Search = append(more[1].Search, store.SearchRow{Key: "metadata.annotations.rigger.io/sensitive", Value: "true", Original: "true"})
	must(s.ReplaceLocation(ctx, loc.ID, more, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	all := map[string]bool{}
	for _, e := range must(s.Query(ctx, store.Query{Limit: 100})).Entities {
		all[e.Ref] = true
	}
	if len(all) != 8 {
		t.Fatalf("catalog: %d entities, want 8", len(all))
	}

	conds := []*store.Expr{
		store.Match("kind", "component"), store.Match("kind", "api", "group"), store.Match("kind", "location"),
		store.Match("spec.owner", "team-a"), store.Match("spec.owner", "team-b"), store.Match("spec.owner"),
		store.Match("spec.type", "service"), store.Match("spec.type"), store.Match("spec.system", "payments"),
		store.Match("metadata.tags", "js"), store.Match("metadata.tags", "go", "api"), store.Match("metadata.tags"),
		store.Match("metadata.name", "svc-c", "bare"), store.Match("metadata.annotations.rigger.io/sensitive", "true"),
		store.Match("metadata.annotations.rigger.io/sensitive"), store.Match("relations.ownedby", "group:default/team-a"),
		store.Match("relations.ownedby"), store.Match("spec.lifecycle", "production", "experimental"),
	}
	rng := rand.New(rand.NewPCG(36, 19))
	var gen func(depth int) *store.Expr
	gen = func(depth int) *store.Expr {
		if depth == 0 || rng.IntN(3) == 0 {
			return conds[rng.IntN(len(conds))]
		}
		switch rng.IntN(3) {
		case 0:
			return store.Not(gen(depth - 1))
		case 1:
			return store.And(gen(depth-1), gen(depth-1))
		default:
			return store.Or(gen(depth-1), gen(depth-1), gen(depth-1))
		}
	}
	for i := range 300 {
		access := gen(4)
		admitted := map[string]bool{}
		for _, e := range must(s.Query(ctx, store.Query{Access: access, Limit: 100})).Entities {
			admitted[e.Ref] = true
		}
		_, hidden, whole, err := s.HiddenSet(ctx, access, 100)
		if err != nil || !whole {
			t.Fatalf("predicate %d %s: HiddenSet: whole %v, %v", i, access.Key(), whole, err)
		}
		for ref := range all {
			if admitted[ref] == hidden[ref] {
				t.Fatalf("predicate %d %s: %s admitted %v and hidden %v", i, access.Key(), ref, admitted[ref], hidden[ref])
			}
		}
		for ref := range hidden {
			if !all[ref] {
				t.Fatalf("predicate %d: HiddenSet names %s, which is not stored", i, ref)
			}
		}
		// A count alone (from the search index where the dialect counts
		// so, less what access does not admit) agrees with the page.
		for _, f := range []store.Filter{{{{Key: "spec.type"}}}, {{{Key: "kind", Values: []string{"component", "resource"}}, {Key: "metadata.tags"}}}} {
			listed := len(must(s.Query(ctx, store.Query{Filter: f, Access: access, Limit: 100})).Entities)
			if n := must(s.Query(ctx, store.Query{Filter: f, Access: access, CountOnly: true})).TotalItems; n != listed {
				t.Fatalf("predicate %d %s, filter %v: counts %d, the page lists %d", i, access.Key(), f, n, listed)
			}
		}
	}
}
