package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/store"
)

// seedComponents adds n components in locations of 10,000, a twentieth of
// them sensitive, owned by 50 teams.
func seedComponents(b *testing.B, st store.Store, n int) {
	b.Helper()
	const chunk = 10000
	for from := 0; from < n; from += chunk {
		loc, err := st.AddLocation(b.Context(), store.Location{Type: "file", Target: fmt.Sprintf("/bench-%d.yaml", from)})
		if err != nil {
			b.Fatal(err)
		}
		rows := make([]store.Entity, 0, chunk)
		for i := from; i < min(n, from+chunk); i++ {
			md := map[string]any{"name": fmt.Sprintf("svc-%06d", i), "namespace": "default", "description": "service number " + strconv.Itoa(i)}
			if i%20 == 0 {
				md["annotations"] = map[string]any{"rigger.dev/sensitive": "true"}
			}
			row, err := catalog.Row(catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": md,
				"spec": map[string]any{"type": "service", "lifecycle": "production", "owner": fmt.Sprintf("team-%d", i%50)}})
			if err != nil {
				b.Fatal(err)
			}
			rows = append(rows, row)
		}
		if _, err := st.ReplaceLocation(b.Context(), loc.ID, rows, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
			b.Fatal(err)
		}
	}
}

// timed runs one call per iteration and reports p50 and p99 in µs.
func timed(b *testing.B, call func()) {
	b.Helper()
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		call()
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkMCPvsREST: a catalog_query page (kind=component, 20 items,
// with its total) over 100,000 components, and a template_dry_run of a
// three-step template, each through /api/mcp with the Go SDK's client and
// through the REST route it mirrors, over loopback HTTP in the same run,
// as alice under the default policy.
func BenchmarkMCPvsREST(b *testing.B) {
	f := newMCPFixture(b, nil, func(c *config.MCP) { c.RateLimit.Burst = 1 << 20 })
	t0 := time.Now()
	seedComponents(b, f.srv.deps.Catalog.Store, 100000)
	b.Logf("seeded 100,000 components in %s", time.Since(t0))
	s := f.session(b, "alice")
	base := strings.TrimSuffix(f.url, "/api/mcp")
	rest := func(method, path, body string) {
		req, _ := http.NewRequestWithContext(b.Context(), method, base+path, strings.NewReader(body))
		req.Header.Set("X-Test-User", "alice")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	tool := func(name string, args any) {
		if _, text, isErr := callTool(b, s, name, args); isErr {
			b.Fatalf("%s: %s", name, text)
		}
	}
	var tpl struct{ Entity map[string]any }
	if out, text, isErr := callTool(b, s, "catalog_get", map[string]any{"ref": "template:default/hello"}); isErr {
		b.Fatal(text)
	} else {
		tpl.Entity, _ = out["entity"].(map[string]any)
	}
	dryBody, _ := jsonText(map[string]any{"template": tpl.Entity, "values": map[string]any{"name": "world"}})
	// One untimed call of each first: the first query warms the store's
	// caches for whichever runs first.
	tool("catalog_query", map[string]any{"filter": []string{"kind=component"}, "limit": 20})
	rest("GET", "/api/catalog/entities/by-query?filter=kind=component&limit=20", "")
	b.Run("catalog_query/mcp", func(b *testing.B) {
		timed(b, func() { tool("catalog_query", map[string]any{"filter": []string{"kind=component"}, "limit": 20}) })
	})
	b.Run("catalog_query/rest", func(b *testing.B) {
		timed(b, func() { rest("GET", "/api/catalog/entities/by-query?filter=kind=component&limit=20", "") })
	})
	b.Run("template_dry_run/mcp", func(b *testing.B) {
		timed(b, func() {
			tool("template_dry_run", map[string]any{"ref": "template:default/hello", "values": map[string]any{"name": "world"}})
		})
	})
	b.Run("template_dry_run/rest", func(b *testing.B) {
		timed(b, func() { rest("POST", "/api/scaffolder/v2/dry-run", dryBody) })
	})
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// BenchmarkMCPSessions: how many sessions one server holds and what each
// costs: n sessions opened and initialized (each listed its tools once),
// the process's RSS and Go heap before and after. Client and server share
// the process, so the figures are an upper bound for the server's part.
func BenchmarkMCPSessions(b *testing.B) {
	const n = 1000
	for b.Loop() {
		f := newMCPFixture(b, nil, func(c *config.MCP) { c.MaxSessions = n; c.RateLimit.Burst = 10 * n })
		runtime.GC()
		rss0, heap0 := rssKB(), heapKB()
		for range n {
			s := f.session(b, "alice")
			if _, err := s.ListTools(b.Context(), nil); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		rss1, heap1 := rssKB(), heapKB()
		if got := f.srv.MCP().Sessions(); got != n {
			b.Fatalf("%d sessions held, want %d", got, n)
		}
		b.ReportMetric(float64(n), "sessions")
		b.ReportMetric(float64(rss1-rss0)/n, "RSS-KB/session")
		b.ReportMetric(float64(heap1-heap0)/n, "heap-KB/session")
	}
}

// rssKB is the process's resident set (Linux), 0 elsewhere.
func rssKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func heapKB() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse / 1024)
}
