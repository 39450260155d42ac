package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// LoadCatalog stores n components (and 13.5% as many APIs and groups, as
// pickerEntities makes them) in locations of 10,000. The components are
// svc-NNNNNN, owned by team-0000 to team-0049.
func LoadCatalog(tb testing.TB, s store.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	all := pickerEntities(tb, n)
	for from := 0; from < len(all); from += benchChunk {
		loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: fmt.Sprintf("/catalog-%d.yaml", from)}))
		must(s.ReplaceLocation(ctx, loc.ID, all[from:min(from+benchChunk, len(all))], store.ReplaceOptions{Orphans: store.OrphanDelete}))
	}
}

// BenchCatalogRead loads n components (and, as pickerEntities makes them,
// 13.5% as many APIs and groups) and times the two reads of make bench's
// catalog figures at the store: an owner's page (kind=component and
// spec.owner, limit 50, totalItems counted, relations attached) and a
// lookup by name. p50 and p99 in ms, wall clock and this process's CPU
// time (on SQLite the whole query's; on PostgreSQL the client's share).
func BenchCatalogRead(b *testing.B, open func(b *testing.B) store.Store, n int) {
	ctx := context.Background()
	s := open(b)
	LoadCatalog(b, s, n)
	owner := func(i int) store.Query {
		return store.Query{Filter: store.Filter{{
			{Key: "kind", Values: []string{"component"}},
			{Key: "spec.owner", Values: []string{fmt.Sprintf("team-%04d", i*7%50)}},
		}}, Limit: 50}
	}
	byName := func(i int) string { return fmt.Sprintf("component:default/svc-%06d", i*7919%n) }
	for i := range 20 { // warm-up: statements prepare, caches fill
		must(s.Query(ctx, owner(i)))
		must(s.EntityByRef(ctx, byName(i)))
	}
	const reps = 200
	var wall, cpu [2][]time.Duration
	b.ResetTimer()
	for range b.N {
		for i := range reps {
			c, t := cpuTime(), time.Now()
			p, err := s.Query(ctx, owner(i))
			wall[0], cpu[0] = append(wall[0], time.Since(t)), append(cpu[0], cpuTime()-c)
			if err != nil {
				b.Fatal(err)
			}
			if len(p.Entities) == 0 || len(p.Entities[0].Relations) == 0 {
				b.Fatalf("owner page %d: %d entities, no relations", i, len(p.Entities))
			}
			c, t = cpuTime(), time.Now()
			e, err := s.EntityByRef(ctx, byName(i))
			wall[1], cpu[1] = append(wall[1], time.Since(t)), append(cpu[1], cpuTime()-c)
			if err != nil || len(e.Relations) == 0 {
				b.Fatalf("by name %d: %v", i, err)
			}
		}
	}
	b.StopTimer()
	for k, name := range []string{"owner", "byname"} {
		slices.Sort(wall[k])
		slices.Sort(cpu[k])
		b.ReportMetric(percentileMS(wall[k], 0.5), name+"-p50-ms")
		b.ReportMetric(percentileMS(wall[k], 0.99), name+"-p99-ms")
		b.ReportMetric(percentileMS(cpu[k], 0.5), name+"-cpu-p50-ms")
		b.ReportMetric(percentileMS(cpu[k], 0.99), name+"-cpu-p99-ms")
	}
}

// CPUTime is the CPU time this process has used (user and system), for
// benchmarks outside this package.
func CPUTime() time.Duration { return cpuTime() }
