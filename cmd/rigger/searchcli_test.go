package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

// TestSearchReindex: `rigger search reindex` rebuilds an index whose rows
// were lost, printing its progress.
func TestSearchReindex(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	path := filepath.Join(dir, "rigger.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Seed(t, st, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: payments, description: Card settlement.}\nspec: {type: service, lifecycle: production, owner: team-a}\n")
	st.Close()
	db, err := sqlite.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM search_docs`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	found := func() int {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		p, err := st.Search(ctx, store.SearchQuery{Term: "settlement", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	if n := found(); n != 0 {
		t.Fatalf("found %d before the reindex", n)
	}
	out, _, err := runCLI(t, nil, "search", "reindex", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "indexed 1 of 1 entities\n") || !strings.Contains(out, "search index rebuilt in ") {
		t.Fatalf("output:\n%s", out)
	}
	if n := found(); n != 1 {
		t.Fatalf("found %d after the reindex", n)
	}
}
