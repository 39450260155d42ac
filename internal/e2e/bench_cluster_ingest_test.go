package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkClusterIngest ingests the generated catalog (RIGGER_BENCH_SIZES,
// default 10k and 100k entities) on the production topology: the official
// Temporal server on PostgreSQL, rigger's own PostgreSQL, one rigger server
// and two rigger workers refreshing the catalog's static location. It
// reports the time from the cluster being ready until every entity is
// queryable, each process's CPU time over it and its memory, and the owner
// and by-name query figures; the same catalog
// in one rigger dev process on PostgreSQL is BenchmarkCatalog's
// postgres line, run beside it for the comparison.
func BenchmarkClusterIngest(b *testing.B) {
	needBinary(b)
	nodevBinary(b) // built before any clock starts
	for _, n := range benchSizes() {
		dir, m := generateCatalog(b, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			location := benchCatalogConfig + fmt.Sprintf("  locations:\n    - {type: file, target: %s}\n", filepath.Join(dir, "location.yaml"))
			t0 := time.Now()
			c := startCluster(b, 1, 2, location)
			up := time.Since(t0)
			// CPU from the cluster being ready until the catalog is
			// queryable; memory at its peak.
			report := measureUsage(b, []usageProc{
				{name: "temporal", pid: c.temporal.Pid()},
				{name: "rigger-pg", pid: c.store.Pid(), tree: true},
				{name: "server", pid: c.servers[0].cmd.Process.Pid},
				{name: "worker1", pid: c.workers[0].cmd.Process.Pid},
				{name: "worker2", pid: c.workers[1].cmd.Process.Pid},
			})
			ingest := waitQueryable(b, c.servers[0].api, c.token, m, t0)
			// The server registers the static location before it is
			// ready, so the workers may have begun a little earlier.
			b.ReportMetric(up.Seconds(), "s-cluster-start")
			b.ReportMetric((ingest - up).Seconds(), "s-to-queryable-after-ready")
			report()
			reportQueries(b, c.servers[0].api, c.token, m, "")
		})
	}
}
