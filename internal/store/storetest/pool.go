package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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
	// Enough matches that a page and its count (which runs beside it on a
	// second connection) take a while: with quick ones (a few entities on
	// SQLite's C library) a busy machine ran each goroutine's queries one
	// after another, on one connection, and nothing was tested.
	var docs []string
	for i := range 3000 {
		docs = append(docs, fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a%d}\nspec: {type: service, lifecycle: production, owner: team-a}\n", i))
	}
	must(s.ReplaceLocation(ctx, loc.ID, rows(t, strings.Join(docs, "---\n")), store.ReplaceOptions{Orphans: store.OrphanDelete}))
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
