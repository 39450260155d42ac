package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// TestGenericPlans: a page and its count of a filter that matches few
// entities run on the pool whose sessions use generic plans; a filter
// whose count passes the bound runs there once and is planned per
// request from then on; a page tested against an access predicate never
// runs there. pg_stat_activity tells where each ran: the pool's sessions
// are named, and their last statement's start moves when they run one.
func TestGenericPlans(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	s, err := Open(ctx, dsn, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := rawDB(t, dsn)
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/owners.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	var batch []store.Entity
	add := func(kind, name, owner string) {
		ref := fmt.Sprintf("%s:default/%s", kind, name)
		batch = append(batch, store.Entity{Ref: ref, Hash: ref,
			Body:   fmt.Appendf(nil, `{"kind":%q,"metadata":{"name":%q},"spec":{"owner":%q}}`, kind, name, owner),
			Search: []store.SearchRow{{Key: "kind", Value: kind}, {Key: "metadata.name", Value: name}, {Key: "spec.owner", Value: owner}}})
	}
	const big = 1500
	for i := range big {
		add("component", fmt.Sprintf("big-%04d", i), "team-big")
	}
	for i := range 3 {
		add("component", fmt.Sprintf("small-%d", i), "team-small")
	}
	add("api", "small-api", "team-small")
	if _, err := s.ReplaceLocation(ctx, loc.ID, batch, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}

	// lastGeneric is when the pool's sessions last started a statement.
	lastGeneric := func() time.Time {
		t.Helper()
		var last *time.Time
		if err := db.QueryRow(`SELECT max(query_start) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`, genericApp).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if last == nil {
			return time.Time{}
		}
		return *last
	}
	owned := func(owner string) store.Filter {
		return store.Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{owner}}}}
	}
	page := func(what string, qu store.Query, wantTotal int, generic bool) []string {
		t.Helper()
		before := lastGeneric()
		got, err := s.Query(ctx, qu)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got.TotalItems != wantTotal {
			t.Fatalf("%s: total %d, want %d", what, got.TotalItems, wantTotal)
		}
		if ran := lastGeneric().After(before); ran != generic {
			t.Errorf("%s: ran on generic plans %v, want %v", what, ran, generic)
		}
		var refs []string
		for _, e := range got.Entities {
			refs = append(refs, e.Ref)
		}
		return refs
	}

	small := page("a small owner's page", store.Query{Filter: owned("team-small"), Limit: 2}, 3, true)
	if want := []string{"component:default/small-0", "component:default/small-1"}; !slices.Equal(small, want) {
		t.Fatalf("a small owner's page: %v, want %v", small, want)
	}
	first := page("a big owner's first page", store.Query{Filter: owned("team-big"), Limit: 5}, big, true)
	again := page("a big owner's page again", store.Query{Filter: owned("team-big"), Limit: 5}, big, false)
	if want := []string{"component:default/big-0000", "component:default/big-0001", "component:default/big-0002", "component:default/big-0003", "component:default/big-0004"}; !slices.Equal(first, want) || !slices.Equal(again, want) {
		t.Fatalf("a big owner's pages: %v then %v, want %v", first, again, want)
	}
	page("a small owner's page again", store.Query{Filter: owned("team-small"), Limit: 2}, 3, true)

	// Not on generic plans: a page tested against an access predicate
	// (planned for the policy's values), with no count to learn from, or
	// a full-text search.
	smallOnly := store.Match("spec.owner", "team-small")
	page("a page under an access predicate", store.Query{Filter: owned("team-small"), Limit: 2, Access: smallOnly}, 3, false)
	page("a page given what the predicate hides", store.Query{Filter: owned("team-small"), Limit: 2, Access: smallOnly,
		Hidden: &store.HiddenAt{Gen: generation(t, db), Refs: []string{}}}, 3, true)
	page("a page without its count", store.Query{Filter: owned("team-small"), Limit: 2, NoTotal: true}, 0, false)
	page("a full-text page", store.Query{Filter: owned("team-small"), Limit: 2, FullText: "small"}, 3, false)
}

// generation is the catalog's write generation.
func generation(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var gen int64
	if err := db.QueryRow(`SELECT SUM(n)::bigint FROM catalog_generation`).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	return gen
}
