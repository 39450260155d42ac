package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// TestGenericPlans: a page and its count of a filter that matches few
// entities (an owner's components) run on the pool whose sessions use
// generic plans; a filter whose count passes the bound, or whose
// statements took long there, runs there once and is planned per request
// from then on; other shapes, and a page tested against an access
// predicate, never run there.
func TestGenericPlans(t *testing.T) {
	ctx := context.Background()
	var batch []store.Entity
	add := func(kind, name, owner string) {
		ref := fmt.Sprintf("%s:default/%s", kind, name)
		owners := "group:default/" + owner
		batch = append(batch, store.Entity{Ref: ref, Hash: ref,
			Body: fmt.Appendf(nil, `{"kind":%q,"metadata":{"name":%q},"spec":{"owner":%q,"type":"service"}}`, kind, name, owner),
			Search: []store.SearchRow{{Key: "kind", Value: kind}, {Key: "metadata.name", Value: name},
				{Key: "spec.owner", Value: owner}, {Key: "spec.type", Value: "service"}},
			Relations: []store.Relation{{Source: ref, Type: "ownedBy", Target: owners}}})
	}
	const big = 1500
	for i := range big {
		add("component", fmt.Sprintf("big-%04d", i), "team-big")
	}
	for i := range 3 {
		add("component", fmt.Sprintf("small-%d", i), "team-small")
	}
	add("api", "small-api", "team-small")
	dsn, s, _ := generationStore(t, batch...) // (with the default 10 connections)
	db := rawDB(t, dsn)

	owned := func(owner string) store.Filter {
		return store.Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{owner}}}}
	}
	// page runs qu, and checks how many of its pages and counts ran on
	// generic plans: a filter's first request counts apart, and later
	// pages of a filter counted to match few count their matches
	// themselves.
	page := func(what string, qu store.Query, wantTotal int, wantPages, wantCounts int64) []string {
		t.Helper()
		pages, counts := s.GenericPlanRuns()
		got, err := s.Query(ctx, qu)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got.TotalItems != wantTotal {
			t.Fatalf("%s: total %d, want %d", what, got.TotalItems, wantTotal)
		}
		if p, c := s.GenericPlanRuns(); p-pages != wantPages || c-counts != wantCounts {
			t.Errorf("%s: %d pages and %d counts ran on generic plans, want %d and %d", what, p-pages, c-counts, wantPages, wantCounts)
		}
		var refs []string
		for _, e := range got.Entities {
			refs = append(refs, e.Ref)
		}
		return refs
	}

	// Statements planned afresh on a busy machine stay on generic plans
	// (but in the lock's case below).
	s.SetGenericSlow(time.Hour)
	small := page("a small owner's page", store.Query{Filter: owned("team-small"), Limit: 2}, 3, 1, 1)
	if want := []string{"component:default/small-0", "component:default/small-1"}; !slices.Equal(small, want) {
		t.Fatalf("a small owner's page: %v, want %v", small, want)
	}
	first := page("a big owner's first page", store.Query{Filter: owned("team-big"), Limit: 5}, big, 1, 1)
	again := page("a big owner's page again", store.Query{Filter: owned("team-big"), Limit: 5}, big, 0, 0)
	if want := []string{"component:default/big-0000", "component:default/big-0001", "component:default/big-0002", "component:default/big-0003", "component:default/big-0004"}; !slices.Equal(first, want) || !slices.Equal(again, want) {
		t.Fatalf("a big owner's pages: %v then %v, want %v", first, again, want)
	}
	small = page("a small owner's page again", store.Query{Filter: owned("team-small"), Limit: 2}, 3, 1, 0)
	if want := []string{"component:default/small-0", "component:default/small-1"}; !slices.Equal(small, want) {
		t.Fatalf("a small owner's page again: %v, want %v", small, want)
	}

	// Not on generic plans: a page tested against an access predicate
	// (planned for the policy's values), with no count to learn from, a
	// full-text search, two conditions on search keys, or columns alone.
	smallOnly := store.Match("spec.owner", "team-small")
	page("a page under an access predicate", store.Query{Filter: owned("team-small"), Limit: 2, Access: smallOnly}, 3, 0, 0)
	page("a page given what the predicate hides", store.Query{Filter: owned("team-small"), Limit: 2, Access: smallOnly,
		Hidden: &store.HiddenAt{Gen: generation(t, db), Refs: []string{}}}, 3, 1, 0)
	page("a page without its count", store.Query{Filter: owned("team-small"), Limit: 2, NoTotal: true}, 0, 0, 0)
	page("a full-text page", store.Query{Filter: owned("team-small"), Limit: 2, FullText: "small"}, 3, 0, 0)
	page("two conditions on search keys", store.Query{Filter: store.Filter{{{Key: "spec.owner", Values: []string{"team-small"}}, {Key: "spec.type", Values: []string{"service"}}}}, Limit: 2}, 4, 0, 0)
	page("a relation beside a kind", store.Query{Filter: store.Filter{{{Key: "Kind", Values: []string{"API"}}, {Key: "relations.ownedBy", Values: []string{"group:default/team-small"}}}}, Limit: 2}, 1, 1, 1)
	page("a small owner's page, spelled otherwise", store.Query{Filter: store.Filter{{{Key: "Spec.Owner", Values: []string{"TEAM-SMALL"}}, {Key: "KIND", Values: []string{"Component"}}}}, Limit: 2}, 3, 1, 0)
	page("a kind alone", store.Query{Filter: store.Filter{{{Key: "kind", Values: []string{"api"}}}}, Limit: 2}, 1, 0, 0)
	page("either of two owners", store.Query{Filter: append(owned("team-small"), owned("team-none")...), Limit: 2}, 3, 0, 0)

	// A filter whose statements took genericSlow on generic plans (here
	// waiting for a lock) is planned per request from then on.
	apis := store.Filter{{{Key: "kind", Values: []string{"api"}}, {Key: "spec.owner", Values: []string{"team-small"}}}}
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec("LOCK TABLE entities IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	s.SetGenericSlow(0)
	released := make(chan error, 1)
	go func() {
		// Released once a statement on generic plans has waited for it
		// 100 ms (a slow machine may start the page late).
		defer lock.Rollback()
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			var waited bool
			if err := db.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1
				AND wait_event_type = 'Lock' AND now() - query_start > interval '100 ms')`, genericApp).Scan(&waited); err != nil || waited {
				released <- err
				return
			}
		}
		released <- fmt.Errorf("no statement on generic plans waited for the lock")
	}()
	page("a page that waited", store.Query{Filter: apis, Limit: 2}, 1, 1, 1)
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	page("that page again", store.Query{Filter: apis, Limit: 2}, 1, 0, 0)
}

// TestGenericSettings: the pool's sessions plan prepared statements
// generically, without JIT, and are named.
func TestGenericSettings(t *testing.T) {
	n := 2
	db, err := openPool(freshDB(t), &n, 2, genericSettings)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode, jit, app string
	if err := db.QueryRow("SELECT current_setting('plan_cache_mode'), current_setting('jit'), current_setting('application_name')").Scan(&mode, &jit, &app); err != nil {
		t.Fatal(err)
	}
	if mode != "force_generic_plan" || jit != "off" || app != genericApp {
		t.Fatalf("plan_cache_mode %s, jit %s, application_name %s; want force_generic_plan, off, %s", mode, jit, app, genericApp)
	}
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

// TestGenericPagesAsPlanned: pages on generic plans, whose statement
// counts the matches itself, answer as pages planned per request with
// their count apart do (a store with too few connections for the pool):
// the same entities, total and cursors, first page or past the last, by
// cursor either way, by offset, and given what an access predicate hides.
func TestGenericPagesAsPlanned(t *testing.T) {
	ctx := context.Background()
	var batch []store.Entity
	for i := range 7 {
		ref := fmt.Sprintf("component:default/c%d", i)
		batch = append(batch, store.Entity{Ref: ref, Hash: ref, Body: fmt.Appendf(nil, `{"kind":"Component","metadata":{"name":"c%d"}}`, i),
			Search: []store.SearchRow{{Key: "kind", Value: "component"}, {Key: "metadata.name", Value: fmt.Sprintf("c%d", i)}, {Key: "spec.owner", Value: "team-a"}}})
	}
	dsn, generic, _ := generationStore(t, batch...)
	planned, err := Open(ctx, dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer planned.Close()
	filter := store.Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{"team-a"}}}}
	byName := []store.Order{{Field: "metadata.name", Desc: true}}
	gen := generation(t, rawDB(t, dsn))
	hidden := store.Match("metadata.name", "c0", "c1", "c2", "c3", "c4")
	type answer struct {
		Refs        []string
		Total       int
		More        bool
		First, Last *store.Position
	}
	ask := func(s *store.SQL, qu store.Query) answer {
		t.Helper()
		p, err := s.Query(ctx, qu)
		if err != nil {
			t.Fatal(err)
		}
		a := answer{Total: p.TotalItems, More: p.HasMore, First: p.First, Last: p.Last}
		for _, e := range p.Entities {
			a.Refs = append(a.Refs, e.Ref)
		}
		return a
	}
	generic.SetGenericSlow(time.Hour) // (statements planned afresh on a busy machine)
	first := ask(planned, store.Query{Filter: filter, Limit: 3})
	// Both filters counted once: their pages count their matches from now.
	none := store.Filter{{{Key: "spec.owner", Values: []string{"team-none"}}}}
	ask(generic, store.Query{Filter: filter, Limit: 3})
	ask(generic, store.Query{Filter: none, Limit: 3})
	byOwnerName := []store.Order{{Field: "spec.owner"}, {Field: "metadata.name", Desc: true}}
	// Pages that read no row count apart (or the retry, hidden at another
	// generation, does with the access predicate, per request).
	apart := map[string]bool{"past the last": true, "an offset past the last": true, "before the first": true, "hidden, past the last": true}
	cases := map[string]store.Query{
		"by owner then name":                          {Filter: filter, Limit: 3, Order: byOwnerName},
		"before the first":                            {Filter: filter, Limit: 3, Before: first.First},
		"hidden, by offset":                           {Filter: filter, Limit: 2, Offset: 1, Access: hidden, Hidden: &store.HiddenAt{Gen: gen, Refs: []string{"component:default/c5", "component:default/c6"}}},
		"hidden, past the last":                       {Filter: filter, Limit: 2, Offset: 9, Access: hidden, Hidden: &store.HiddenAt{Gen: gen, Refs: []string{"component:default/c5", "component:default/c6"}}},
		"hidden at another generation, past the last": {Filter: filter, Limit: 2, After: &store.Position{Values: []string{"component:default/zz"}, UID: "z"}, Access: hidden, Hidden: &store.HiddenAt{Gen: gen - 1}},
		"a first page":                                {Filter: filter, Limit: 3},
		"by name, descending":                         {Filter: filter, Limit: 3, Order: byName},
		"after a cursor":                              {Filter: filter, Limit: 3, After: first.Last},
		"before a cursor":                             {Filter: filter, Limit: 2, Before: first.Last},
		"past the last":                               {Filter: filter, Limit: 3, After: &store.Position{Values: []string{"component:default/zz"}, UID: "z"}},
		"by offset":                                   {Filter: filter, Limit: 2, Offset: 3},
		"an offset past the last":                     {Filter: filter, Limit: 2, Offset: 30},
		"no match":                                    {Filter: none, Limit: 3},
		"given what is hidden":                        {Filter: filter, Limit: 3, Access: hidden, Hidden: &store.HiddenAt{Gen: gen, Refs: []string{"component:default/c5", "component:default/c6"}}},
		"hidden, at another generation":               {Filter: filter, Limit: 3, Access: hidden, Hidden: &store.HiddenAt{Gen: gen - 1, Refs: []string{"component:default/c0"}}},
	}
	for what, qu := range cases {
		pages, counts := generic.GenericPlanRuns()
		got, want := ask(generic, qu), ask(planned, qu)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: on generic plans %+v, planned per request %+v", what, got, want)
		}
		p, c := generic.GenericPlanRuns()
		if p == pages {
			t.Errorf("%s: no page ran on generic plans", what)
		}
		if c != counts && !apart[what] {
			t.Errorf("%s: counted apart; want the page to count its matches", what)
		}
	}
	if p, _ := planned.GenericPlanRuns(); p != 0 {
		t.Fatalf("the store without the pool ran %d pages on generic plans", p)
	}
}
