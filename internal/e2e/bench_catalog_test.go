package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/riggerdev/rigger/internal/pgtest"
)

// benchSizes are the catalog sizes benchmarked: RIGGER_BENCH_SIZES
// (comma-separated) or 10000 and 100000.
func benchSizes() []int {
	if v := os.Getenv("RIGGER_BENCH_SIZES"); v != "" {
		var out []int
		for _, s := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
		return out
	}
	return []int{10000, 100000}
}

type manifest struct {
	Count           int      `json:"count"`
	Components      []string `json:"components"`
	ComponentOwners []string `json:"componentOwners"`
}

// generateCatalog runs the shared generator (the same one the Backstage peer
// is measured with).
func generateCatalog(b *testing.B, n int) (string, manifest) {
	b.Helper()
	dir := b.TempDir()
	gen, _ := filepath.Abs("../../../shared/peers/gen-catalog.mjs")
	if out, err := exec.Command("node", gen, "--count", strconv.Itoa(n), "--out", dir).CombinedOutput(); err != nil {
		b.Fatalf("gen-catalog: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		b.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	return dir, m
}

// timeRequests GETs url(i) n times after 20 warm-ups (with a bearer token
// unless token is "") and returns the p50 and p99 latencies in ms.
func timeRequests(b *testing.B, token string, n int, url func(i int) string) (p50, p99 float64) {
	b.Helper()
	lat := make([]time.Duration, 0, n)
	for i := range n + 20 {
		req, err := http.NewRequest("GET", url(i), nil)
		if err != nil {
			b.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		// The whole body, as a client uses it (and as the Backstage peer's
		// bench times it); the connection is then reused, as theirs is.
		_, err = io.Copy(io.Discard, resp.Body)
		elapsed := time.Since(t0)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", url(i), resp.StatusCode)
		}
		if i >= 20 { // warm-up
			lat = append(lat, elapsed)
		}
	}
	slices.Sort(lat)
	return float64(percentile(lat, 0.5).Microseconds()) / 1000, float64(percentile(lat, 0.99).Microseconds()) / 1000
}

// benchCatalogConfig is the catalog configuration of the benchmarks: limits
// raised for one 100k-entity location, no periodic refresh during the run.
const benchCatalogConfig = `catalog:
  refreshInterval: 1h
  limits:
    entitiesPerLocation: 200000
    documentBytes: 8388608
  rules:
    - allow: [Component, API, System, Domain, Group, Resource, Location]
`

// benchDatabase returns the database section for driver ("" for SQLite),
// starting a PostgreSQL server for the benchmark when asked for one (and
// returning it, nil for SQLite).
func benchDatabase(b *testing.B, driver string) (string, *benchPostgres) {
	b.Helper()
	if driver != "postgres" {
		return "", nil
	}
	pg := startBenchPostgres(b)
	return pg.database(b, "rigger"), pg
}

// benchPostgres is a PostgreSQL server started for a benchmark, set up as
// the Backstage peer's is (pgtest.StartPeer), with a connection to its
// postgres database.
type benchPostgres struct {
	*pgtest.Server
	admin *sql.DB
}

// startBenchPostgres starts a benchPostgres, stopped when b ends.
func startBenchPostgres(b *testing.B) *benchPostgres {
	b.Helper()
	pg, err := pgtest.StartPeer(context.Background())
	if err != nil {
		b.Skipf("LOUD SKIP: postgres: %v", err)
	}
	b.Cleanup(pg.Stop)
	admin, err := sql.Open("pgx", pg.DSN("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { admin.Close() })
	return &benchPostgres{pg, admin}
}

// database creates the database name and returns a rigger.yaml section
// that uses it.
func (p *benchPostgres) database(b *testing.B, name string) string {
	b.Helper()
	if _, err := p.admin.Exec("CREATE DATABASE " + name); err != nil {
		b.Fatal(err)
	}
	return fmt.Sprintf("database:\n  driver: postgres\n  url: %s\n", p.DSN(name))
}

// drop drops the database name and has the server write out what it
// left, so none of its work lands in a later run's figures.
func (p *benchPostgres) drop(b *testing.B, name string) {
	b.Helper()
	for _, stmt := range []string{"DROP DATABASE " + name + " WITH (FORCE)", "CHECKPOINT"} {
		if _, err := p.admin.Exec(stmt); err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
	}
}

// waitQueryable polls until the generated catalog's m.Count entities are
// all queryable, and returns how long that took from t0.
func waitQueryable(b *testing.B, api, token string, m manifest, t0 time.Time) time.Duration {
	b.Helper()
	var got struct {
		TotalItems int `json:"totalItems"`
	}
	deadline := time.Now().Add(10 * time.Minute)
	for got.TotalItems != m.Count {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d entities after 10 minutes", got.TotalItems, m.Count)
		}
		time.Sleep(20 * time.Millisecond)
		doJSONAs(b, token, "GET", api+"/api/catalog/entities/by-query?limit=0&filter=metadata.labels.bench=synthetic", nil, &got)
	}
	return time.Since(t0)
}

// queriesPerFigure is how many requests one p50/p99 figure times, here
// and in the Backstage peer's bench (internal/e2e/peer/bench.mjs). The p99
// of 200 (the owner queries' count until 2026-12-06) is the third slowest
// request: one background pause (a checkpoint, a vacuum after a load)
// moved it by several milliseconds from run to run; of 1,000 it is the
// eleventh.
const queriesPerFigure = 1000

// reportQueries times queriesPerFigure by-name lookups and as many owner
// queries of random generated entities and reports their p50/p99, the
// metrics' names after prefix.
func reportQueries(b *testing.B, api, token string, m manifest, prefix string) {
	b.Helper()
	rng := rand.New(rand.NewPCG(42, uint64(m.Count)))
	byName50, byName99 := timeRequests(b, token, queriesPerFigure, func(int) string {
		return api + "/api/catalog/entities/by-name/component/default/" + m.Components[rng.IntN(len(m.Components))]
	})
	owners := m.ComponentOwners
	q50, q99 := timeRequests(b, token, queriesPerFigure, func(int) string {
		return api + "/api/catalog/entities/by-query?limit=50&filter=" +
			url.QueryEscape("kind=component,spec.owner=group:default/"+owners[rng.IntN(len(owners))])
	})
	b.ReportMetric(byName50, prefix+"ms-byname-p50")
	b.ReportMetric(byName99, prefix+"ms-byname-p99")
	b.ReportMetric(q50, prefix+"ms-byquery-owner-p50")
	b.ReportMetric(q99, prefix+"ms-byquery-owner-p99")
}

// waitIdle waits (at most 2 minutes) until pid uses under a tenth of a
// core over half a second, twice running, and returns how long that took:
// after a large first load the store still has upkeep to do (SQLite copies
// its write-ahead log into the database file once the machine is quiet,
// 780 MB at 100k entities, which this process's quiet is then, with the
// benchmark waiting; PostgreSQL vacuums the new rows).
func waitIdle(b *testing.B, pid int) time.Duration {
	b.Helper()
	return waitQuiet(b, fmt.Sprintf("pid %d", pid), func() time.Duration { return usageProc{pid: pid}.cpu(b) })
}

// waitQuiet is waitIdle for what cpu measures (processes' CPU time), named
// what.
func waitQuiet(b *testing.B, what string, cpu func() time.Duration) time.Duration {
	b.Helper()
	t0 := time.Now()
	for quiet := 0; quiet < 2; {
		if time.Since(t0) > 2*time.Minute {
			b.Fatalf("%s still busy 2 minutes after the load", what)
		}
		w0, c0 := time.Now(), cpu()
		time.Sleep(500 * time.Millisecond)
		if float64(cpu()-c0)/float64(time.Since(w0)) < 0.1 {
			quiet++
		} else {
			quiet = 0
		}
	}
	return time.Since(t0)
}

// BenchmarkCatalog measures rigger dev (everything in one process, Temporal
// included) per store and size: registering the generated catalog's
// location until every entity is queryable, by-name and by-query latency,
// and RSS.
func BenchmarkCatalog(b *testing.B) {
	needBinary(b)
	if _, err := exec.LookPath("node"); err != nil {
		b.Skip("node is needed to run shared/peers/gen-catalog.mjs")
	}
	for _, n := range benchSizes() {
		dir, m := generateCatalog(b, n)
		for _, driver := range []string{"sqlite", "postgres"} {
			b.Run(fmt.Sprintf("%s/%d", driver, n), func(b *testing.B) {
				database, _ := benchDatabase(b, driver)
				p, home := startDevWithConfig(b, database+benchCatalogConfig+benchLayersOff())
				t0 := time.Now()
				if code := doJSON(b, "POST", p.api+"/api/catalog/locations", map[string]any{"type": "file", "target": filepath.Join(dir, "location.yaml")}, nil); code != http.StatusCreated {
					b.Fatalf("register: %d", code)
				}
				ingest := waitQueryable(b, p.api, "", m, t0)
				pid := p.cmd.Process.Pid
				peak := rssMiB(b, pid, "VmHWM")
				reportQueries(b, p.api, "", m, "")
				// The same queries once the process is idle: the figures
				// above include what the load still does after it counts.
				b.ReportMetric(waitIdle(b, pid).Seconds(), "s-then-to-idle")
				reportQueries(b, p.api, "", m, "idle-")
				b.ReportMetric(ingest.Seconds(), "s-to-queryable")
				b.ReportMetric(float64(n)/ingest.Seconds(), "entities/s")
				b.ReportMetric(peak, "MiB-peak-rss")
				b.ReportMetric(rssMiB(b, pid, "VmRSS"), "MiB-rss-after")
				if driver == "sqlite" {
					b.ReportMetric(sqliteMiB(b, filepath.Join(home, "data", "rigger.db")), "MiB-sqlite-db")
				}
			})
		}
	}
}

// BenchmarkCatalogServerWorker measures the production shape: Temporal in a
// process of its own (rigger dev --temporal-only), rigger server and rigger
// worker built without the embedded Temporal server. The worker does the
// ingestion, the server answers the queries; their RSS is what compares
// with a Backstage backend process. The catalog is a static location (a
// server accepts no file locations through the API), so time-to-queryable
// runs from starting the worker and server.
func BenchmarkCatalogServerWorker(b *testing.B) {
	needBinary(b)
	if _, err := exec.LookPath("node"); err != nil {
		b.Skip("node is needed to run shared/peers/gen-catalog.mjs")
	}
	bin := nodevBinary(b)
	for _, n := range benchSizes() {
		dir, m := generateCatalog(b, n)
		for _, driver := range []string{"sqlite", "postgres"} {
			b.Run(fmt.Sprintf("%s/%d", driver, n), func(b *testing.B) {
				_, temporal := startTemporalOnly(b, b.TempDir())
				database, pg := benchDatabase(b, driver)
				cfg := database + fmt.Sprintf("server:\n  dataDir: %s\n", b.TempDir()) + benchCatalogConfig +
					fmt.Sprintf("  locations:\n    - {type: file, target: %s}\n", filepath.Join(dir, "location.yaml"))
				t0 := time.Now()
				sw := startServerWorker(b, bin, temporal, cfg)
				ingest := waitQueryable(b, sw.server.api, sw.token, m, t0)
				reportQueries(b, sw.server.api, sw.token, m, "")
				server, worker := sw.server.cmd.Process.Pid, sw.worker.cmd.Process.Pid
				// Again once the server, the worker and the database are
				// quiet (a load's vacuum and checkpoint done), as
				// BenchmarkCatalog does for rigger dev.
				procs := []usageProc{{pid: server}, {pid: worker}}
				if pg != nil {
					procs = append(procs, usageProc{pid: pg.Pid(), tree: true})
				}
				b.ReportMetric(waitQuiet(b, "the server, the worker and the database", cpuOf(b, procs...)).Seconds(), "s-then-to-idle")
				reportQueries(b, sw.server.api, sw.token, m, "idle-")
				b.ReportMetric(ingest.Seconds(), "s-to-queryable")
				b.ReportMetric(rssMiB(b, worker, "VmHWM"), "MiB-worker-peak-rss")
				b.ReportMetric(rssMiB(b, worker, "VmRSS"), "MiB-worker-rss-after")
				b.ReportMetric(rssMiB(b, server, "VmHWM"), "MiB-server-peak-rss")
				b.ReportMetric(rssMiB(b, server, "VmRSS"), "MiB-server-rss-after")
			})
		}
	}
}

// sqliteMiB is the size of a SQLite database (what its file holds once the
// WAL is checkpointed), read beside the running server.
func sqliteMiB(b *testing.B, path string) float64 {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var pages, size int64
	if err := db.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		b.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA page_size").Scan(&size); err != nil {
		b.Fatal(err)
	}
	return float64(pages*size) / (1 << 20)
}

// benchLayersOff turns layers off to measure their cost against the
// default (both on): RIGGER_BENCH_AUDIT=off (no audit log),
// RIGGER_BENCH_POLICY=off (no permission policy).
func benchLayersOff() string {
	cfg := ""
	if os.Getenv("RIGGER_BENCH_AUDIT") == "off" {
		cfg += "audit: {enabled: false}\n"
	}
	if os.Getenv("RIGGER_BENCH_POLICY") == "off" {
		cfg += "permission: {enabled: false}\n"
	}
	return cfg
}
