package postgres

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"iter"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/pgtest"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

var pg pgtest.Shared

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(pg.Main(m, "store"))
}

// freshDB creates an empty database for one test.
func freshDB(t *testing.T) string {
	t.Helper()
	return pg.DB(t, "rigger")
}

// openStore opens the store at dsn for the rest of the test, with the
// default pool size (database.maxOpenConns): its pools for searches and
// for generic plans too.
func openStore(t testing.TB, dsn string) *store.SQL {
	t.Helper()
	s, err := Open(context.Background(), dsn, 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, freshDB(t)) })
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := freshDB(t)
	for range 2 {
		s, err := Open(context.Background(), dsn, 2)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// TestReplicasMigrateTogether starts several stores on one empty database at
// once, as replicas of a deployment start: they take turns, and all open.
func TestReplicasMigrateTogether(t *testing.T) {
	dsn := freshDB(t)
	for _, err := range storetest.Together(4, func(int) error {
		s, err := Open(context.Background(), dsn, 2)
		if err == nil {
			s.Close()
		}
		return err
	}) {
		if err != nil {
			t.Errorf("a replica failed to start: %v", err)
		}
	}
}

func TestMigrateUIDRows(t *testing.T) {
	dsn := freshDB(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	legacy := storetest.Legacy{DB: db, Rebind: rebind, Migrations: store.Schema("postgres")}
	storetest.Migration(t, legacy, func(t *testing.T) store.Store { return openStore(t, dsn) })
}

// TestConcurrentWriters refreshes several locations at once from separate
// stores on one database, as worker processes do: entity ids come from the
// sequence, so no two transactions hand out the same one.
func TestConcurrentWriters(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	const writers, each = 4, 600
	stores := make([]store.Store, writers)
	locs := make([]string, writers)
	for i := range stores {
		s := openStore(t, dsn)
		l, err := s.AddLocation(ctx, store.Location{Type: "file", Target: fmt.Sprintf("/%d.yaml", i)})
		if err != nil {
			t.Fatal(err)
		}
		stores[i], locs[i] = s, l.ID
	}
	batches := make([][]store.Entity, writers)
	for i := range writers {
		for j := range each {
			ref := fmt.Sprintf("component:default/w%d-%04d", i, j)
			batches[i] = append(batches[i], store.Entity{Ref: ref, Body: []byte(`{}`), Hash: ref,
				Search: []store.SearchRow{{Key: "spec.owner", Value: fmt.Sprintf("team-%d", i)}}})
		}
	}
	for _, err := range storetest.Together(writers, func(i int) error {
		_, err := stores[i].ReplaceLocation(ctx, locs[i], batches[i], store.ReplaceOptions{Orphans: store.OrphanDelete})
		return err
	}) {
		if err != nil {
			t.Fatalf("concurrent refresh: %v", err)
		}
	}
	for i := range writers {
		p, err := stores[0].Query(ctx, store.Query{Filter: store.Filter{{{Key: "spec.owner", Values: []string{fmt.Sprintf("team-%d", i)}}}}, Limit: 1})
		if err != nil || p.TotalItems != each {
			t.Fatalf("writer %d: %d entities found by its search rows, want %d (%v)", i, p.TotalItems, each, err)
		}
	}
}

// TestCopiedRowsRollBack fails a stream after each of the three tables has
// been written with COPY (20000 new entities: more than one classified
// chunk of MaxParams-1, and more than one COPY batch of each table): the
// copied rows were in the transaction, so none remain, and the same refs
// load afterwards.
func TestCopiedRowsRollBack(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	s := openStore(t, dsn)
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/big.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	boom := errors.New("the last file does not parse")
	stream := func(fail bool) iter.Seq2[store.Entity, error] {
		return func(yield func(store.Entity, error) bool) {
			for i := range n {
				ref := fmt.Sprintf("component:default/c%05d", i)
				e := store.Entity{Ref: ref, Body: []byte(`{}`), Hash: ref,
					Search:    []store.SearchRow{{Key: "spec.owner", Value: "team-a", Original: "Team-A"}},
					Relations: []store.Relation{{Source: ref, Type: "ownedBy", Target: "group:default/team-a"}, {Source: "group:default/team-a", Type: "ownerOf", Target: ref}}}
				if !yield(e, nil) {
					return
				}
			}
			if fail {
				yield(store.Entity{}, boom)
			}
		}
	}
	if _, err := s.ReplaceLocationStream(ctx, loc.ID, stream(true), store.ReplaceOptions{Orphans: store.OrphanDelete}); !errors.Is(err, boom) {
		t.Fatalf("failed stream: %v", err)
	}
	db := rawDB(t, dsn)
	for _, table := range []string{"entities", "search", "relations"} {
		var rows int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 0 {
			t.Errorf("%s: %d rows left by a failed stream, want 0", table, rows)
		}
	}
	res, err := s.ReplaceLocationStream(ctx, loc.ID, stream(false), store.ReplaceOptions{Orphans: store.OrphanDelete})
	if err != nil || res.Inserted != n {
		t.Fatalf("load after the failed one: %+v, %v", res, err)
	}
	p, err := s.Query(ctx, store.Query{Filter: store.Filter{{{Key: "spec.owner", Values: []string{"team-a"}}}}, Limit: 1})
	if err != nil || p.TotalItems != n {
		t.Fatalf("entities found by their search rows: %d, want %d (%v)", p.TotalItems, n, err)
	}
	e, err := s.EntityByRef(ctx, "component:default/c12345")
	if err != nil || len(e.Relations) != 1 || e.Relations[0].Target != "group:default/team-a" {
		t.Fatalf("relations of a loaded entity: %+v, %v", e, err)
	}
}

func TestRebind(t *testing.T) {
	if got := rebind("a = ? AND b IN (?,?)"); got != "a = $1 AND b IN ($2,$3)" {
		t.Fatal(got)
	}
}

func TestTaskSecretsPurged(t *testing.T) {
	dsn := freshDB(t)
	s := openStore(t, dsn)
	db := rawDB(t, dsn)
	storetest.TaskSecretsPurged(t, s, db, rebind)
}

func TestNewerSchemaRefused(t *testing.T) {
	dsn := freshDB(t)
	db := rawDB(t, dsn)
	storetest.NewerSchemaRefused(t, db, rebind, func() (store.Store, error) { return Open(context.Background(), dsn, 2) })
}

// A large batch's pages are made all-visible soon after it commits, by
// the store's own VACUUM (not autovacuum's: vacuum_count counts manual
// runs), so searches' access checks stop reading heap rows; a small batch
// starts none.
func TestVacuumAfterLargeBatch(t *testing.T) {
	dsn := freshDB(t)
	s := openStore(t, dsn)
	db := rawDB(t, dsn)
	vacuums := func() (n int, visible bool) {
		t.Helper()
		if err := db.QueryRow(`SELECT COALESCE(SUM(vacuum_count), 0) FROM pg_stat_user_tables WHERE relname IN ('entities', 'search_docs')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`SELECT relallvisible > 0 FROM pg_class WHERE relname = 'search_docs'`).Scan(&visible); err != nil {
			t.Fatal(err)
		}
		return n, visible
	}
	loadEntities(t, s, "/small", 50)
	time.Sleep(3 * time.Second) // time enough for a vacuum (none must come)
	if n, _ := vacuums(); n != 0 {
		t.Fatalf("a batch of 50 vacuumed %d tables", n)
	}
	loadEntities(t, s, "/large", 3000)
	deadline := time.Now().Add(60 * time.Second)
	for {
		// The statistics collector reports a little after the run.
		if n, visible := vacuums(); n >= 2 && visible {
			break
		}
		if time.Now().After(deadline) {
			n, visible := vacuums()
			t.Fatalf("no vacuum after a batch of 3000: %d runs, all-visible pages: %v;%s", n, visible, vacuumState(t, db))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestVacuumWaitsForOlderSnapshots: a snapshot taken before a large batch
// committed, held past the vacuum's usual moment, delays the vacuum
// until it ends (a run beside it could mark nothing). Autovacuum is off
// for the tables, so the only vacuum is the store's. The test checks when
// it ran, not the pages it marked: a page's marking also waits for the
// batch's asynchronous commit to reach the disk, a matter of PostgreSQL's
// WAL writer (CI once saw none marked after a run that came at the right
// moment).
func TestVacuumWaitsForOlderSnapshots(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	s := openStore(t, dsn)
	db := rawDB(t, dsn)
	for _, table := range []string{"entities", "search", "relations", "search_docs"} {
		if _, err := db.Exec(`ALTER TABLE ` + table + ` SET (autovacuum_enabled = false)`); err != nil {
			t.Fatal(err)
		}
	}
	old, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback()
	var n int
	if err := old.QueryRow(`SELECT COUNT(*) FROM entities`).Scan(&n); err != nil { // takes the snapshot
		t.Fatal(err)
	}
	loadEntities(t, s, "/large", 3000)
	time.Sleep(3 * time.Second) // past the vacuum's delay (1 s)
	var ended time.Time
	if err := db.QueryRow(`SELECT clock_timestamp()`).Scan(&ended); err != nil {
		t.Fatal(err)
	}
	if err := old.Rollback(); err != nil {
		t.Fatal(err)
	}
	s.WaitMaintenance()
	var runs int
	var last sql.NullTime
	if err := db.QueryRow(`SELECT vacuum_count, last_vacuum FROM pg_stat_user_tables WHERE relname = 'search_docs'`).Scan(&runs, &last); err != nil {
		t.Fatal(err)
	}
	if runs != 1 || !last.Valid || !last.Time.After(ended) {
		t.Fatalf("the vacuum ran %d times, last at %v; want once, after the older snapshot ended (%v);%s", runs, last.Time, ended, vacuumState(t, db))
	}
}

// loadEntities replaces the entities of a location of target with n
// components named after it.
func loadEntities(t *testing.T, s store.Store, target string, n int) {
	t.Helper()
	ctx := context.Background()
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: target})
	if err != nil {
		t.Fatal(err)
	}
	var es []store.Entity
	for i := range n {
		ref := fmt.Sprintf("component:default/%s-%05d", target[1:], i)
		es = append(es, store.Entity{Ref: ref, Body: []byte(`{"kind":"Component","metadata":{"name":"` + ref[18:] + `"}}`), Hash: ref})
	}
	if _, err := s.ReplaceLocation(ctx, loc.ID, es, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
}

// vacuumState describes, for a failure's message, the four tables'
// vacuum and visibility figures and the sessions of db's database (kind,
// state, snapshot, transaction age, query).
func vacuumState(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	tables, err := db.Query(`SELECT c.relname, s.vacuum_count, s.autovacuum_count, s.autoanalyze_count, c.relallvisible, c.relpages
		FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
		WHERE c.relname IN ('entities', 'search', 'relations', 'search_docs') ORDER BY 1`)
	if err != nil {
		return err.Error()
	}
	defer tables.Close()
	for tables.Next() {
		var name string
		var vac, autovac, autoanalyze, visible, pages int
		if err := tables.Scan(&name, &vac, &autovac, &autoanalyze, &visible, &pages); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "\n  %s: vacuums %d, autovacuums %d, autoanalyzes %d, %d of %d pages all-visible", name, vac, autovac, autoanalyze, visible, pages)
	}
	sessions, err := db.Query(`SELECT backend_type, COALESCE(state, ''), COALESCE(backend_xmin::text, '-'),
		COALESCE(EXTRACT(EPOCH FROM now() - xact_start)::text, '-'), left(query, 80)
		FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return err.Error()
	}
	defer sessions.Close()
	for sessions.Next() {
		var kind, state, xmin, age, query string
		if err := sessions.Scan(&kind, &state, &xmin, &age, &query); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "\n  session: %s %s xmin=%s xact=%ss %q", kind, state, xmin, age, query)
	}
	return b.String()
}

// The search pool's sessions are all open, and have read the search
// tables, when the store is: no search after a start pays for a session.
func TestSearchPoolWarmAtOpen(t *testing.T) {
	dsn := freshDB(t)
	s, err := Open(context.Background(), dsn, 12)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := rawDB(t, dsn)
	var warm int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle' AND query = $1`, warmSearch).Scan(&warm); err != nil {
		t.Fatal(err)
	}
	if warm != 4 { // a third of 12
		t.Fatalf("%d search sessions warmed at open, want 4", warm)
	}
}

func TestPoolKeepsConnections(t *testing.T) {
	s, err := Open(context.Background(), freshDB(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.PoolKeepsConnections(t, s)
}

// TestDriverBytesAreOwned: pgx's bytea values are the scan's to keep
// (Dialect.BytesOwned).
func TestDriverBytesAreOwned(t *testing.T) {
	db, err := sql.Open("pgx", freshDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.BytesOwned(t, db, bodyAsBytes, "$%d")
}

// TestByteOrderUnderICU: on a database whose collation is a language's
// (ICU en-US here), the catalog still sorts, pages and lists facet values
// in byte order, as SQLite does: its text columns are COLLATE "C".
func TestByteOrderUnderICU(t *testing.T) {
	dsn := pg.DB(t, "icu", "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
	storetest.ByteOrder(t, openStore(t, dsn))
}
