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
	// The load's counters reach the statistics when its session flushes
	// them (within seconds of going idle).
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
