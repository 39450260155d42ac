package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

// loadedStore is a SQLite store holding storetest.LoadCatalog's n
// components, reopened after the load (so no checkpoint or statistics of
// the load runs beside the timed reads). RIGGER_BENCH_DB names a directory
// that keeps the loaded file for later runs (the load of 100k takes a
// minute).
func loadedStore(b *testing.B, n int) *store.SQL {
	b.Helper()
	path := filepath.Join(b.TempDir(), "r.db")
	kept := ""
	if dir := os.Getenv("RIGGER_BENCH_DB"); dir != "" {
		kept = filepath.Join(dir, fmt.Sprintf("catalog-%d.db", n))
	}
	if raw, err := os.ReadFile(kept); err == nil {
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			b.Fatal(err)
		}
	} else {
		st, err := sqlite.Open(b.Context(), path)
		if err != nil {
			b.Fatal(err)
		}
		storetest.LoadCatalog(b, st, n)
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		if kept != "" {
			raw, err := os.ReadFile(path)
			if err != nil || os.WriteFile(kept, raw, 0o600) != nil {
				b.Fatalf("keep %s: %v", kept, err)
			}
		}
	}
	st, err := sqlite.Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkCatalogRead: make bench's two catalog reads through the handler
// (in process, SQLite, rigger dev's guest without a policy) at
// RIGGER_BENCH_SIZES components (default 100,000): an owner's page
// (kind=component,spec.owner, limit 50, relations and totalItems) and a
// lookup by name. p50/p99 in ms per request, and CPU time per request
// (this process's: store, rendering and encoding).
func BenchmarkCatalogRead(b *testing.B) {
	for _, n := range storetest.BenchSizes() {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			st := loadedStore(b, n)
			h := New(Deps{Logger: discardLogger(), Auth: auth.Guest{}, Dev: true, Catalog: CatalogDeps{Store: st}}).Handler()
			paths := map[string]func(i int) string{
				"owner": func(i int) string {
					return "/api/catalog/entities/by-query?limit=50&filter=" + url.QueryEscape("kind=component,spec.owner="+storetest.CatalogOwner(n, i))
				},
				"byname": func(i int) string {
					return fmt.Sprintf("/api/catalog/entities/by-name/component/default/svc-%06d", i*7919%n)
				},
			}
			get := func(path string) {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, loopbackRequest("GET", path, nil))
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", path, w.Code, w.Body)
				}
			}
			for _, name := range []string{"owner", "byname"} {
				for i := range 20 {
					get(paths[name](i))
				}
			}
			const reps = 300
			wall, cpu := map[string][]time.Duration{}, map[string][]time.Duration{}
			pool := st.DBStats()
			var gc runtime.MemStats
			runtime.ReadMemStats(&gc)
			b.ResetTimer()
			for range b.N {
				for i := range reps {
					for _, name := range []string{"owner", "byname"} {
						c, t := storetest.CPUTime(), time.Now()
						get(paths[name](i))
						wall[name], cpu[name] = append(wall[name], time.Since(t)), append(cpu[name], storetest.CPUTime()-c)
					}
				}
			}
			b.StopTimer()
			for _, name := range []string{"owner", "byname"} {
				storetest.ReportLatencies(b, name, wall[name], cpu[name], 0.99)
			}
			// What a tail may come from: connections closed for want of an
			// idle slot (each reopened one prepares its statements again)
			// and garbage collections, per request.
			after := st.DBStats()
			gcs, allocated := gc.NumGC, gc.TotalAlloc
			runtime.ReadMemStats(&gc)
			reqs := float64(b.N * reps * 2)
			b.ReportMetric(float64(after.MaxIdleClosed-pool.MaxIdleClosed+after.MaxIdleTimeClosed-pool.MaxIdleTimeClosed)/reqs, "conns-closed/req")
			b.ReportMetric(float64(gc.NumGC-gcs)/reqs, "gcs/req")
			b.ReportMetric(float64(gc.TotalAlloc-allocated)/reqs, "B/req")
		})
	}
}
