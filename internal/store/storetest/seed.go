package storetest

import (
	"context"
	"testing"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
)

// Seed stores the entities of a catalog YAML document in st as one file
// location, rows as a refresh writes them (catalog.Row), and returns the
// location. Any entity that does not validate fails the test.
func Seed(t testing.TB, st store.Store, yaml string) store.Location {
	t.Helper()
	docs, err := catalog.Parse("catalog.yaml", []byte(yaml), catalog.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]store.Entity, 0, len(docs))
	for _, d := range docs {
		if len(d.Errors) > 0 {
			t.Fatalf("%s: %v", d.Ref, d.Errors[0])
		}
		row, err := catalog.Row(d.Entity)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	ctx := context.Background()
	loc, err := st.AddLocation(ctx, store.Location{Type: "file", Target: "/catalog.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReplaceLocation(ctx, loc.ID, rows, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	return loc
}
