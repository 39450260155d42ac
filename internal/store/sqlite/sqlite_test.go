package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

// openStore opens the store at path for the rest of the test.
func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	return openStoreWith(t, path, defaultLibrary)
}

// openStoreWith is openStore on the library lib.
func openStoreWith(t *testing.T, path string, lib library) store.Store {
	t.Helper()
	s, err := openWith(context.Background(), path, lib)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// loadedFile opens a store on lib holding n generated components (through
// the store's own writes) and returns a second connection pool on its
// file, of the same library, for the test to read what the store wrote as
// SQLite holds it.
func loadedFile(t *testing.T, lib library, n int) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rigger.db")
	storetest.LoadCatalog(t, openStoreWith(t, path, lib), n)
	db, err := lib.open(path, busyTimeout, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestConformance runs the store's suite on each SQLite library of the
// build: the C one a make build stores in, and the pure-Go one a build
// without cgo does.
func TestConformance(t *testing.T) {
	for _, lib := range libraries() {
		t.Run(lib.Name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store { return openStoreWith(t, filepath.Join(t.TempDir(), "rigger.db"), lib) })
		})
	}
}

// TestLibraryIsTheBuilds: the store runs on the library the build was
// meant to have (RIGGER_WANT_SQLITE, which make test sets): a build
// that lost the C library (no cgo, or no sqlite_fts5 tag) still works,
// slower, and would pass every other test.
func TestLibraryIsTheBuilds(t *testing.T) {
	want := os.Getenv("RIGGER_WANT_SQLITE")
	if want == "" {
		t.Skip("RIGGER_WANT_SQLITE (c or go) is not set: make test sets it")
	}
	if got := Library(); got != want {
		t.Fatalf("the store runs on SQLite library %q, want %q (the C one needs cgo, a C compiler and -tags sqlite_fts5)", got, want)
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rigger.db")
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "x"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen (migrations must be idempotent): %v", err)
	}
	defer s.Close()
	if ls, err := s.ListLocations(ctx); err != nil || len(ls) != 1 {
		t.Fatalf("after reopen: %v %v", ls, err)
	}
}

func TestMigrateUIDRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rigger.db")
	db, err := OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	legacy := storetest.Legacy{DB: db, Rebind: func(q string) string { return q }, Migrations: store.Schema("sqlite")}
	storetest.Migration(t, legacy, func(t *testing.T) store.Store { return openStore(t, path) })
}

func TestTaskSecretsPurged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rigger.db")
	s := openStore(t, path)
	db, err := OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.TaskSecretsPurged(t, s, db, func(q string) string { return q })
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rigger.db")
	db, err := OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.NewerSchemaRefused(t, db, func(q string) string { return q }, func() (store.Store, error) { return Open(context.Background(), path) })
}

// TestAnalyzeKeepsNoKeySamples: after a large load the planner has its
// row-count statistics (sqlite_stat1) and no STAT4 key samples, which
// would have every cached statement with an indexed parameter compiled
// again at each new binding: the pure-Go library's ANALYZE writes them
// and the store deletes them; the C library, built without STAT4, writes
// none.
func TestAnalyzeKeepsNoKeySamples(t *testing.T) {
	for _, lib := range libraries() {
		t.Run(lib.Name, func(t *testing.T) {
			db := loadedFile(t, lib, 1500)
			var stat1, stat4, stat4Table int
			if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM sqlite_stat1), (SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat4')`).Scan(&stat1, &stat4Table); err != nil {
				t.Fatal(err)
			}
			if stat4Table > 0 {
				if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_stat4`).Scan(&stat4); err != nil {
					t.Fatal(err)
				}
			}
			if stat1 == 0 || stat4 != 0 {
				t.Fatalf("sqlite_stat1 has %d rows, sqlite_stat4 %d: want some, none", stat1, stat4)
			}
		})
	}
}

func TestPoolKeepsConnections(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.PoolKeepsConnections(t, s)
}

// TestSortsUseThreads: the store's connections let a sort that outgrows
// memory (a first load's index builds) use more threads.
func TestSortsUseThreads(t *testing.T) {
	db, err := defaultLibrary.open(filepath.Join(t.TempDir(), "rigger.db"), busyTimeout, connPragmas(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`PRAGMA threads`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := sorterThreads(); n != want || n < 1 {
		t.Fatalf("PRAGMA threads is %d on a store connection, want %d (at least 1)", n, want)
	}
}

// TestPackedRowsAreDeclared: an entity's search and relation rows sit at
// ids id*2^24+n (store.Dialect.PackedRows) in a declared column, which a
// copy of the rows (what a dump and restore does) and a VACUUM keep; an
// undeclared rowid either may renumber, and the rows would then be found
// under no entity or another one.
func TestPackedRowsAreDeclared(t *testing.T) {
	db := loadedFile(t, defaultLibrary, 50)
	for _, table := range []struct{ name, owner string }{{"search", "entity_id"}, {"relations", "origin_id"}} {
		for _, step := range []string{
			"CREATE TABLE copied AS SELECT * FROM " + table.name,
			"VACUUM",
		} {
			if _, err := db.Exec(step); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
		}
		for _, from := range []string{"copied", table.name} {
			var rows, misplaced int
			q := fmt.Sprintf("SELECT COUNT(*), COUNT(*) FILTER (WHERE id / 16777216 != %s) FROM %s", table.owner, from)
			if err := db.QueryRow(q).Scan(&rows, &misplaced); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if rows == 0 || misplaced != 0 {
				t.Fatalf("%s (rows of %s): %d rows, %d outside their entity's range", from, table.name, rows, misplaced)
			}
		}
		if _, err := db.Exec("DROP TABLE copied"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPragmaParametersRefused: modernc's _pragma parameter means nothing
// to the C library, which would open the file without the pragma and
// without a word; it refuses one instead.
func TestPragmaParametersRefused(t *testing.T) {
	for _, lib := range libraries() {
		t.Run(lib.Name, func(t *testing.T) {
			db, err := lib.open("file:"+filepath.Join(t.TempDir(), "p.db")+"?_pragma=foreign_keys(ON)", busyTimeout, nil, false)
			if lib.Name == "go" {
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var fk int
				if err := db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
					t.Fatalf("foreign_keys %d, %v: want the _pragma applied", fk, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "_pragma") {
				t.Fatalf("open with _pragma on the %s library: %v, want a refusal naming _pragma", lib.Name, err)
			}
		})
	}
	// A directory's name that merely contains the word is a path, not a
	// parameter: a store opens there on either library.
	for _, lib := range libraries() {
		t.Run(lib.Name+"/in-a-path", func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "x_pragma=y")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			openStoreWith(t, filepath.Join(dir, "rigger.db"), lib)
		})
	}
}

// TestDriverBytesAreOwned: each library's blobs are the scan's to keep
// (Dialect.BytesOwned).
func TestDriverBytesAreOwned(t *testing.T) {
	for _, lib := range libraries() {
		t.Run(lib.Name, func(t *testing.T) {
			db, err := lib.open(filepath.Join(t.TempDir(), "b.db"), busyTimeout, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			storetest.BytesOwned(t, db, bodyAsBytes, "?%d")
		})
	}
}
