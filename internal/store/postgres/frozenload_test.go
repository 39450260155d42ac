package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// frozenPages is, for each catalog table, its heap pages and how many the
// visibility map marks all-frozen (pg_visibility). Not search_docs: its
// row trigger (for writers of an older release) has COPY insert its rows
// one at a time, which freezes them without marking their pages in the
// map (the VACUUM after the load does, with nothing left to freeze).
func frozenPages(t *testing.T, db *sql.DB) map[string][2]int64 {
	t.Helper()
	out := map[string][2]int64{}
	for _, table := range []string{"entities", "search", "relations"} {
		var pages, frozen int64
		err := db.QueryRow(`SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int, all_frozen
			FROM pg_visibility_map_summary($1::regclass)`, table).Scan(&pages, &frozen)
		if err != nil {
			t.Fatal(err)
		}
		out[table] = [2]int64{pages, frozen}
	}
	return out
}

// components are n components named prefix-<i>, each with search rows,
// a relation and a search document.
func components(prefix string, n int) []store.Entity {
	out := make([]store.Entity, 0, n)
	for i := range n {
		name := fmt.Sprintf("%s-%04d", prefix, i)
		ref := "component:default/" + name
		out = append(out, store.Entity{Ref: ref, Hash: ref,
			Body:      fmt.Appendf(nil, `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"%s","namespace":"default"},"spec":{"owner":"team-a"}}`, name),
			Indexed:   &store.IndexedFields{Kind: "Component", Name: name},
			Search:    []store.SearchRow{{Key: "kind", Value: "component"}, {Key: "metadata.name", Value: name}, {Key: "spec.owner", Value: "team-a"}},
			Relations: []store.Relation{{Source: ref, Type: "ownedBy", Target: "group:default/team-a"}}})
	}
	return out
}

// TestFirstLoadFrozen: a first load into an empty catalog writes every
// catalog table's rows frozen (all of its pages all-frozen, with no
// VACUUM FREEZE), readable at once; a load into a catalog that holds
// entities, even one small enough for a first load's index builds, does
// not, nor one into a catalog the database refuses to truncate (which
// still loads).
func TestFirstLoadFrozen(t *testing.T) {
	ctx := context.Background()
	load := func(s *store.SQL, target string, es []store.Entity) {
		t.Helper()
		loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: target})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReplaceLocation(ctx, loc.ID, es, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(s *store.SQL) int {
		t.Helper()
		page, err := s.Query(ctx, store.Query{Limit: 1, Filter: store.Filter{{{Key: "spec.owner", Values: []string{"team-a"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return page.TotalItems
	}

	dsn := freshDB(t)
	db := rawDB(t, dsn)
	if _, err := db.Exec("CREATE EXTENSION pg_visibility"); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dsn)
	load(s, "/first.yaml", components("first", 1200))
	for table, p := range frozenPages(t, db) {
		if p[0] == 0 || p[1] != p[0] {
			t.Errorf("after a first load into an empty catalog, %s: %d of %d pages all-frozen", table, p[1], p[0])
		}
	}
	if n := count(s); n != 1200 {
		t.Fatalf("%d entities read after the frozen load, want 1200", n)
	}
	// search_docs's rows themselves are frozen (HEAP_XMIN_FROZEN in
	// each tuple's infomask: pageinspect).
	var frozen, tuples int
	if _, err := db.Exec("CREATE EXTENSION pageinspect"); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE t_infomask & 768 = 768), count(*)
		FROM heap_page_items(get_raw_page('search_docs', 0))`).Scan(&frozen, &tuples); err != nil {
		t.Fatal(err)
	}
	if tuples == 0 || frozen != tuples {
		t.Errorf("search_docs's first page: %d of %d rows frozen", frozen, tuples)
	}
	// A second large load: the catalog is not empty.
	before := frozenPages(t, db)
	load(s, "/second.yaml", components("second", 1500))
	// (Rows written into the first load's last page clear its bit.)
	if p := frozenPages(t, db)["entities"]; p[1] > before["entities"][1] || p[0] <= before["entities"][0] {
		t.Errorf("a load into a catalog of 1,200 entities: %d of %d entity pages all-frozen, %d of %d before", p[1], p[0], before["entities"][1], before["entities"][0])
	}
	if n := count(s); n != 2700 {
		t.Fatalf("%d entities, want 2700", n)
	}

	// A catalog of a few entities: the large load builds its indexes after
	// its rows, but writes them unfrozen.
	dsn = freshDB(t)
	db = rawDB(t, dsn)
	if _, err := db.Exec("CREATE EXTENSION pg_visibility"); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dsn)
	load(s, "/few.yaml", components("few", 10))
	load(s, "/large.yaml", components("large", 1200))
	if p := frozenPages(t, db)["entities"]; p[1] != 0 {
		t.Errorf("a first load beside 10 entities: %d of %d entity pages all-frozen", p[1], p[0])
	}
	if n := count(s); n != 1210 {
		t.Fatalf("%d entities, want 1210", n)
	}

	// An empty catalog the database will not truncate (another table's
	// foreign key names entities): the load writes its rows unfrozen.
	dsn = freshDB(t)
	db = rawDB(t, dsn)
	s = openStore(t, dsn)
	for _, stmt := range []string{"CREATE EXTENSION pg_visibility", "CREATE TABLE operator_notes (uid TEXT REFERENCES entities (uid))"} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	load(s, "/kept.yaml", components("kept", 1200))
	if p := frozenPages(t, db)["entities"]; p[1] != 0 {
		t.Errorf("a first load the database would not truncate for: %d of %d entity pages all-frozen", p[1], p[0])
	}
	if n := count(s); n != 1200 {
		t.Fatalf("%d entities, want 1200", n)
	}
}
