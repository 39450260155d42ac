package activities

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/store"
)

// TestExampleCatalog: examples/catalog and examples/templates, read the way
// rigger dev reads them (static file locations of their globs, refreshed by
// the catalog activity), ingest without an error, hold the organisation the
// README promises, and leave no relation pointing at a missing entity.
func TestExampleCatalog(t *testing.T) {
	c, st := newCatalog(t)
	ctx := t.Context()
	total := 0
	for _, glob := range []string{"../examples/catalog/*.yaml", "../examples/templates/*/template.yaml"} {
		abs, err := filepath.Abs(glob)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := st.AddLocation(ctx, store.Location{Type: "file", Target: abs, Static: true})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
		if err != nil || len(res.Errors) > 0 {
			t.Fatalf("%s: %v %v", glob, err, res.Errors)
		}
		total += res.Entities
	}
	page, err := st.Query(ctx, store.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entities) != total {
		t.Fatalf("stored %d entities, read %d", len(page.Entities), total)
	}
	refs := map[string]bool{}
	kinds := map[string]int{}
	for _, e := range page.Entities {
		refs[strings.ToLower(e.Ref)] = true
		kinds[strings.SplitN(e.Ref, ":", 2)[0]]++
	}
	want := map[string]int{"group": 7, "user": 9, "domain": 2, "system": 4, "component": 15, "api": 5, "resource": 3, "template": 8}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d entities of kind %s, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	for _, e := range page.Entities {
		for _, r := range e.Relations {
			if !refs[strings.ToLower(r.Target)] {
				t.Errorf("%s %s %s: no such entity", e.Ref, r.Type, r.Target)
			}
		}
	}
	// The dev user belongs to a team, so "owned by me" has something.
	guest := mustEntity(t, page.Entities, "user:default/guest")
	if !hasRelation(guest, "memberOf", "group:default/platform") {
		t.Errorf("guest relations: %v", guest.Relations)
	}
}

func mustEntity(t *testing.T, es []*store.StoredEntity, ref string) *store.StoredEntity {
	t.Helper()
	for _, e := range es {
		if strings.EqualFold(e.Ref, ref) {
			return e
		}
	}
	t.Fatalf("no entity %s", ref)
	return nil
}

func hasRelation(e *store.StoredEntity, typ, target string) bool {
	for _, r := range e.Relations {
		if r.Type == typ && strings.EqualFold(r.Target, target) {
			return true
		}
	}
	return false
}
