package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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

func timeRequests(b *testing.B, n int, url func(i int) string) (p50, p99 float64) {
	b.Helper()
	lat := make([]time.Duration, 0, n)
	for i := range n + 20 {
		t0 := time.Now()
		resp, err := http.Get(url(i))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", url(i), resp.StatusCode)
		}
		if i >= 20 { // warm-up
			lat = append(lat, time.Since(t0))
		}
	}
	slices.Sort(lat)
	return float64(percentile(lat, 0.5).Microseconds()) / 1000, float64(percentile(lat, 0.99).Microseconds()) / 1000
}

// BenchmarkCatalog measures, per store and size: registering the generated
// catalog's location until every entity is queryable, by-name and by-query
// latency, and RSS.
func BenchmarkCatalog(b *testing.B) {
	needBinary(b)
	if _, err := exec.LookPath("node"); err != nil {
		b.Skip("node is needed to run shared/peers/gen-catalog.mjs")
	}
	for _, n := range benchSizes() {
		dir, m := generateCatalog(b, n)
		for _, driver := range []string{"sqlite", "postgres"} {
			b.Run(fmt.Sprintf("%s/%d", driver, n), func(b *testing.B) {
				db := ""
				if driver == "postgres" {
					pg, err := pgtest.Start(context.Background())
					if err != nil {
						b.Skipf("LOUD SKIP: postgres: %v", err)
					}
					defer pg.Stop()
					admin, _ := sql.Open("pgx", pg.DSN("postgres"))
					if _, err := admin.Exec("CREATE DATABASE rigger"); err != nil {
						b.Fatal(err)
					}
					admin.Close()
					db = fmt.Sprintf("database:\n  driver: postgres\n  url: %s\n", pg.DSN("rigger"))
				}
				p, _ := startDevWithConfig(b, db+`catalog:
  refreshInterval: 1h
  limits:
    entitiesPerLocation: 200000
    documentBytes: 8388608
  rules:
    - allow: [Component, API, System, Domain, Group, Resource, Location]
`)
				t0 := time.Now()
				var res struct {
					Location struct{ ID string } `json:"location"`
				}
				if code := doJSON(b, "POST", p.api+"/api/catalog/locations", map[string]any{"type": "file", "target": filepath.Join(dir, "location.yaml")}, &res); code != http.StatusCreated {
					b.Fatalf("register: %d", code)
				}
				var got struct {
					TotalItems int `json:"totalItems"`
				}
				deadline := time.Now().Add(10 * time.Minute)
				for got.TotalItems != m.Count {
					if time.Now().After(deadline) {
						b.Fatalf("only %d of %d entities after 10 minutes", got.TotalItems, m.Count)
					}
					time.Sleep(20 * time.Millisecond)
					doJSON(b, "GET", p.api+"/api/catalog/entities/by-query?limit=0&filter=metadata.labels.bench=synthetic", nil, &got)
				}
				ingest := time.Since(t0)
				pid := p.cmd.Process.Pid
				peak := rssMiB(b, pid, "VmHWM")
				rng := rand.New(rand.NewPCG(42, uint64(n)))
				byName50, byName99 := timeRequests(b, 500, func(int) string {
					return p.api + "/api/catalog/entities/by-name/component/default/" + m.Components[rng.IntN(len(m.Components))]
				})
				owners := m.ComponentOwners
				q50, q99 := timeRequests(b, 200, func(int) string {
					return p.api + "/api/catalog/entities/by-query?limit=50&filter=" +
						url.QueryEscape("kind=component,spec.owner=group:default/"+owners[rng.IntN(len(owners))])
				})
				b.ReportMetric(ingest.Seconds(), "s-to-queryable")
				b.ReportMetric(float64(n)/ingest.Seconds(), "entities/s")
				b.ReportMetric(byName50, "ms-byname-p50")
				b.ReportMetric(byName99, "ms-byname-p99")
				b.ReportMetric(q50, "ms-byquery-owner-p50")
				b.ReportMetric(q99, "ms-byquery-owner-p99")
				b.ReportMetric(peak, "MiB-peak-rss")
				b.ReportMetric(rssMiB(b, pid, "VmRSS"), "MiB-rss-after")
			})
		}
	}
}
