package activities

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
)

// BenchmarkRefreshLocation ingests the catalog under RIGGER_BENCH_CATALOG (a
// directory made by shared/peers/gen-catalog.mjs) into a fresh SQLite store,
// then refreshes it again unchanged: the two costs of a location refresh.
func BenchmarkRefreshLocation(b *testing.B) {
	dir := os.Getenv("RIGGER_BENCH_CATALOG")
	if dir == "" {
		b.Skip("RIGGER_BENCH_CATALOG is not set")
	}
	// Like an activity's context: cancellable.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for b.Loop() {
		b.StopTimer()
		c, st := newBenchCatalog(b)
		loc, err := st.AddLocation(context.Background(), store.Location{Type: "file", Target: filepath.Join(dir, "location.yaml"), Static: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
		if err != nil || res.Inserted == 0 {
			b.Fatalf("%v %+v", err, res)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "s-first")
		t0 = time.Now()
		res, err = c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
		if err != nil || res.Unchanged == 0 {
			b.Fatalf("%v %+v", err, res)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "s-unchanged")
	}
}

func newBenchCatalog(b *testing.B) (*Catalog, store.Store) {
	c, st := newCatalog(b)
	lim := catalog.DefaultLimits()
	lim.MaxEntities = 200000
	lim.DocumentBytes = 8 << 20
	c.Limits = lim
	return c, st
}
