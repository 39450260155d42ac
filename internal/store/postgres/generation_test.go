package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riggerdev/rigger/internal/store"
)

// TestGenerationBumpsNeverWaitOnOtherWriters: the write generation's
// trigger locks no row another writer's trigger locks. Two writers: the
// first updates a1 and stays open; the second deletes a2 (its trigger
// bumps the generation) and commits; the first then updates a2, which
// waits for the second's row lock only. With a row shared between them
// (as slots by backend pid once were: the test looks for two backends of
// the same pid % 256) the second's trigger waits for the first's bump, the
// first for the second's delete, and PostgreSQL ends one with a deadlock.
// Then the generation moved by both, and folding keeps the table small.
func TestGenerationBumpsNeverWaitOnOtherWriters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	es := []store.Entity{
		{Ref: "component:default/a1", Body: []byte(`{}`), Hash: "1"},
		{Ref: "component:default/a2", Body: []byte(`{}`), Hash: "2"},
	}
	dsn, s, loc := generationStore(t, es...)
	gen := func() int64 {
		t.Helper()
		g, _, _, err := s.HiddenSet(ctx, store.True(), 0)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	before := gen()

	c1 := connectPlain(t, dsn)
	slot := func(c *pgx.Conn) uint32 { return c.PgConn().PID() % 256 }
	var c2 *pgx.Conn
	for range 3000 {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if slot(c) == slot(c1) {
			c2 = c
			t.Cleanup(func() { c.Close(context.Background()) })
			break
		}
		c.Close(ctx)
	}
	if c2 == nil {
		c2 = connectPlain(t, dsn) // any other backend: the writers must not wait on each other's bumps either
	}

	tx1, err := c1.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback(ctx)
	if _, err := tx1.Exec(ctx, `UPDATE entities SET hash = 'x' WHERE ref = 'component:default/a1'`); err != nil {
		t.Fatal(err)
	}
	deleted := make(chan error, 1)
	go func() {
		tx2, err := c2.Begin(ctx)
		if err == nil {
			if _, err = tx2.Exec(ctx, `DELETE FROM entities WHERE ref = 'component:default/a2'`); err == nil {
				err = tx2.Commit(ctx)
			}
			_ = tx2.Rollback(ctx)
		}
		deleted <- err
	}()
	select {
	case err := <-deleted:
		if err != nil {
			t.Fatalf("the delete: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the delete waited for the other writer's open transaction")
	}
	if _, err := tx1.Exec(ctx, `UPDATE entities SET hash = 'y' WHERE ref = 'component:default/a2'`); err != nil {
		t.Fatalf("the refresh: %v", err)
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatalf("the refresh's commit: %v", err)
	}
	after := gen()
	if after < before+3 {
		t.Fatalf("generation %d after three writing statements, %d before", after, before)
	}

	// Many writes one after another: each folds what committed before it.
	for i := range 50 {
		es[0].Hash = fmt.Sprint("h", i)
		if _, err := s.ReplaceLocation(ctx, loc.ID, es[:1], store.ReplaceOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if g := gen(); g <= after {
		t.Fatalf("generation %d after 50 writes, %d before them", g, after)
	}
	var rows int
	if err := c1.QueryRow(ctx, `SELECT COUNT(*) FROM catalog_generation`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows > 3 {
		t.Fatalf("catalog_generation holds %d rows after 50 writes one after another, want them folded", rows)
	}

	// Writers at once, each folding when it can: a reader never sees the
	// generation go back, and every write counts.
	start := gen()
	const writers, writes = 4, 15
	errc := make(chan error, writers)
	for w := range writers {
		go func() {
			l, err := s.AddLocation(ctx, store.Location{Type: "file", Target: fmt.Sprintf("/gen-%d.yaml", w)})
			for i := 0; err == nil && i < writes; i++ {
				e := store.Entity{Ref: fmt.Sprintf("component:default/w%d", w), Body: []byte(`{}`), Hash: fmt.Sprint(i)}
				_, err = s.ReplaceLocation(ctx, l.ID, []store.Entity{e}, store.ReplaceOptions{})
			}
			errc <- err
		}()
	}
	last, done := start, 0
	for done < writers {
		select {
		case err := <-errc:
			if err != nil {
				t.Fatal(err)
			}
			done++
		default:
		}
		g := gen()
		if g < last {
			t.Fatalf("the generation went back from %d to %d", last, g)
		}
		last = g
	}
	if g := gen(); g < start+writers*writes {
		t.Fatalf("generation %d after %d writes, %d before them", g, writers*writes, start)
	}
}

// TestGenerationBumpAtRepeatableRead: a writer at REPEATABLE READ (a DBA's
// default_transaction_isolation) whose snapshot is older than another
// writer's fold still writes: it bumps its own row and leaves folding to
// READ COMMITTED writers (locking row 0 after a later fold would be a
// serialization failure, and its snapshot would miss committed rows).
func TestGenerationBumpAtRepeatableRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, s, _ := generationStore(t, store.Entity{Ref: "component:default/a1", Body: []byte(`{}`), Hash: "1"})
	c1, c2 := connectPlain(t, dsn), connectPlain(t, dsn)
	tx, err := c1.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT COUNT(*) FROM entities`); err != nil { // its snapshot
		t.Fatal(err)
	}
	for i := range 2 { // the second folds the first's row into row 0
		if _, err := c2.Exec(ctx, `UPDATE entities SET hash = $1 WHERE ref = 'component:default/a1'`, fmt.Sprint("c", i)); err != nil {
			t.Fatal(err)
		}
	}
	before, _, _, err := s.HiddenSet(ctx, store.True(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO entities (uid, ref, kind, namespace, name, location_id, body, hash, created_at, updated_at)
		SELECT 'u2', 'component:default/a2', kind, namespace, 'a2', location_id, body, hash, created_at, updated_at FROM entities WHERE ref = 'component:default/a1'`); err != nil {
		t.Fatalf("a repeatable-read writer: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("a repeatable-read writer's commit: %v", err)
	}
	if after, _, _, err := s.HiddenSet(ctx, store.True(), 0); err != nil || after <= before {
		t.Fatalf("generation %d after the repeatable-read write, %d before (%v)", after, before, err)
	}
}

// generationStore opens a store on a fresh database holding es in one
// location.
func generationStore(t *testing.T, es ...store.Entity) (string, *store.SQL, store.Location) {
	t.Helper()
	ctx := context.Background()
	dsn := freshDB(t)
	s := openStore(t, dsn)
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/gen.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceLocation(ctx, loc.ID, es, store.ReplaceOptions{}); err != nil {
		t.Fatal(err)
	}
	return dsn, s, loc
}

// connectPlain opens a connection beside the store, closed when the test
// ends.
func connectPlain(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
