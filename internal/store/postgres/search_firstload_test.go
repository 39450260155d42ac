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
	load(t, s, "/first.yaml", 0, n)
	db := rawDB(t, dsn)
	for _, index := range []string{"search_docs_tsv", "search_vocab_trgm"} {
		if pages := pendingPages(t, db, index); pages != 0 {
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

// TestBulkBatchMergesPendingSearchEntries: a batch of 1000 search rows or
// more merges its entries into search_docs_tsv before it commits (its
// pending list may reach 1 MB meanwhile, not 256 kB), so it leaves none
// behind; small batches leave theirs and keep the list under 256 kB (the
// store's sessions set it: the index has no bound of its own).
func TestBulkBatchMergesPendingSearchEntries(t *testing.T) {
	dsn := freshDB(t)
	s := openStore(t, dsn)
	db := rawDB(t, dsn)
	load(t, s, "/first.yaml", 0, 1500)     // a first load: indexes built after
	load(t, s, "/second.yaml", 1500, 2500) // not a first load: 1500 stored
	if pages := pendingPages(t, db, "search_docs_tsv"); pages != 0 {
		t.Errorf("%d pending-list pages after a batch of 2500; want 0", pages)
	}
	for i := range 40 {
		load(t, s, fmt.Sprintf("/small-%d.yaml", i), 5000+40*i, 40)
	}
	// 1600 rows of small batches: about 600 kB of entries.
	if pages := pendingPages(t, db, "search_docs_tsv"); pages == 0 || pages > 256/8 {
		t.Errorf("%d pending-list pages after small batches; want some, at most 32 (256 kB)", pages)
	}
	for _, term := range []string{"loadword3999", "loadword5000", "loadword6599"} {
		p, err := s.Search(context.Background(), store.SearchQuery{Term: term, Types: []string{store.SearchTypeCatalog}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Results) == 0 || p.Results[0].Name != term+"-svc" {
			t.Errorf("search %q: %+v", term, p.Results)
		}
	}
}

// load writes n components from index from to a new location target.
func load(t *testing.T, s store.Store, target string, from, n int) {
	t.Helper()
	ctx := context.Background()
	var es []store.Entity
	for i := from; i < from+n; i++ {
		row, err := catalog.Row(catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
			"metadata": map[string]any{"name": fmt.Sprintf("loadword%d-svc", i), "title": fmt.Sprintf("Titleword%d", i)},
			"spec":     map[string]any{"type": "service", "owner": "team-a", "lifecycle": "production"}})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, row)
	}
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.ReplaceLocation(ctx, loc.ID, es, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil || res.Inserted != n {
		t.Fatalf("load %s: %+v, %v", target, res, err)
	}
}

// rawDB is a connection to dsn of the test's own, with PostgreSQL's
// default settings.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// pendingPages merges the pending list of the GIN index and returns how
// many pages it held.
func pendingPages(t *testing.T, db *sql.DB, index string) int {
	t.Helper()
	var pages int
	if err := db.QueryRow(`SELECT gin_clean_pending_list(CAST($1 AS regclass))`, index).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	return pages
}
