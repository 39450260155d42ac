package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// testCancelledReplace: a refresh whose caller goes away while it runs
// fails and stores none of its entities, and what the location held before
// stays as it was. When the caller's context ends, database/sql rolls the
// transaction back on a goroutine of its own and may keep the connection:
// rows written after that on the driver connection (SQLite's single-row
// inserts, PostgreSQL's COPY) would commit one by one outside it. The
// stream ends the context and gives the rollback time before the entities
// it held are written (a first load holds new entities back; 798 = two of
// SQLite's classification chunks, so none is pending when the stream
// ends), and part-way through a stream.
func testCancelledReplace(t *testing.T, open Opener) {
	ctx := context.Background()
	s, loc := loaded(t, open)
	before := names(must(s.Query(ctx, store.Query{Limit: 100})).Entities)
	other := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/cancelled.yaml"}))
	replace := func(locID string, n, cancelAt int) error {
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream := func(yield func(store.Entity, error) bool) {
			for i := range n {
				if i == cancelAt {
					cancel()
					time.Sleep(50 * time.Millisecond) // the rollback runs meanwhile
				}
				if !yield(ent("Component", fmt.Sprintf("gone-%04d", i), map[string]string{"owner": "team-gone"}), nil) {
					return
				}
			}
			if cancelAt >= n {
				cancel()
				time.Sleep(50 * time.Millisecond)
			}
		}
		_, err := s.ReplaceLocationStream(rctx, locID, stream, store.ReplaceOptions{Orphans: store.OrphanDelete})
		return err
	}
	for _, c := range []struct {
		name        string
		loc         string
		n, cancelAt int
	}{
		{"a first load, cancelled after its last entity", other.ID, 798, 798},
		{"a small first load, cancelled after its last entity", other.ID, 5, 5},
		{"a first load, cancelled part-way", other.ID, 1500, 900},
		{"a refresh of a loaded location, cancelled after its last entity", loc.ID, 798, 798},
	} {
		err := replace(c.loc, c.n, c.cancelAt)
		if err == nil {
			t.Fatalf("%s: the refresh succeeded", c.name)
		}
		page := must(s.Query(ctx, store.Query{Limit: 100}))
		if got := names(page.Entities); !slices.Equal(got, before) {
			t.Fatalf("%s (%v): the catalog holds %d entities %v..., want %v as before", c.name, err, page.TotalItems, got[:min(len(got), 6)], before)
		}
		gone := must(s.Query(ctx, store.Query{Filter: store.Filter{{{Key: "spec.owner", Values: []string{"team-gone"}}}}, Limit: 1}))
		if gone.TotalItems != 0 {
			t.Fatalf("%s (%v): %d of its entities were stored", c.name, err, gone.TotalItems)
		}
	}
}
