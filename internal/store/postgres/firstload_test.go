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
// reader with a lock timeout is refused); with a reader's transaction
// holding one table (search) it has not waited for it, which is what
// deadlocked a reader holding one table while waiting for another: it
// loads with the indexes in place, the reader reads on, and the load
// commits under it. Either way the indexes end as they were.
func TestFirstLoadNeverWaitsForReaders(t *testing.T) {
	dsn := freshDB(t)
	ctx := context.Background()
	s := openStore(t, dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	indexes := func() []string {
		t.Helper()
		got, err := s.(*store.SQL).FirstLoadIndexes(ctx)
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
	const n, holdAt = 2500, 2000
	boom := errors.New("the last file does not parse")
	type result struct {
		res store.ReplaceResult
		err error
	}
	// start streams n entities, held before entity holdAt until the
	// returned release is called.
	start := func(fail error) (release func() result) {
		held, resume, done := make(chan struct{}), make(chan struct{}), make(chan result, 1)
		stream := func(yield func(store.Entity, error) bool) {
			for i := range n {
				if i == holdAt {
					close(held)
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
			done <- result{res, err}
		}()
		select {
		case <-held:
		case r := <-done:
			t.Fatalf("the load ended before entity %d: %+v %v", holdAt, r.res, r.err)
		case <-time.After(60 * time.Second):
			t.Fatalf("the load did not reach entity %d in a minute: waiting for a lock?", holdAt)
		}
		return func() result { close(resume); return <-done }
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

	// No reader: the load holds the catalog tables.
	release := start(boom)
	var pgErr *pgconn.PgError
	if got, err := entities(); !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
		t.Fatalf("a reader during an unhindered first load read %d entities (%v); want it to wait for the load (55P03)", got, err)
	}
	if r := release(); !errors.Is(r.err, boom) {
		t.Fatalf("failed load: %+v %v", r.res, r.err)
	}

	// A reader's transaction holds search: the load goes on without
	// waiting for it, and without taking the catalog tables.
	reader, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback()
	var docs int
	if err := reader.QueryRow("SELECT COUNT(*) FROM search").Scan(&docs); err != nil {
		t.Fatal(err)
	}
	release = start(nil)
	if got, err := entities(); err != nil || got != 0 {
		t.Fatalf("a reader during a first load beside another reader: %d entities, %v; want 0 and no wait", got, err)
	}
	if err := reader.QueryRow("SELECT COUNT(*) FROM entities").Scan(&docs); err != nil || docs != 0 {
		t.Fatalf("the reader holding search, reading entities: %d, %v", docs, err)
	}
	if r := release(); r.err != nil || r.res.Inserted != n {
		t.Fatalf("first load beside a reader: %+v %v", r.res, r.err)
	}
	if err := reader.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, err := entities(); err != nil || got != n {
		t.Fatalf("after the first load: %d entities, %v", got, err)
	}
	if got := indexes(); !slices.Equal(got, before) {
		t.Fatalf("indexes after the first loads:\n%q\nwant\n%q", got, before)
	}
}
