package storetest

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// PooledStore is a store whose connection pool can be inspected.
type PooledStore interface {
	store.Store
	DBStats() sql.DBStats
}

// PoolKeepsConnections: concurrent reads (each page runs its count on a
// second connection) leave their connections idle in the pool rather than
// closing them — a connection opened again starts with an empty cache and
// prepares every statement anew (PostgreSQL forks a backend for it), which
// was the slowest of a run's requests.
func PoolKeepsConnections(t *testing.T, s PooledStore) {
	ctx := context.Background()
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/pool.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, rows(t, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\nspec: {type: service, lifecycle: production, owner: team-a}\n"), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	before := s.DBStats()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range 30 {
				if _, err := s.Query(ctx, store.Query{Filter: store.Filter{{{Key: "spec.owner", Values: []string{"team-a"}}}}, Limit: 10}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	after := s.DBStats()
	if closed := after.MaxIdleClosed - before.MaxIdleClosed; closed != 0 || after.OpenConnections < 2 {
		t.Fatalf("%d connections closed for want of an idle slot (%d open after)", closed, after.OpenConnections)
	}
}
