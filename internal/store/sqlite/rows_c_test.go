//go:build cgo && sqlite_fts5

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

// rowsDB is a C-library pool on a new file with a table t of three
// untyped columns and a unique one, and one connection of it.
func rowsDB(t *testing.T) (*sql.DB, *sql.Conn) {
	t.Helper()
	db, err := cLibrary.open(filepath.Join(t.TempDir(), "rows.db"), busyTimeout, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER UNIQUE, a, b, c)`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return db, conn
}

// insertOn runs insertRows on conn's driver connection.
func insertOn(ctx context.Context, conn *sql.Conn, rows [][]any) error {
	return conn.Raw(func(dc any) error { return insertRows(ctx, dc, "t", []string{"id", "a", "b", "c"}, rows) })
}

// dump is every row of table, each value as SQLite's typeof and quote
// say it is stored.
func dump(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT typeof(a) || ':' || quote(a) || ' ' || typeof(b) || ':' || quote(b) || ' ' || typeof(c) || ':' || quote(c) FROM ` + table + ` ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestInsertRowsStoresWhatTheDriverWould: every kind of value the store
// hands a row writer is stored by insertRows exactly as the driver's own
// binding stores it (same type, same bytes), compared on a twin table.
func TestInsertRowsStoresWhatTheDriverWould(t *testing.T) {
	db, conn := rowsDB(t)
	if _, err := db.Exec(`CREATE TABLE twin (id INTEGER UNIQUE, a, b, c)`); err != nil {
		t.Fatal(err)
	}
	type named string
	rows := [][]any{
		{int64(1), nil, int64(-42), "text"},
		{int64(2), "", []byte{}, []byte(nil)},
		{int64(3), "ünïcødé ✓", []byte{0, 1, 2, 255}, 3.25},
		{int64(4), true, false, int(7)},
		{int64(5), "a\x00b", named("a named string"), int64(1) << 62},
		{int64(6), strings.Repeat("x", 100000), "", nil},
	}
	// Two batches: the second runs on the buffers the first handed back.
	if err := insertOn(context.Background(), conn, rows[:4]); err != nil {
		t.Fatal(err)
	}
	if err := insertOn(context.Background(), conn, rows[4:]); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if _, err := db.Exec(`INSERT INTO twin (id, a, b, c) VALUES (?, ?, ?, ?)`, r...); err != nil {
			t.Fatal(err)
		}
	}
	got, want := dump(t, db, "t"), dump(t, db, "twin")
	if len(got) != len(rows) {
		t.Fatalf("%d rows stored, want %d", len(got), len(rows))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d stored as\n  %.200s\nthe driver stores\n  %.200s", i+1, got[i], want[i])
		}
	}
}

// TestInsertRowsFailures: a constraint failure names the row and SQLite's
// message and unwraps to the driver's error (its code, as the store's
// busy check reads it); a value of a type the store never writes, a row
// of the wrong width and a cancelled context write nothing.
func TestInsertRowsFailures(t *testing.T) {
	ctx := context.Background()
	db, conn := rowsDB(t)
	count := func() int {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := insertOn(ctx, conn, [][]any{{int64(1), "a", nil, nil}, {int64(2), "b", nil, nil}, {int64(1), "dup", nil, nil}, {int64(4), "d", nil, nil}})
	var e sqlite3.Error
	if err == nil || !strings.Contains(err.Error(), "row 3 of 4") || !strings.Contains(err.Error(), "UNIQUE constraint failed: t.id") ||
		!errors.As(err, &e) || e.Code != sqlite3.ErrConstraint || e.ExtendedCode != sqlite3.ErrConstraintUnique {
		t.Fatalf("duplicate id: %v (%+v), want row 3 of 4's UNIQUE failure as a constraint error", err, e)
	}
	if n := count(); n != 2 { // OR FAIL: the rows before stay; the store rolls back its transaction
		t.Fatalf("%d rows after the failure, want the 2 before it", n)
	}

	for name, tc := range map[string]struct {
		rows [][]any
		want string
	}{
		"time":  {[][]any{{int64(10), time.Now(), nil, nil}}, "column a: a value of type time.Time the store does not write"},
		"chan":  {[][]any{{int64(11), make(chan int), nil, nil}}, "column a: unsupported type chan int"},
		"width": {[][]any{{int64(12), "a", "b"}}, "a row of 3 values for 4 columns"},
	} {
		if err := insertOn(ctx, conn, tc.rows); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := insertOn(cancelled, conn, [][]any{{int64(13), "a", nil, nil}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
	if err := insertRows(ctx, "not a connection", "t", []string{"id"}, [][]any{{int64(14)}}); err == nil || !strings.Contains(err.Error(), "not a SQLite C connection") {
		t.Errorf("another driver's connection: %v", err)
	}
	if err := conn.Raw(func(dc any) error { return insertRows(ctx, dc, "t", nil, [][]any{{}}) }); err == nil || !strings.Contains(err.Error(), "rows for t name no column") {
		t.Errorf("no columns: %v", err)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d rows after the refused batches, want 2", n)
	}
}

// TestInsertRowsReachesTheHandle: the driver's connection still holds its
// sqlite3 handle where insertRows reads it (a new driver version that
// moved it fails here, not only in every store test).
func TestInsertRowsReachesTheHandle(t *testing.T) {
	_, conn := rowsDB(t)
	err := conn.Raw(func(dc any) error {
		h, err := handle(dc)
		if err == nil && h == nil {
			t.Fatal("a nil handle")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStoreWritesRowsThroughInsertRows: a store on the C library writes a
// load's rows with its library's insertRows (the store's own tests then
// cover it), and they read back whole.
func TestStoreWritesRowsThroughInsertRows(t *testing.T) {
	var calls, rows atomic.Int64
	lib := cLibrary
	lib.insertRows = func(ctx context.Context, dc any, table string, columns []string, batch [][]any) error {
		calls.Add(1)
		rows.Add(int64(len(batch)))
		return insertRows(ctx, dc, table, columns, batch)
	}
	s := openStoreWith(t, filepath.Join(t.TempDir(), "rigger.db"), lib)
	storetest.LoadCatalog(t, s, 300)
	if calls.Load() == 0 {
		t.Fatal("the store wrote its rows without the library's insertRows")
	}
	page, err := s.Query(context.Background(), store.Query{Filter: store.Filter{{{Key: "kind", Values: []string{"component"}}}}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entities) != 300 {
		t.Fatalf("%d components read back, want 300", len(page.Entities))
	}
	t.Logf("%d rows in %d batches", rows.Load(), calls.Load())
}
