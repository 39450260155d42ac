package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // a real database for the inserts
)

// TestRowInserterWritesInTheTransaction: single-row inserts run on the
// driver's connection (rowInserter.exec), inside the transaction open
// there: a rollback takes their rows away, a commit keeps them, and
// values database/sql would convert (an int) are converted.
func TestRowInserterWritesInTheTransaction(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "rows.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER, name TEXT, note TEXT)`); err != nil {
		t.Fatal(err)
	}
	s := &SQL{db: db, d: Dialect{Rebind: func(q string) string { return q }, SingleRowInserts: true}}
	count := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// begin opens a transaction on a held connection and an inserter in it.
	begin := func() (*sql.Tx, *rowInserter) {
		t.Helper()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			conn.Close()
			t.Fatal(err)
		}
		r := &replacer{s: s, ctx: ctx, done: ctx, conn: conn, tx: tx}
		in := r.inserter("t", "id", "name", "note")
		t.Cleanup(func() {
			in.close()
			_ = tx.Rollback() // a no-op after a commit
			conn.Close()
		})
		return tx, in
	}
	load := func(commit bool) {
		t.Helper()
		tx, in := begin()
		for i := range 3 {
			if err := in.add(i, "row", nil); err != nil {
				t.Fatal(err)
			}
		}
		// The transaction sees its rows before it ends.
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM t WHERE note IS NULL`).Scan(&n); err != nil || n != 3 {
			t.Fatalf("inside the transaction: %d rows, %v", n, err)
		}
		in.close()
		var err error
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	load(false)
	if n := count(); n != 0 {
		t.Fatalf("after a rollback: %d rows, want 0", n)
	}
	load(true)
	if n := count(); n != 3 {
		t.Fatalf("after a commit: %d rows, want 3", n)
	}
	var sum int
	if err := db.QueryRow(`SELECT SUM(id) FROM t`).Scan(&sum); err != nil || sum != 3 {
		t.Fatalf("ids sum to %d (%v), want 3", sum, err)
	}
	// A value no driver takes is refused with its column named.
	_, in := begin()
	if err := in.add(1, struct{}{}, nil); err == nil || !strings.Contains(err.Error(), "insert into t: column name") {
		t.Fatalf("a struct value: %v", err)
	}
}
