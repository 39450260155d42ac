package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestReadsStartNothingForAGoneCaller: on SQLite a catalog read that full
// text does not widen runs its statements without the caller's
// cancellation (readCtx: the driver's watcher goroutine per statement was
// ~15 % of an owner page's CPU), so Query itself must start none once the
// caller is gone; full text and PostgreSQL keep the caller's context.
func TestReadsStartNothingForAGoneCaller(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "rigger.db"))
	defer s.Close()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	owner := Filter{{{Key: "spec.owner", Values: []string{"group:default/a"}}}}
	for name, q := range map[string]Query{
		"a page":      {Filter: owner, Limit: 10},
		"a count":     {Filter: owner, CountOnly: true},
		"a full text": {FullText: "svc", Limit: 10},
	} {
		if _, err := s.Query(gone, q); !errors.Is(err, context.Canceled) {
			t.Errorf("%s for a gone caller: %v, want context.Canceled", name, err)
		}
	}
	if err := s.readCtx(gone, Query{Filter: owner, Limit: 10}).Err(); err != nil {
		t.Errorf("an index-served read on SQLite keeps the caller's cancellation: %v", err)
	}
	if err := s.readCtx(gone, Query{FullText: "svc", Limit: 10}).Err(); err == nil {
		t.Error("a full-text read on SQLite runs without the caller's cancellation")
	}
	pg := &SQL{d: Dialect{Name: "postgres", FirstLoadLocks: true}}
	if err := pg.readCtx(gone, Query{Filter: owner, Limit: 10}).Err(); err == nil {
		t.Error("a read on PostgreSQL runs without the caller's cancellation")
	}
}
