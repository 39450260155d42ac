package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riggerdev/rigger/internal/store"
)

// TestFirstLoadNeverWaitsForReaders holds a first load into an empty
// catalog part-way, past the point where it builds the indexes after its
// rows. With no reader about it has taken every catalog table's lock (a
// reader with a lock timeout is refused). With a reader's transaction
// holding one table (search) it has not waited for it, which is what
// deadlocked a reader holding one table while waiting for another: it
// writes with the indexes in place and the reader reads on; once that
// reader has left, the next chunk takes the tables, and the load commits.
// Every way the indexes end as they were.
func TestFirstLoadNeverWaitsForReaders(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	s := openStore(t, dsn)
	db := rawDB(t, dsn)
	indexes := func() []string {
		t.Helper()
		got, err := s.FirstLoadIndexes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	before := indexes()
	if len(before) < 5 {
		t.Fatalf("the catalog tables' secondary indexes: %q", before)
	}
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/first.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3500
	boom := errors.New("the last file does not parse")
	type result struct {
		res store.ReplaceResult
		err error
	}
	// start streams n entities, held before entity 1000 (the first chunk
	// written) and 2000 (the second); next resumes it to the next hold,
	// then to its end.
	// (next's result is nil at a hold).
	start := func(fail error) (next func() *result) {
		held, resume, done := make(chan int), make(chan struct{}), make(chan *result, 1)
		stream := func(yield func(store.Entity, error) bool) {
			for i := range n {
				if i == 1000 || i == 2000 {
					held <- i
					<-resume
				}
				ref := fmt.Sprintf("component:default/c%05d", i)
				e := store.Entity{Ref: ref, Body: []byte(`{}`), Hash: ref,
					Search:    []store.SearchRow{{Key: "spec.owner", Value: "team-a"}},
					Relations: []store.Relation{{Source: ref, Type: "ownedBy", Target: "group:default/team-a"}}}
				if !yield(e, nil) {
					return
				}
			}
			if fail != nil {
				yield(store.Entity{}, fail)
			}
		}
		go func() {
			res, err := s.ReplaceLocationStream(ctx, loc.ID, stream, store.ReplaceOptions{Orphans: store.OrphanDelete})
			done <- &result{res, err}
		}()
		wait := func() *result {
			select {
			case <-held:
				return nil
			case r := <-done:
				return r
			case <-time.After(60 * time.Second):
				t.Fatal("the load did not go on in a minute: waiting for a lock?")
				return nil
			}
		}
		if r := wait(); r != nil {
			t.Fatalf("the load ended before entity 1000: %+v %v", r.res, r.err)
		}
		return func() *result {
			resume <- struct{}{}
			return wait()
		}
	}
	// entities counts the stored entities as a reader that waits at most
	// 200 ms for a lock (55P03 when it waited longer).
	entities := func() (int, error) {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec("SET LOCAL lock_timeout = '200ms'"); err != nil {
			t.Fatal(err)
		}
		var got int
		err = tx.QueryRow("SELECT COUNT(*) FROM entities").Scan(&got)
		return got, err
	}

	locked := func(when string) {
		t.Helper()
		var pgErr *pgconn.PgError
		if got, err := entities(); !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
			t.Fatalf("a reader %s read %d entities (%v); want it to wait for the load (55P03)", when, got, err)
		}
	}
	unlocked := func(when string) {
		t.Helper()
		if got, err := entities(); err != nil || got != 0 {
			t.Fatalf("a reader %s: %d entities, %v; want 0 and no wait", when, got, err)
		}
	}
	// finish resumes the load to its end.
	finish := func(next func() *result) *result {
		for {
			if r := next(); r != nil {
				return r
			}
		}
	}

	// No reader: the load holds the catalog tables.
	next := start(boom)
	locked("during an unhindered first load")
	if r := finish(next); !errors.Is(r.err, boom) {
		t.Fatalf("failed load: %+v %v", r.res, r.err)
	}

	// A reader's transaction holds search throughout: the load goes on
	// without waiting for it, and without taking the catalog tables.
	reader, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	var docs int
	if err := reader.QueryRow("SELECT COUNT(*) FROM search").Scan(&docs); err != nil {
		t.Fatal(err)
	}
	next = start(boom)
	unlocked("during a first load beside another reader")
	if r := next(); r != nil {
		t.Fatalf("the load ended before entity 2000: %+v %v", r.res, r.err)
	}
	unlocked("during a first load beside another reader, later")
	if err := reader.QueryRow("SELECT COUNT(*) FROM entities").Scan(&docs); err != nil || docs != 0 {
		t.Fatalf("the reader holding search, reading entities: %d, %v", docs, err)
	}
	if r := finish(next); !errors.Is(r.err, boom) {
		t.Fatalf("failed load: %+v %v", r.res, r.err)
	}
	if err := reader.Commit(); err != nil {
		t.Fatal(err)
	}

	// A reader's transaction holds search while the first chunk is
	// written, and leaves: the next chunk takes the tables.
	reader, err = db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.QueryRow("SELECT COUNT(*) FROM search").Scan(&docs); err != nil {
		t.Fatal(err)
	}
	next = start(nil)
	unlocked("during a first load beside another reader")
	if err := reader.Commit(); err != nil {
		t.Fatal(err)
	}
	if r := next(); r != nil {
		t.Fatalf("the load ended before entity 2000: %+v %v", r.res, r.err)
	}
	locked("once the other reader left")
	if r := finish(next); r.err != nil || r.res.Inserted != n {
		t.Fatalf("first load that took the tables late: %+v %v", r.res, r.err)
	}
	p, err := s.Query(ctx, store.Query{Filter: store.Filter{{{Key: "spec.owner", Values: []string{"team-a"}}}}, Limit: 1})
	if err != nil || p.TotalItems != n {
		t.Fatalf("entities found by their search rows: %d, want %d (%v)", p.TotalItems, n, err)
	}
	if got, err := entities(); err != nil || got != n {
		t.Fatalf("after the first load: %d entities, %v", got, err)
	}
	if got := indexes(); !slices.Equal(got, before) {
		t.Fatalf("indexes after the first loads:\n%q\nwant\n%q", got, before)
	}
}
