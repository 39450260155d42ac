package e2e

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// searchCostRounds is how many loads each build does per store:
// $RIGGER_BENCH_ROUNDS or five, alternating which goes first, and the
// medians compared.
func searchCostRounds() int {
	if n, err := strconv.Atoi(os.Getenv("RIGGER_BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 5
}

// BenchmarkSearchIndexCost measures what the search index adds to an
// ingest end to end: the generated 10,000-entity catalog registered in a
// fresh rigger dev until every entity is queryable, by this build and by
// the same code built with -tags benchnosearchindex (its stores write no
// search index; $RIGGER_NOINDEX_BIN, or built here), in alternating order.
// It reports each build's median wall time and the process's CPU time
// from registering to queryable, and what the index adds to each in %
// (issue 19's "added ingest cost of indexing at 10k entities").
// storetest.BenchSearchIngest measures the same for the store's write
// alone (the catalog's entities built beforehand).
func BenchmarkSearchIndexCost(b *testing.B) {
	needBinary(b)
	if _, err := exec.LookPath("node"); err != nil {
		b.Skip("node is needed to run shared/peers/gen-catalog.mjs")
	}
	noIndex := taggedBinary(b, "RIGGER_NOINDEX_BIN", "benchnosearchindex")
	dir, m := generateCatalog(b, 10000)
	for _, driver := range []string{"sqlite", "postgres"} {
		b.Run(driver, func(b *testing.B) {
			database := func(int) string { return "" }
			if driver == "postgres" {
				database = postgresPerRun(b)
			}
			// [without index, with]: each load's wall and CPU seconds.
			var wall, cpu [2][]float64
			run := 0
			for round := range searchCostRounds() {
				order := []int{1, 0}
				if round%2 == 1 {
					order = []int{0, 1}
				}
				for _, with := range order {
					bin := noIndex
					if with == 1 {
						bin = riggerBin
					}
					w, c := timeIngest(b, bin, database(run)+benchCatalogConfig, dir, m, with == 1)
					run++
					wall[with] = append(wall[with], w)
					cpu[with] = append(cpu[with], c)
					b.Logf("round %d, index %s: %.2f s to queryable, %.2f s of CPU", round+1, map[int]string{0: "off", 1: "on"}[with], w, c)
				}
			}
			for i := range 2 {
				slices.Sort(wall[i])
				slices.Sort(cpu[i])
			}
			med := func(v []float64) float64 { return v[len(v)/2] }
			b.ReportMetric(med(wall[0]), "s-to-queryable-without-index")
			b.ReportMetric(med(wall[1]), "s-to-queryable-with-index")
			b.ReportMetric(100*(med(wall[1])/med(wall[0])-1), "index-cost-%")
			b.ReportMetric(med(cpu[0]), "cpu-s-without-index")
			b.ReportMetric(med(cpu[1]), "cpu-s-with-index")
			b.ReportMetric(100*(med(cpu[1])/med(cpu[0])-1), "index-cpu-cost-%")
		})
	}
}

// timeIngest starts rigger dev (bin) with cfg, registers the generated
// catalog in dir and returns the seconds until all of it is queryable and
// the CPU seconds the process spent meanwhile; the process is stopped
// before it returns. It fails unless a search for a component's name
// finds it exactly when indexed is set: else the two builds would not be
// what they are said to be.
func timeIngest(b *testing.B, bin, cfg, dir string, m manifest, indexed bool) (wall, cpu float64) {
	b.Helper()
	p, _ := startDevBinWithConfig(b, bin, cfg)
	pid := p.cmd.Process.Pid
	c0 := procCPUTicks(b, pid)
	t0 := time.Now()
	if code := doJSON(b, "POST", p.api+"/api/catalog/locations", map[string]any{"type": "file", "target": filepath.Join(dir, "location.yaml")}, nil); code != http.StatusCreated {
		b.Fatalf("register: %d", code)
	}
	wall = waitQueryable(b, p.api, "", m, t0).Seconds()
	cpu = float64(procCPUTicks(b, pid)-c0) / 100
	var found struct {
		NumberOfResults int `json:"numberOfResults"`
	}
	name := m.Components[len(m.Components)/2]
	if code := doJSON(b, "GET", p.api+"/api/search/query?term="+url.QueryEscape(name), nil, &found); code != http.StatusOK {
		b.Fatalf("search %q: %d", name, code)
	}
	if (found.NumberOfResults > 0) != indexed {
		b.Fatalf("%s: a search for %q found %d results; this build should index: %v", bin, name, found.NumberOfResults, indexed)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(b, time.Minute)
	return wall, cpu
}
