package storetest

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// testWriteGeneration: every write of the catalog's entities moves the
// write generation, whatever its path — entities inserted, updated and
// deleted by a refresh, an entity deleted, a location's entities
// orphaned — and reads with no write between them say the same
// generation as HiddenSet (by ref and a page, in their own statements).
// HiddenSet returns exactly the entities access hides, and says when
// there are more than asked for.
func testWriteGeneration(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	gen := func() int64 {
		t.Helper()
		g, refs, whole, err := s.HiddenSet(ctx, store.True(), 0)
		if err != nil || len(refs) != 0 || !whole || g <= 0 {
			t.Fatalf("generation: %d %v %v %v", g, refs, whole, err)
		}
		return g
	}
	last := gen()
	moved := func(step string) {
		t.Helper()
		g := gen()
		if g <= last {
			t.Fatalf("%s: generation %d, %d before it", step, g, last)
		}
		last = g
		page := must(s.Query(ctx, store.Query{Limit: 100, NoTotal: true}))
		for _, e := range page.Entities {
			if e.Gen != g {
				t.Fatalf("%s: %s read in a page at generation %d, HiddenSet says %d", step, e.Ref, e.Gen, g)
			}
			if byRef := must(s.EntityByRef(ctx, e.Ref)); byRef.Gen != g {
				t.Fatalf("%s: %s read by ref at generation %d, HiddenSet says %d", step, e.Ref, byRef.Gen, g)
			}
		}
	}
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/gen.yaml"}))
	replace := func(es []store.Entity) {
		t.Helper()
		must(s.ReplaceLocation(ctx, loc.ID, es, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	}
	es := seed()
	replace(es)
	moved("inserted")
	es[0] = ent("Component", "svc-a", map[string]string{"type": "service", "lifecycle": "production", "owner": "team-a"}, "go", "api", "new")
	replace(es)
	moved("updated")
	replace(es[:4])
	moved("deleted by a refresh")

	hidden := func(access *store.Expr, max int, want []string, wantWhole bool) {
		t.Helper()
		g, refs, whole, err := s.HiddenSet(ctx, access, max)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Sorted(maps.Keys(refs)); g != last || whole != wantWhole || (whole && !slices.Equal(got, want)) || (!whole && len(got) != max+1) {
			t.Fatalf("HiddenSet(%s, %d) = %d %v %v, want %d %v %v", access, max, g, got, whole, last, want, wantWhole)
		}
	}
	hidden(store.Not(store.Match("metadata.tags", "js")), 10, []string{"component:default/svc-b"}, true)
	hidden(store.Match("kind", "component"), 10, []string{"api:default/api-a"}, true)
	hidden(store.Match("kind", "api"), 1, nil, false)
	hidden(store.False(), 10, []string{"api:default/api-a", "component:default/svc-a", "component:default/svc-b", "component:default/svc-c"}, true)

	must(0, s.DeleteEntity(ctx, must(s.EntityByRef(ctx, "component:default/svc-c")).UID))
	moved("entity deleted")
	must(0, s.OrphanLocation(ctx, loc.ID))
	moved("orphaned")
}
