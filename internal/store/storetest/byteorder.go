package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// byteOrderNames are entity names whose byte order differs from a
// language's collation: ICU's en-US puts "svc_a" first and ignores no
// punctuation, byte order puts '-' (0x2D) < '.' (0x2E) < '0' < '_' (0x5F)
// < 'a'.
var byteOrderNames = []string{"svc0", "svca", "svc_a", "Svc-B", "svc.a", "svc-a"}

// ByteOrder checks that s orders entities by the bytes of their values
// whatever the database's collation: by ref, by a field either way (a
// name, a spec field), page by page through cursors, and facet values of
// equal counts. SQLite
// compares bytes; on PostgreSQL the catalog's text columns are declared
// COLLATE "C", so a database created with a language's collation sorts
// (and pages) as SQLite does.
func ByteOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/order.yaml"}))
	var es []store.Entity
	for _, n := range byteOrderNames {
		es = append(es, ent("Component", n, map[string]string{"owner": "team-a", "type": "t" + strings.ToLower(n)}))
	}
	must(s.ReplaceLocation(ctx, loc.ID, es, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	want := []string{"svc-a", "svc-b", "svc.a", "svc0", "svc_a", "svca"}
	refs := func(es []*store.StoredEntity) string {
		var out []string
		for _, e := range es {
			out = append(out, strings.TrimPrefix(e.Ref, "component:default/"))
		}
		return strings.Join(out, " ")
	}
	filter := store.Filter{{{Key: "spec.owner", Values: []string{"team-a"}}}}
	desc := slices.Clone(want)
	slices.Reverse(desc)
	for _, c := range []struct {
		order []store.Order
		want  []string
	}{
		{nil, want},
		{[]store.Order{{Field: "metadata.name"}}, want},
		{[]store.Order{{Field: "metadata.name", Desc: true}}, desc},
		{[]store.Order{{Field: "spec.type"}}, want},
	} {
		if got := refs(must(s.Query(ctx, store.Query{Filter: filter, Order: c.order, Limit: 100})).Entities); got != strings.Join(c.want, " ") {
			t.Errorf("order %v: %s, want %s (byte order)", c.order, got, strings.Join(c.want, " "))
		}
		// Two at a time through the cursors: a position compares as the
		// page was sorted, or entities are skipped or repeated.
		var walked []string
		q := store.Query{Filter: filter, Order: c.order, Limit: 2}
		for range len(want) {
			p := must(s.Query(ctx, q))
			walked = append(walked, refs(p.Entities))
			if !p.HasMore {
				break
			}
			q.After = p.Last
		}
		if got := strings.Join(walked, " "); got != strings.Join(c.want, " ") {
			t.Errorf("order %v, two a page: %s, want %s", c.order, got, strings.Join(c.want, " "))
		}
	}
	facets, err := s.FacetsAccess(ctx, filter, nil, []string{"metadata.name"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(facets["metadata.name"]), "[{Svc-B 1} {svc-a 1} {svc.a 1} {svc0 1} {svc_a 1} {svca 1}]"; got != want {
		t.Errorf("name facet: %s, want %s (equal counts in byte order)", got, want)
	}
}
