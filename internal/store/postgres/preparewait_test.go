package postgres

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// TestPrepareWaitHoldsUpNoOtherStatement: preparing a statement reads the
// catalog of the tables it names and waits while another transaction holds
// one of them exclusively. That wait keeps the caller's deadline, and it
// holds up no statement on other tables (statements were prepared under
// one lock for the whole store, without the caller's deadline: one
// search waiting on a locked table stopped every new query of the API).
func TestPrepareWaitHoldsUpNoOtherStatement(t *testing.T) {
	ctx := context.Background()
	dsn := freshDB(t)
	s := openStore(t, dsn)
	db := rawDB(t, dsn)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`LOCK TABLE search_docs IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	searched := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err := s.Search(sctx, store.SearchQuery{Term: "anything", Limit: 10})
		searched <- err
	}()
	time.Sleep(200 * time.Millisecond) // the search is waiting on the lock
	queried := make(chan error, 1)
	go func() {
		_, err := s.Query(ctx, store.Query{Filter: store.Filter{{{Key: "kind", Values: []string{"component"}}}}, Limit: 10})
		queried <- err
	}()
	select {
	case err := <-queried:
		if err != nil {
			t.Fatalf("a query on other tables: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a query on other tables waited on a search's statement blocked by a locked table")
	}
	select {
	case err := <-searched:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the search on the locked table: %v, want its deadline", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the search on the locked table outlived its deadline")
	}
}

// TestEntityByRefKeepsDeadline: a by-ref read waiting on a table another
// transaction holds exclusively (a first load that got its locks) ends at
// the caller's deadline, prepared or not.
func TestEntityByRefKeepsDeadline(t *testing.T) {
	ctx := context.Background()
	dsn := freshDB(t)
	for _, prepared := range []bool{false, true} {
		s := openStore(t, dsn)
		if prepared {
			if _, err := s.EntityByRef(ctx, "component:default/none"); err == nil {
				t.Fatal("found an entity in an empty catalog")
			}
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`LOCK TABLE entities IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			_, err := s.EntityByRef(rctx, "component:default/none")
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("prepared %v: %v, want the deadline", prepared, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("prepared %v: a by-ref read outlived its deadline on a locked table", prepared)
		}
		tx.Rollback()
		db.Close()
	}
}
