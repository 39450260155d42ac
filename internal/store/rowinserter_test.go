package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // a real database for the inserts
)

// TestRowInserterWritesInTheTransaction: prepared inserts run on the
// driver's connection (rowInserter.exec), preparedRows rows a statement
// and the rest at a flush, inside the transaction open there: a rollback
// takes their rows away, a commit keeps them, each row keeps its values,
// and values database/sql would convert (an int) are converted.
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
	s := &SQL{db: db, d: Dialect{Rebind: func(q string) string { return q }, PreparedInserts: true}}
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
	// rows are two full prepared statements and three rows left for flush.
	const rows = 2*preparedRows + 3
	load := func(commit bool) {
		t.Helper()
		tx, in := begin()
		for i := range rows {
			if err := in.add(i, "row-"+strconv.Itoa(i), nil); err != nil {
				t.Fatal(err)
			}
		}
		// The transaction sees the rows of full statements, then all of
		// them once flushed, before it ends.
		inside := func() int {
			var n int
			if err := tx.QueryRow(`SELECT COUNT(*) FROM t WHERE note IS NULL`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := inside(); n != 2*preparedRows {
			t.Fatalf("inside the transaction before a flush: %d rows, want %d", n, 2*preparedRows)
		}
		if err := in.flush(); err != nil {
			t.Fatal(err)
		}
		if n := inside(); n != rows {
			t.Fatalf("inside the transaction after a flush: %d rows, want %d", n, rows)
		}
		// The statements serve again after a flush; a flush of exactly
		// full statements leaves nothing behind.
		for i := range preparedRows {
			if err := in.add(rows+i, "row-"+strconv.Itoa(rows+i), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := in.flush(); err != nil {
			t.Fatal(err)
		}
		if n := inside(); n != rows+preparedRows {
			t.Fatalf("inside the transaction after a second flush: %d rows, want %d", n, rows+preparedRows)
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
	if n := count(); n != rows+preparedRows {
		t.Fatalf("after a commit: %d rows, want %d", n, rows+preparedRows)
	}
	// Each row has its own values, in the order added.
	var got string
	if err := db.QueryRow(`SELECT group_concat(id || '=' || name, ',') FROM (SELECT id, name FROM t ORDER BY rowid)`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	want := make([]string, rows+preparedRows)
	for i := range want {
		want[i] = strconv.Itoa(i) + "=row-" + strconv.Itoa(i)
	}
	if got != strings.Join(want, ",") {
		t.Fatalf("rows in order %s, want %s", got, strings.Join(want, ","))
	}
	// A value no driver takes is refused with its column named, in a
	// full statement (its last row) and in a row left for flush.
	_, in := begin()
	for i := range preparedRows - 1 {
		if err := in.add(i, "row", nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.add(1, "row", struct{}{}); err == nil || !strings.Contains(err.Error(), "insert into t: column note") {
		t.Fatalf("a struct value in a full statement: %v", err)
	}
	_, in = begin()
	if err := in.add(1, struct{}{}, nil); err != nil {
		t.Fatalf("a row is buffered, not yet converted: %v", err)
	}
	if err := in.flush(); err == nil || !strings.Contains(err.Error(), "insert into t: column name") {
		t.Fatalf("a struct value at a flush: %v", err)
	}
}

// TestCopyRowsBatchesAreBounded: rows go to CopyRows copyRows at a time,
// and sooner once their text and bytes reach copyBytes, so large entities
// are never all held at once; every row arrives once, in order.
func TestCopyRowsBatchesAreBounded(t *testing.T) {
	var batches []int
	var got []int
	s := &SQL{d: Dialect{Rebind: func(q string) string { return q }, CopyRows: func(_ context.Context, _ any, table string, columns []string, rows [][]any) error {
		batches = append(batches, len(rows))
		for _, r := range rows {
			got = append(got, r[0].(int))
		}
		return nil
	}}}
	in := heldInserter(t, s, "t", "id", "body")
	small, big := "x", strings.Repeat("b", copyBytes/4)
	id := 0
	add := func(n int, body string) {
		for range n {
			if err := in.add(id, body); err != nil {
				t.Fatal(err)
			}
			id++
		}
	}
	inOrder := func() { t.Helper(); arrivedInOrder(t, got, id) }
	add(copyRows+10, small) // one full batch by count, 10 rows left
	add(9, big)             // each 4th big row reaches the bound: 14 rows, then 4
	if err := in.flush(); err != nil {
		t.Fatal(err)
	}
	if want := []int{copyRows, 14, 4, 1}; !slices.Equal(batches, want) {
		t.Fatalf("batches of %v rows, want %v", batches, want)
	}
	inOrder()
	// A dialect's own batch size (Dialect.CopyBatch) replaces copyRows;
	// the byte bound still holds.
	s.d.CopyBatch, batches = 7, nil
	add(15, small) // 7, 7, one left
	add(5, big)    // the 4th big row reaches the bound: 5 rows, then 1
	if err := in.flush(); err != nil {
		t.Fatal(err)
	}
	if want := []int{7, 7, 5, 1}; !slices.Equal(batches, want) {
		t.Fatalf("batches of %v rows with CopyBatch 7, want %v", batches, want)
	}
	inOrder()
}

// TestCopyDataBatchesAreBounded: with CopyData rows are encoded as they
// come and handed over CopyBatch at a time, and sooner once the batch's
// bytes reach copyBytes; every row arrives once, in order, as written
// (its id, its text, its NULL).
func TestCopyDataBatchesAreBounded(t *testing.T) {
	var batches []int
	var got []int64
	var bodies []string
	s := &SQL{d: Dialect{Rebind: func(q string) string { return q }, CopyBatch: 7,
		CopyData: func(_ context.Context, _ any, table string, columns []string, data []byte, _ bool) (int64, error) {
			rows := 0
			for len(data) > 0 {
				fields := int(binary.BigEndian.Uint16(data))
				data = data[2:]
				if fields != len(columns) {
					t.Fatalf("a row of %d fields for %d columns", fields, len(columns))
				}
				var vals [][]byte // nil: NULL
				for range fields {
					n := int(int32(binary.BigEndian.Uint32(data)))
					data = data[4:]
					if n < 0 {
						vals = append(vals, nil)
						continue
					}
					vals, data = append(vals, data[:n:n]), data[n:]
				}
				if len(vals[0]) != 8 || vals[1] == nil || vals[2] != nil {
					t.Fatalf("row %q: want an 8-byte id, a text and a NULL", vals)
				}
				got, bodies = append(got, int64(binary.BigEndian.Uint64(vals[0]))), append(bodies, string(vals[1]))
				rows++
			}
			batches = append(batches, rows)
			return int64(rows), nil
		}}}
	in := heldInserter(t, s, "t", "id", "body", "note")
	small, big := "x\\N\t", strings.Repeat("b", copyBytes/4)
	var id int64
	var want []string
	add := func(n int, body string) {
		for range n {
			var err error
			if id%2 == 0 {
				err = in.add(id, body, nil)
			} else {
				err = in.addIDTexts(id, true, body, "dropped for NULL")
			}
			if err != nil {
				t.Fatal(err)
			}
			id++
			want = append(want, body)
		}
	}
	add(15, small) // 7, 7, one left
	add(5, big)    // the 4th big row reaches the bound: 5 rows, then 1
	if err := in.flush(); err != nil {
		t.Fatal(err)
	}
	if want := []int{7, 7, 5, 1}; !slices.Equal(batches, want) {
		t.Fatalf("batches of %v rows, want %v", batches, want)
	}
	arrivedInOrder(t, got, id)
	if !slices.Equal(bodies, want) {
		t.Fatal("a row's text arrived changed")
	}
	// A value with no binary form fails its row, and leaves nothing of it
	// in the batch.
	if err := in.add(id, 1, nil); err == nil || !strings.Contains(err.Error(), "t: no binary COPY form for a value of type int") {
		t.Fatalf("an int value: %v", err)
	}
	add(1, small)
	if err := in.flush(); err != nil {
		t.Fatal(err)
	}
	arrivedInOrder(t, got, id)
}

// arrivedInOrder checks the ids got are each of the n added, once and in
// order.
func arrivedInOrder[T int | int64](t *testing.T, got []T, n T) {
	t.Helper()
	for i, v := range got {
		if v != T(i) {
			t.Fatalf("row %d arrived as %d", i, v)
		}
	}
	if T(len(got)) != n {
		t.Fatalf("%d rows arrived, want %d", len(got), n)
	}
}

// TestCopyDataFailureSticks: once a batch failed, the inserter refuses
// rows and flushes without handing the database anything again (the
// transaction is rolled back; a batch sent twice could duplicate rows).
// A row of the wrong width is refused before it is encoded.
func TestCopyDataFailureSticks(t *testing.T) {
	calls := 0
	s := &SQL{d: Dialect{Rebind: func(q string) string { return q }, CopyBatch: 2,
		CopyData: func(context.Context, any, string, []string, []byte, bool) (int64, error) {
			calls++
			return 0, errors.New("refused")
		}}}
	in := heldInserter(t, s, "t", "id", "body")
	if err := in.add(int64(1)); err == nil || !strings.Contains(err.Error(), "t: a row of 1 values for 2 columns") {
		t.Fatalf("a short row: %v", err)
	}
	if err := in.addIDTexts(1, false, "a", "b"); err == nil || !strings.Contains(err.Error(), "t: a row of 3 values for 2 columns") {
		t.Fatalf("a long row: %v", err)
	}
	if err := in.add(int64(1), "a"); err != nil {
		t.Fatal(err)
	}
	if err := in.addIDTexts(2, false, "b"); err == nil || !strings.Contains(err.Error(), "write 2 rows into t: refused") {
		t.Fatalf("the batch's write: %v", err)
	}
	for _, err := range []error{in.add(int64(3), "c"), in.addIDTexts(4, false, "d"), in.flush()} {
		if err == nil || !strings.Contains(err.Error(), "write 2 rows into t: refused") {
			t.Fatalf("after the failure: %v", err)
		}
	}
	if calls != 1 {
		t.Fatalf("CopyData called %d times, want once", calls)
	}
}

// TestAddIDTextsWithoutCopyData: where rows are buffered as values (no
// CopyData), addIDTexts adds the row add would, its last text NULL if
// lastNull.
func TestAddIDTextsWithoutCopyData(t *testing.T) {
	var got [][]any
	s := &SQL{d: Dialect{Rebind: func(q string) string { return q }, CopyRows: func(_ context.Context, _ any, _ string, _ []string, rows [][]any) error {
		for _, r := range rows {
			got = append(got, slices.Clone(r))
		}
		return nil
	}}}
	in := heldInserter(t, s, "search", "entity_id", "key", "value", "original")
	for _, row := range []struct {
		lastNull bool
		original string
	}{{false, "Team-A"}, {true, "team-a"}} {
		if err := in.addIDTexts(7, row.lastNull, "spec.owner", "team-a", row.original); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.flush(); err != nil {
		t.Fatal(err)
	}
	want := [][]any{{int64(7), "spec.owner", "team-a", "Team-A"}, {int64(7), "spec.owner", "team-a", nil}}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 2 || got[1][3] != nil {
		t.Fatalf("rows %v, want %v", got, want)
	}
}

// heldInserter is a rowInserter of s for table on a connection it holds
// (a SQLite file's: the one CopyRows or CopyData are handed).
func heldInserter(t *testing.T, s *SQL, table string, columns ...string) *rowInserter {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "rows.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return (&replacer{s: s, ctx: ctx, done: ctx, conn: conn}).inserter(table, columns...)
}
