package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// TestFirstLoadPlanning: each chunk of a large first load
// checks its refs against the other locations' with a plan made for the
// table as it is by then. A reader holding the catalog tables while the
// load starts keeps it from its locks for a while; with a plan made once
// for the connection (a scan, chosen while the table was small), every
// later chunk read the whole growing table, and a 100k-entity load's
// writes took 116 s instead of 6. The table's sequential-scan counters
// tell: a plan per chunk reads entities by its ref index. And the load's
// ANALYZE samples only the columns statements compare.
func TestFirstLoadPlanning(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	s := openStore(t, dsn)
	db := rawDB(t, dsn)
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/big.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	var n int
	if err := reader.QueryRow("SELECT COUNT(*) FROM search").Scan(&n); err != nil {
		t.Fatal(err)
	}
	const total, leaves = 30000, 12000
	stream := func(yield func(store.Entity, error) bool) {
		for i := range total {
			if i == leaves {
				if err := reader.Commit(); err != nil {
					yield(store.Entity{}, err)
					return
				}
			}
			ref := fmt.Sprintf("component:default/c%05d", i)
			body := fmt.Sprintf(`{"kind":"Component","metadata":{"name":"c%05d","description":"%0200d"}}`, i, i)
			e := store.Entity{Ref: ref, Body: []byte(body), Hash: ref,
				Search: []store.SearchRow{{Key: "kind", Value: "component", Original: "Component"}, {Key: "spec.owner", Value: "team-a"}}}
			if !yield(e, nil) {
				return
			}
		}
	}
	res, err := s.ReplaceLocationStream(ctx, loc.ID, stream, store.ReplaceOptions{Orphans: store.OrphanDelete})
	if err != nil || res.Inserted != total {
		t.Fatalf("first load: %+v %v", res, err)
	}
	// Its ANALYZE sampled the columns statements compare, not the bodies,
	// uids, hashes, times or search values as written (columnStats).
	var analyzed []string
	rows, err := db.Query(`SELECT tablename || '.' || attname FROM pg_stats WHERE tablename IN ('entities', 'search') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			t.Fatal(err)
		}
		analyzed = append(analyzed, col)
	}
	rows.Close()
	for _, want := range []string{"entities.kind", "entities.ref", "search.key", "search.value"} {
		if !slices.Contains(analyzed, want) {
			t.Errorf("no statistics of %s after a large batch: %v", want, analyzed)
		}
	}
	for _, never := range []string{"entities.body", "entities.uid", "entities.hash", "entities.created_at", "entities.updated_at", "search.original"} {
		if slices.Contains(analyzed, never) {
			t.Errorf("statistics of %s, which no statement compares: %v", never, analyzed)
		}
	}
	s.Close()
	// The load's counters reach the statistics when its session flushes
	// them: at once as the store's connections close (an idle one waits
	// up to 10 s).
	var ins, scans, read int64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if err := db.QueryRow(`SELECT n_tup_ins, seq_scan, seq_tup_read FROM pg_stat_user_tables WHERE relname = 'entities'`).Scan(&ins, &scans, &read); err != nil {
			t.Fatal(err)
		}
		if ins >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the load's statistics did not arrive: %d inserts counted", ins)
		}
	}
	// Rebuilding each secondary index of entities reads the table once.
	var rebuilt int64
	if err := db.QueryRow(`SELECT COUNT(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = 'entities' AND NOT i.indisunique`).Scan(&rebuilt); err != nil {
		t.Fatal(err)
	}
	if max := rebuilt * total; read > max {
		t.Errorf("the first load read %d entity rows in %d sequential scans; want its ref checks to use the ref index: at most %d (the %d index builds')", read, scans, max, rebuilt)
	}
}

// TestEntityDeleteReadsDocsByIndex: deleting an entity deletes its docs
// site and files, found by comparing their entity_ref with the entity's
// ref. Were the two columns of different collations, the comparison
// would be made in the ref's ("C") and could not use the docs tables'
// indexes: every deletion would read them whole. With sequential scans
// off for the database, the planner scans a table only where no index
// can serve the statement.
func TestEntityDeleteReadsDocsByIndex(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	db := rawDB(t, dsn)
	if _, err := db.Exec(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET enable_seqscan = off', current_database()); END $$`); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dsn)
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/one.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	ref := "component:default/one"
	one := store.Entity{Ref: ref, Body: []byte(`{"kind":"Component"}`), Hash: "h", Search: []store.SearchRow{{Key: "kind", Value: "component"}}}
	if _, err := s.ReplaceLocation(ctx, loc.ID, []store.Entity{one}, store.ReplaceOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"component:default/other", ref} {
		for _, stmt := range []string{
			`INSERT INTO docs_sites (entity_ref, storage, source_hash, status, attempted_at) VALUES ($1, 's3', 'h', 'ready', 'now')`,
			`INSERT INTO docs_files (entity_ref, path, content) VALUES ($1, 'index.html', '')`,
		} {
			if _, err := db.Exec(stmt, other); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	// Rows read by sequential scans: the migrations' scans of the tables
	// read none (they were empty), and a scan now would read the rows above.
	scanned := func() (read, deleted int64) {
		t.Helper()
		if err := db.QueryRow(`SELECT SUM(seq_tup_read), SUM(n_tup_del) FROM pg_stat_user_tables WHERE relname IN ('docs_sites', 'docs_files')`).Scan(&read, &deleted); err != nil {
			t.Fatal(err)
		}
		return read, deleted
	}
	stored, err := s.EntityByRef(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEntity(ctx, stored.UID); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The deletion's counters reach the statistics when its session
	// flushes them: at once as the store's connections close.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		read, deleted := scanned()
		if deleted >= 2 {
			if read != 0 {
				t.Errorf("deleting one entity read %d rows of its docs tables by sequential scans; want them read by index", read)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deletion's statistics did not arrive: %d rows deleted counted", deleted)
		}
	}
	var left, orphaned int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM docs_files WHERE entity_ref = $1), (SELECT COUNT(*) FROM docs_orphans WHERE entity_ref = $1)`, ref).Scan(&left, &orphaned); err != nil || left != 0 || orphaned != 1 {
		t.Fatalf("the deleted entity's docs: %d files left, %d orphaned site (want 0, 1), %v", left, orphaned, err)
	}
}
