package storetest

import (
	"context"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// Seed stores the entities of a catalog YAML document in st as one file
// location, rows as a refresh writes them (catalog.Row), and returns the
// location. Any entity that does not validate fails the test.
func Seed(t testing.TB, st store.Store, yaml string) store.Location {
	t.Helper()
	es := rows(t, yaml)
	ctx := context.Background()
	loc, err := st.AddLocation(ctx, store.Location{Type: "file", Target: "/catalog.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReplaceLocation(ctx, loc.ID, es, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	return loc
}
