package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// columnKeysCatalog has entities in three namespaces, one with a uid its
// file declares (which the catalog replaces with its own).
const columnKeysCatalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-a, description: First service.}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: svc-b, namespace: payments, uid: 0c0ffee0-0000-4000-8000-00000000cafe}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: api-c, namespace: payments}
spec: {type: openapi, lifecycle: production, owner: team-a, definition: "openapi: 3.0.0"}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-d, namespace: ops}
spec: {type: team, children: []}
`

// testColumnKeys: metadata.namespace and metadata.uid have no search rows
// (store.StoredSearchKey) and every read of them answers from the
// entity's columns as the rows did: facets (with a filter and an access
// predicate), full text over any value or over those fields (sorted and
// walked in name order too), and access conditions on a uid, in a query
// and in a search.
func testColumnKeys(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/ns.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, rows(t, columnKeysCatalog), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	uid := map[string]string{}
	for _, ref := range []string{"component:default/svc-a", "component:payments/svc-b", "api:payments/api-c", "group:ops/team-d"} {
		uid[ref] = must(s.EntityByRef(ctx, ref)).UID
	}
	if uid["component:payments/svc-b"] == "0c0ffee0-0000-4000-8000-00000000cafe" {
		t.Fatal("the store kept the uid the file declared")
	}

	facet := func(f store.Filter, access *store.Expr, key string) string {
		t.Helper()
		out, err := s.FacetsAccess(ctx, f, access, []string{key})
		if err != nil {
			t.Fatalf("facet %s: %v", key, err)
		}
		return fmt.Sprint(out[key])
	}
	if got, want := facet(nil, nil, "metadata.namespace"), "[{payments 2} {default 1} {ops 1}]"; got != want {
		t.Errorf("namespace facet: %s, want %s", got, want)
	}
	if got, want := facet(store.Filter{{{Key: "kind", Values: []string{"component"}}}}, nil, "metadata.namespace"), "[{default 1} {payments 1}]"; got != want {
		t.Errorf("namespace facet of components: %s, want %s", got, want)
	}
	if got, want := facet(nil, store.Not(store.Match("metadata.namespace", "payments")), "metadata.namespace"), "[{default 1} {ops 1}]"; got != want {
		t.Errorf("namespace facet outside payments: %s, want %s", got, want)
	}
	uids := slices.Sorted(func(yield func(string) bool) {
		for _, u := range uid {
			if !yield(u) {
				return
			}
		}
	})
	want := "["
	for i, u := range uids {
		if i > 0 {
			want += " "
		}
		want += "{" + u + " 1}"
	}
	if got := facet(nil, nil, "metadata.uid"); got != want+"]" {
		t.Errorf("uid facet: %s, want the stored uids %s]", got, want)
	}

	query := func(qu store.Query) []string {
		t.Helper()
		qu.Limit = 10
		p, err := s.Query(ctx, qu)
		if err != nil {
			t.Fatalf("query %+v: %v", qu, err)
		}
		if p.TotalItems != len(p.Entities) {
			t.Errorf("query %+v: total %d, %d listed", qu, p.TotalItems, len(p.Entities))
		}
		got := names(p.Entities)
		slices.Sort(got)
		return got
	}
	byName := []store.Order{{Field: "metadata.name"}}
	for _, c := range []struct {
		qu   store.Query
		want []string
	}{
		{store.Query{FullText: "PAYM"}, []string{"api:payments/api-c", "component:payments/svc-b"}},
		{store.Query{FullText: "paym", Order: byName}, []string{"api:payments/api-c", "component:payments/svc-b"}},
		{store.Query{FullText: "paym", Filter: store.Filter{{{Key: "kind", Values: []string{"API"}}}}, Order: byName}, []string{"api:payments/api-c"}},
		{store.Query{FullText: "paym", FullTextFields: []string{"metadata.namespace"}}, []string{"api:payments/api-c", "component:payments/svc-b"}},
		{store.Query{FullText: "paym", FullTextFields: []string{"metadata.name"}}, []string{}},
		{store.Query{FullText: "o", FullTextFields: []string{"metadata.name", "metadata.Namespace"}, Order: byName}, []string{"group:ops/team-d"}},
		{store.Query{FullText: "svc", FullTextFields: []string{"metadata.namespace", "metadata.name"}}, []string{"component:default/svc-a", "component:payments/svc-b"}},
		{store.Query{FullText: "first", FullTextFields: []string{"metadata.namespace", "metadata.description"}}, []string{"component:default/svc-a"}},
		// A uid is matched where its field is named, never by any value: a
		// term of hex digits would otherwise match at random.
		{store.Query{FullText: uid["api:payments/api-c"], FullTextFields: []string{"metadata.uid"}}, []string{"api:payments/api-c"}},
		{store.Query{FullText: uid["api:payments/api-c"]}, []string{}},
		{store.Query{FullText: "cafe"}, []string{}},
		// Access on a uid: the entity's, not the one its file declared.
		{store.Query{Access: store.Match("metadata.uid", uid["group:ops/team-d"])}, []string{"group:ops/team-d"}},
		{store.Query{Access: store.Match("metadata.uid", "0c0ffee0-0000-4000-8000-00000000cafe")}, []string{}},
		{store.Query{Access: store.Match("metadata.uid", strings.ToUpper(uid["group:ops/team-d"]))}, []string{}},
		{store.Query{Filter: store.Filter{{{Key: "metadata.uid", Values: []string{uid["group:ops/team-d"]}}}}}, []string{"group:ops/team-d"}},
		{store.Query{Access: store.Not(store.Match("metadata.uid", uid["group:ops/team-d"], uid["component:default/svc-a"]))}, []string{"api:payments/api-c", "component:payments/svc-b"}},
		{store.Query{Access: store.Match("metadata.uid")}, []string{"api:payments/api-c", "component:default/svc-a", "component:payments/svc-b", "group:ops/team-d"}},
		{store.Query{Filter: store.Filter{{{Key: "metadata.namespace", Values: []string{"Payments"}}}}}, []string{"api:payments/api-c", "component:payments/svc-b"}},
	} {
		if got := query(c.qu); !slices.Equal(got, c.want) {
			t.Errorf("query %+v: %v, want %v", c.qu, got, c.want)
		}
	}

	// A search checks access on its documents (search_docs, which has no
	// uid column).
	_, got := found(t, s, store.SearchQuery{Term: "svc", Access: store.Match("metadata.uid", uid["component:payments/svc-b"])})
	if want := []string{"software-catalog component:payments/svc-b"}; !slices.Equal(got, want) {
		t.Errorf("search with access on a uid: %v, want %v", got, want)
	}
}
