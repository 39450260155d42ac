package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
)

// LoadCatalog stores a catalog shaped as shared/peers/gen-catalog.mjs
// makes one (what make bench loads), in locations of 10,000: n components
// (svc-NNNNNN) owned by n/100 teams (team-NNNN, about 90 each), each part
// of one of n/50 systems, with 1-3 tags, 0-3 dependencies on earlier
// components and 0-2 of n/10 APIs provided — so a component has about six
// relations, counting those other entities point back at it.
func LoadCatalog(tb testing.TB, s store.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	all := catalogRows(tb, n)
	for from := 0; from < len(all); from += benchChunk {
		loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: fmt.Sprintf("/catalog-%d.yaml", from)}))
		must(s.ReplaceLocation(ctx, loc.ID, all[from:min(from+benchChunk, len(all))], store.ReplaceOptions{Orphans: store.OrphanDelete}))
	}
}

// catalogRows are the rows of LoadCatalog's catalog of n components.
func catalogRows(tb testing.TB, n int) []store.Entity {
	tb.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 23))
	teams, systems, apis := max(1, n/100), max(1, n/50), max(1, n/10)
	tagPool := []string{"java", "go", "python", "typescript", "grpc", "rest", "kafka", "postgres"}
	var all []store.Entity
	add := func(e catalog.Entity) {
		row, err := catalog.Row(e)
		if err != nil {
			tb.Fatal(err)
		}
		all = append(all, row)
	}
	entity := func(kind, name string, spec map[string]any, tags ...any) catalog.Entity {
		md := map[string]any{"name": name, "namespace": "default", "description": "Synthetic " + kind + " " + name, "labels": map[string]any{"bench": "synthetic"}}
		if len(tags) > 0 {
			md["tags"] = tags
		}
		return catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": md, "spec": spec}
	}
	for i := range teams {
		add(entity("Group", fmt.Sprintf("team-%04d", i), map[string]any{"type": "team", "children": []any{}}))
	}
	for i := range systems {
		add(entity("System", fmt.Sprintf("system-%05d", i), map[string]any{"owner": fmt.Sprintf("group:default/team-%04d", rng.IntN(teams))}))
	}
	for i := range apis {
		add(entity("API", fmt.Sprintf("api-%06d", i), map[string]any{"type": "openapi", "lifecycle": "production",
			"owner": fmt.Sprintf("group:default/team-%04d", rng.IntN(teams)), "system": fmt.Sprintf("system:default/system-%05d", rng.IntN(systems)),
			"definition": "openapi: 3.0.0\npaths: {}"}, tagPool[rng.IntN(len(tagPool))]))
	}
	for i := range n {
		var tags, deps, provides []any
		for range 1 + rng.IntN(3) {
			tags = append(tags, tagPool[rng.IntN(len(tagPool))])
		}
		for range rng.IntN(4) {
			if i > 0 {
				deps = append(deps, fmt.Sprintf("component:default/svc-%06d", rng.IntN(i)))
			}
		}
		for range rng.IntN(3) {
			provides = append(provides, fmt.Sprintf("api:default/api-%06d", rng.IntN(apis)))
		}
		e := entity("Component", fmt.Sprintf("svc-%06d", i), map[string]any{"type": "service", "lifecycle": "production",
			"owner": fmt.Sprintf("group:default/team-%04d", i%teams), "system": fmt.Sprintf("system:default/system-%05d", rng.IntN(systems)),
			"dependsOn": slices.Compact(deps), "providesApis": slices.Compact(provides)}, slices.Compact(tags)...)
		e["metadata"].(map[string]any)["title"] = fmt.Sprintf("Service %d", i)
		add(e)
	}
	return all
}

// BenchFirstLoad writes LoadCatalog's catalog of n components (and 13.5%
// as many other entities), built beforehand, as one location into a
// fresh store: a first load, the store's whole share of a registration's
// time to queryable. It reports the wall time and this process's CPU time
// (the store's work, on SQLite all of it), per entity in µs; on a shared
// machine the CPU time is the figure that holds still.
func BenchFirstLoad(b *testing.B, open func(b *testing.B) store.Store, n int) {
	ctx := context.Background()
	all := catalogRows(b, n)
	var wall, cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s := open(b)
		loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/catalog.yaml"}))
		batch := slices.Clone(all)
		b.StartTimer()
		c, t := cpuTime(), time.Now()
		if res := must(s.ReplaceLocation(ctx, loc.ID, batch, store.ReplaceOptions{Orphans: store.OrphanDelete})); res.Inserted != len(all) {
			b.Fatalf("first load: %+v, want %d inserted", res, len(all))
		}
		wall, cpu = wall+time.Since(t), cpu+cpuTime()-c
	}
	b.StopTimer()
	per := float64(b.N * len(all))
	b.ReportMetric(float64(wall.Microseconds())/per, "us/entity")
	b.ReportMetric(float64(cpu.Microseconds())/per, "cpu-us/entity")
}

// CatalogOwner is the spec.owner of one of LoadCatalog's teams, picked by i.
func CatalogOwner(n, i int) string {
	return fmt.Sprintf("group:default/team-%04d", i*7%max(1, n/100))
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
			{Key: "spec.owner", Values: []string{CatalogOwner(n, i)}},
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
		ReportLatencies(b, name, wall[k], cpu[k], 0.99)
	}
}

// ReportLatencies sorts wall and cpu (times of the same operations) and
// reports their p50 and their high percentile (0.95: p95) in ms, named
// name-p50-ms, name-cpu-p50-ms and so on.
func ReportLatencies(b *testing.B, name string, wall, cpu []time.Duration, high float64) {
	slices.Sort(wall)
	slices.Sort(cpu)
	hi := fmt.Sprintf("p%d", int(high*100+0.5))
	b.ReportMetric(percentileMS(wall, 0.5), name+"-p50-ms")
	b.ReportMetric(percentileMS(wall, high), name+"-"+hi+"-ms")
	b.ReportMetric(percentileMS(cpu, 0.5), name+"-cpu-p50-ms")
	b.ReportMetric(percentileMS(cpu, high), name+"-cpu-"+hi+"-ms")
}

// CPUTime is the CPU time this process has used (user and system), for
// benchmarks outside this package.
func CPUTime() time.Duration { return cpuTime() }
