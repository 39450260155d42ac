package e2e

import (
	"fmt"
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
// $RIGGER_BENCH_ROUNDS or six, in ABBA order, and the medians compared.
func searchCostRounds() int {
	if n, err := strconv.Atoi(os.Getenv("RIGGER_BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 6
}

// BenchmarkSearchIndexCost measures what the search index adds to an
// ingest end to end: the generated 10,000-entity catalog registered in a
// fresh rigger dev until every entity is queryable, by this build and by
// the same code built with -tags benchnosearchindex (its stores write no
// search index; $RIGGER_NOINDEX_BIN, or built here when $RIGGER_BIN is
// not set either), in ABBA order after one load not counted. It reports
// each build's median wall time to queryable and CPU time (rigger's, plus
// the PostgreSQL server's: much of the index's work is the server's), to
// queryable and to quiet (the store's upkeep after the load included:
// SQLite's copy of its log, PostgreSQL's vacuum), and what the index adds
// to each in % (issue 19's "added ingest cost of indexing at 10k
// entities"). storetest.BenchSearchIngest measures the same for the
// store's write alone (the catalog's entities built beforehand).
func BenchmarkSearchIndexCost(b *testing.B) {
	needBinary(b)
	if _, err := exec.LookPath("node"); err != nil {
		b.Skip("node is needed to run shared/peers/gen-catalog.mjs")
	}
	if os.Getenv("RIGGER_BIN") != "" && os.Getenv("RIGGER_NOINDEX_BIN") == "" {
		b.Fatal("RIGGER_BIN is set but RIGGER_NOINDEX_BIN is not: a build of this tree would be compared with another build (make build-noindex, as make bench does)")
	}
	noIndex := taggedBinary(b, "RIGGER_NOINDEX_BIN", "benchnosearchindex")
	dir, m := generateCatalog(b, 10000)
	for _, driver := range []string{"sqlite", "postgres"} {
		b.Run(driver, func(b *testing.B) {
			var pg *benchPostgres
			if driver == "postgres" {
				pg = startBenchPostgres(b)
			}
			run := 0
			load := func(bin string, indexed bool) ingestCost {
				b.Helper()
				cfg, name := "", fmt.Sprintf("rigger%d", run)
				run++
				if pg != nil {
					cfg = pg.database(b, name)
				}
				c := timeIngest(b, bin, cfg+benchCatalogConfig, dir, m, indexed, pg)
				if pg != nil {
					pg.drop(b, name)
				}
				syscall.Sync() // the load's files written out before the next
				return c
			}
			load(riggerBin, true) // not counted: the first load of a cold machine
			// [without index, with]
			var costs [2][]ingestCost
			for round := range searchCostRounds() {
				order := []int{1, 0}
				if round%4 == 1 || round%4 == 2 {
					order = []int{0, 1}
				}
				for _, with := range order {
					bin := noIndex
					if with == 1 {
						bin = riggerBin
					}
					c := load(bin, with == 1)
					costs[with] = append(costs[with], c)
					b.Logf("round %d, index %s: %.2f s to queryable, CPU %.2f s to queryable, %.2f s to quiet",
						round+1, map[int]string{0: "off", 1: "on"}[with], c.wall, c.cpu, c.cpuQuiet)
				}
			}
			med := func(with int, field func(ingestCost) float64) float64 {
				var v []float64
				for _, c := range costs[with] {
					v = append(v, field(c))
				}
				slices.Sort(v)
				if len(v)%2 == 0 {
					return (v[len(v)/2-1] + v[len(v)/2]) / 2
				}
				return v[len(v)/2]
			}
			for _, f := range []struct {
				name string
				get  func(ingestCost) float64
			}{
				{"s-to-queryable", func(c ingestCost) float64 { return c.wall }},
				{"cpu-s-to-queryable", func(c ingestCost) float64 { return c.cpu }},
				{"cpu-s-to-quiet", func(c ingestCost) float64 { return c.cpuQuiet }},
			} {
				without, with := med(0, f.get), med(1, f.get)
				b.ReportMetric(without, f.name+"-without-index")
				b.ReportMetric(with, f.name+"-with-index")
				b.ReportMetric(100*(with/without-1), f.name+"-index-cost-%")
			}
		})
	}
}

// ingestCost is one load's seconds to queryable, and the CPU seconds of
// rigger and its PostgreSQL server meanwhile and until both were quiet.
type ingestCost struct{ wall, cpu, cpuQuiet float64 }

// timeIngest starts rigger dev (bin) with cfg, registers the generated
// catalog in dir and measures the load (pg: the PostgreSQL server cfg
// names, whose CPU time counts; nil for SQLite); the process is stopped
// before it returns. It fails unless a search for a component's name
// finds it exactly when indexed is set: else the two builds would not be
// what they are said to be.
func timeIngest(b *testing.B, bin, cfg, dir string, m manifest, indexed bool, pg *benchPostgres) ingestCost {
	b.Helper()
	p, _ := startDevBinWithConfig(b, bin, cfg)
	procs := []usageProc{{pid: p.cmd.Process.Pid}}
	if pg != nil {
		procs = append(procs, usageProc{pid: pg.Pid(), tree: true})
	}
	cpu := cpuOf(b, procs...)
	c0 := cpu()
	t0 := time.Now()
	if code := doJSON(b, "POST", p.api+"/api/catalog/locations", map[string]any{"type": "file", "target": filepath.Join(dir, "location.yaml")}, nil); code != http.StatusCreated {
		b.Fatalf("register: %d", code)
	}
	var c ingestCost
	c.wall = waitQueryable(b, p.api, "", m, t0).Seconds()
	c.cpu = (cpu() - c0).Seconds()
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
	// Quiet: what the quiet wait itself uses (a second of an idle
	// process, under a tenth of a core) is counted too, alike for both.
	waitQuiet(b, "rigger and its database", cpu)
	c.cpuQuiet = (cpu() - c0).Seconds()
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(b, time.Minute)
	return c
}
