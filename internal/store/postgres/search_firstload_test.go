package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
)

// TestFirstLoadIndexesSearchAfterRows: a first load builds the search
// indexes (search_docs_tsv, search_vocab_trgm) after every one of its
// search rows and vocabulary words, so it leaves nothing in their GIN
// pending lists (each 256 kB of one is merged into the index entry by
// entry), and its last rows, written past the last full COPY chunk, are
// found like the others.
func TestFirstLoadIndexesSearchAfterRows(t *testing.T) {
	ctx := context.Background()
	dsn := freshDB(t)
	s := openStore(t, dsn)
	// Not a multiple of the rows a COPY takes (2000): the last 500 are
	// still buffered when the load ends.
	const n = 2500
	var es []store.Entity
	for i := range n {
		row, err := catalog.Row(catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
			"metadata": map[string]any{"name": fmt.Sprintf("loadword%d-svc", i), "title": fmt.Sprintf("Titleword%d", i)},
			"spec":     map[string]any{"type": "service", "owner": "team-a", "lifecycle": "production"}})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, row)
	}
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/first.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.ReplaceLocation(ctx, loc.ID, es, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil || res.Inserted != n {
		t.Fatalf("first load: %+v, %v", res, err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, index := range []string{"search_docs_tsv", "search_vocab_trgm"} {
		var pages int
		if err := db.QueryRowContext(ctx, `SELECT gin_clean_pending_list(CAST($1 AS regclass))`, index).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		if pages != 0 {
			t.Errorf("%s: %d pending-list pages after a first load; want 0 (rows or words indexed after the index was built)", index, pages)
		}
	}
	// The last row, and a typo of its title word (from the vocabulary).
	for _, term := range []string{"loadword2499", "titleword2499x"} {
		p, err := s.Search(ctx, store.SearchQuery{Term: term, Types: []string{store.SearchTypeCatalog}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Results) == 0 || p.Results[0].Title != "Titleword2499" {
			t.Errorf("search %q after a first load: %+v", term, p.Results)
		}
	}
}
