package store

import (
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// TestPlannedPerRequestBound: the filters remembered to be planned per
// request are bounded: a filter stays remembered while fewer than
// maxHeavyFilters others came after it, and is forgotten (run once on
// generic plans again) after twice as many.
func TestPlannedPerRequestBound(t *testing.T) {
	var s SQL
	key := func(i int) string { return fmt.Sprintf("filter %d", i) }
	for i := range maxHeavyFilters + 1 {
		s.planPerRequest(key(i), time.Time{})
	}
	if !s.generic.heavy.has(key(0)) || !s.generic.heavy.has(key(maxHeavyFilters)) {
		t.Fatal("a filter was forgotten before maxHeavyFilters others came after it")
	}
	for i := maxHeavyFilters + 1; i < 3*maxHeavyFilters; i++ {
		s.planPerRequest(key(i), time.Time{})
	}
	if s.generic.heavy.has(key(0)) {
		t.Fatal("the first filter is still remembered after 3x maxHeavyFilters others")
	}
	if n := len(s.generic.heavy.newer) + len(s.generic.heavy.older); n > 2*maxHeavyFilters {
		t.Fatalf("%d filters remembered, want at most %d", n, 2*maxHeavyFilters)
	}
	if !s.generic.heavy.has(key(3*maxHeavyFilters - 1)) {
		t.Fatal("the last filter is not remembered")
	}
}

// TestPlannedPerRequestFor: a filter slow once on generic plans is planned
// per request for a while; one that counted many matches is for as long
// as it is remembered, even if it is slow later.
func TestPlannedPerRequestFor(t *testing.T) {
	var s SQL
	s.planPerRequest("slow", time.Now().Add(-time.Second))
	if s.generic.heavy.has("slow") {
		t.Fatal("a slow filter's time ran out, and it is still planned per request")
	}
	s.planPerRequest("slow", time.Now().Add(time.Minute))
	if !s.generic.heavy.has("slow") {
		t.Fatal("a slow filter is not planned per request")
	}
	s.planPerRequest("many", time.Time{})
	s.planPerRequest("many", time.Now().Add(-time.Second))
	if !s.generic.heavy.has("many") {
		t.Fatal("a filter of many matches, slow later, is no longer planned per request")
	}
}

// TestGenericKeyAsRead: one key for a filter however its conditions are
// spelled or ordered (as cond reads them: lower case but uids), and only
// for the shape generic plans serve.
func TestGenericKeyAsRead(t *testing.T) {
	s := SQL{d: Dialect{GenericDB: new(sql.DB)}}
	key := func(f Filter) string {
		k, _ := s.genericKey(Query{Filter: f, Limit: 10})
		return k
	}
	a := key(Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{"team-a", "team-b"}}}})
	b := key(Filter{{{Key: "Spec.Owner", Values: []string{"Team-B", "team-a", "team-a"}}, {Key: "KIND", Values: []string{"Component"}}}})
	if a == "" || a != b {
		t.Fatalf("the same filter spelled two ways: keys %x and %x", a, b)
	}
	owners := Filter{{{Key: "spec.owner", Values: []string{"team-a"}}}}
	if _, light := s.genericKey(Query{Filter: owners}); light {
		t.Fatal("a filter never counted is light")
	}
	s.countedMatches(Query{Filter: owners, generic: key(owners)}, 3)
	if k, light := s.genericKey(Query{Filter: owners}); k == "" || !light {
		t.Fatal("a filter counted to match few is not light")
	}
	s.countedMatches(Query{Filter: owners, generic: key(owners)}, genericMaxMatches+1)
	if k, light := s.genericKey(Query{Filter: owners}); k != "" || light {
		t.Fatal("a filter counted to match many still runs on generic plans")
	}
	vs := []string{"b", "a"}
	key(Filter{{{Key: "metadata.uid", Values: vs}, {Key: "spec.owner", Values: []string{"x"}}}})
	if vs[0] != "b" {
		t.Fatal("the key's reading sorted the caller's values in place")
	}
	uid := func(v string) string {
		return key(Filter{{{Key: "metadata.uid", Values: []string{v}}, {Key: "spec.owner", Values: []string{"a"}}}})
	}
	if uid("AbC") == uid("abc") {
		t.Fatal("uids differing in case share a key")
	}
	for what, f := range map[string]Filter{
		"two search keys":   {{{Key: "spec.owner", Values: []string{"a"}}, {Key: "spec.type", Values: []string{"service"}}}},
		"columns alone":     {{{Key: "kind", Values: []string{"component"}}}},
		"a key that exists": {{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner"}}},
		"two alternatives":  {{{Key: "spec.owner", Values: []string{"a"}}}, {{Key: "spec.owner", Values: []string{"b"}}}},
	} {
		if k := key(f); k != "" {
			t.Errorf("%s: a key, want none", what)
		}
	}
	if key(Filter{{{Key: "relations.ownedBy", Values: []string{"group:default/a"}}, {Key: "kind", Values: []string{"api"}}}}) == "" {
		t.Error("a relation beside a kind: no key")
	}
}

// TestCountedMatches: a filter counted to match few is known light (its
// pages count their matches themselves); one counted past
// genericMaxMatches is planned per request.
func TestCountedMatches(t *testing.T) {
	var s SQL
	s.countedMatches(Query{generic: "few"}, genericMaxMatches)
	s.countedMatches(Query{generic: "many"}, genericMaxMatches+1)
	s.countedMatches(Query{}, 5) // not on generic plans: nothing to learn
	if !s.generic.light.has("few") || s.generic.heavy.has("few") {
		t.Fatal("a filter of few matches is not known light")
	}
	if s.generic.light.has("many") || !s.generic.heavy.has("many") {
		t.Fatal("a filter of many matches is not planned per request")
	}
	if s.generic.light.has("") || s.generic.heavy.has("") {
		t.Fatal("a query off generic plans was remembered")
	}
}
