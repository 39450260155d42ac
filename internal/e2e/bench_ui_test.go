package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// uiBenchTimeout bounds one run of web/scripts/ui-bench.mjs.
const uiBenchTimeout = 10 * time.Minute

// uiBenchTemplates is the scaffolder section of BenchmarkUI's rigger.yaml
// (beside benchCatalogConfig; templates in rigger.yaml are allowed by
// every catalog rule): create-service, whose "Depends on" EntityPicker the
// picker bench types into, and ui-bench-log, the task the SSE bench watches.
const uiBenchTemplates = `scaffolder:
  templates:
    - %s
    - %s
`

// uiBenchResult is what ui-bench.mjs prints (its last line). Times in ms.
type uiBenchResult struct {
	Catalog struct {
		FirstRowDom, FirstRowFrame, ByQuery, QueryAsked uiStats
	}
	Picker struct {
		KeystrokeToResults, RequestToResults, RequestToAnswer, KeyToRequest uiStats
		DebounceMs                                                          float64
	}
	SSE struct {
		ReceivedToDom, CreatedToDom uiStats
		Replayed                    int
	} `json:"sse"`
	Error string
}

type uiStats struct {
	P50, P95, Max float64
	N             int
}

// componentsCatalogSize is the smallest generator --count whose catalog
// holds at least n Components (shared/peers/gen-catalog.mjs gives the
// other kinds 13.5% of the count).
func componentsCatalogSize(n int) int {
	r := func(c int, f float64) int { return max(1, int(math.Round(float64(c)*f))) }
	for c := n; ; c++ {
		if c-r(c, 0.005)-r(c, 0.02)-r(c, 0.01)-r(c, 0.10) >= n {
			return c
		}
	}
}

// BenchmarkUI measures the web UI in headless Chromium (web/scripts/ui-bench.mjs,
// playwright-core) against rigger dev holding a generated catalog of N
// Components per size of benchSizes (RIGGER_BENCH_SIZES): the catalog
// page's first render, the EntityPicker's keystroke → results (its debounce
// included), and a running task's log events → DOM on the task page.
// The binary under test must embed the UI (`make build`).
func BenchmarkUI(b *testing.B) {
	needBinary(b)
	node, err := exec.LookPath("node")
	if err != nil {
		b.Skip("node is needed to run web/scripts/ui-bench.mjs and shared/peers/gen-catalog.mjs")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		b.Skipf("no Chromium at %s (apt-get install chromium, or set CHROMIUM)", chromium)
	}
	root := repoRoot(b)
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "playwright-core")); err != nil {
		b.Fatalf("web/node_modules has no playwright-core: run `make build` (it runs npm ci in web/) first")
	}
	tplLog, err := filepath.Abs(filepath.Join("testdata", "ui-bench-log", "template.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	tplService := filepath.Join(root, "examples", "templates", "create-service", "template.yaml")
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("components=%d", n), func(b *testing.B) {
			dir, m := generateCatalog(b, componentsCatalogSize(n))
			p, _ := startDevWithConfig(b, benchCatalogConfig+fmt.Sprintf(uiBenchTemplates, tplService, tplLog)+benchLayersOff())
			needBuiltUI(b, p.api)
			t0 := time.Now()
			if code := doJSON(b, "POST", p.api+"/api/catalog/locations", map[string]any{"type": "file", "target": filepath.Join(dir, "location.yaml")}, nil); code != http.StatusCreated {
				b.Fatalf("register: %d", code)
			}
			ingest := waitQueryable(b, p.api, "", m, t0)
			waitTotal(b, p.api, "kind=template", 2)
			b.Logf("%d entities (%d components) queryable in %s", m.Count, len(m.Components), ingest.Round(time.Millisecond))

			shots := filepath.Join(root, "test-artifacts", "ui-bench", fmt.Sprintf("components-%d", n))
			r := runUIBench(b, node, root, chromium, p.api, len(m.Components), shots)
			c, k, s := r.Catalog, r.Picker, r.SSE
			b.Logf("catalog first render (/catalog, %d components, %d cold loads): navigation start → first row painted p50 %.0f ms, max %.0f ms (in the DOM p50 %.0f ms; the app sends its by-query at p50 %.0f ms, answered in p50 %.0f ms)",
				len(m.Components), c.FirstRowFrame.N, c.FirstRowFrame.P50, c.FirstRowFrame.Max, c.FirstRowDom.P50, c.QueryAsked.P50, c.ByQuery.P50)
			b.Logf("picker keystroke → results (%d keystrokes, the %.0f ms debounce included): p50 %.0f ms, p95 %.0f ms; its request → results shown p50 %.0f ms, p95 %.0f ms, of which the server's answer (request → response headers) p50 %.0f ms, p95 %.0f ms",
				k.KeystrokeToResults.N, k.DebounceMs, k.KeystrokeToResults.P50, k.KeystrokeToResults.P95, k.RequestToResults.P50, k.RequestToResults.P95, k.RequestToAnswer.P50, k.RequestToAnswer.P95)
			b.Logf("SSE event → DOM (%d live events): received by the page → DOM p50 %.1f ms, p95 %.1f ms; server createdAt → DOM p50 %.0f ms, p95 %.0f ms",
				s.ReceivedToDom.N, s.ReceivedToDom.P50, s.ReceivedToDom.P95, s.CreatedToDom.P50, s.CreatedToDom.P95)
			b.ReportMetric(ingest.Seconds(), "s-to-queryable")
			b.ReportMetric(c.FirstRowFrame.P50, "ms-catalog-render-p50")
			b.ReportMetric(c.FirstRowFrame.Max, "ms-catalog-render-max")
			b.ReportMetric(k.KeystrokeToResults.P50, "ms-picker-key-p50")
			b.ReportMetric(k.KeystrokeToResults.P95, "ms-picker-key-p95")
			b.ReportMetric(k.RequestToResults.P50, "ms-picker-request-p50")
			b.ReportMetric(k.RequestToResults.P95, "ms-picker-request-p95")
			b.ReportMetric(s.ReceivedToDom.P50, "ms-sse-recv-dom-p50")
			b.ReportMetric(s.ReceivedToDom.P95, "ms-sse-recv-dom-p95")
			b.ReportMetric(s.CreatedToDom.P50, "ms-sse-created-dom-p50")
			b.ReportMetric(s.CreatedToDom.P95, "ms-sse-created-dom-p95")
		})
	}
}

// runUIBench runs web/scripts/ui-bench.mjs against api and decodes the
// result it prints last; screenshots of the measured pages go to shots.
// Its progress (a line per page load, keystroke and event batch) goes to
// stderr as it comes: a benchmark keeps only the first lines it logs, and
// those are the summaries.
func runUIBench(b *testing.B, node, root, chromium, api string, components int, shots string) uiBenchResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), uiBenchTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("web", "scripts", "ui-bench.mjs"))
	cmd.Dir = root
	cmd.Env = cleanEnv("RIGGER_URL="+api, "CHROMIUM="+chromium, fmt.Sprintf("UI_BENCH_COMPONENTS=%d", components), "ARTIFACTS="+shots)
	// Chromium runs in node's process group: a timeout ends them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stdout bytes.Buffer
	progress := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, io.MultiWriter(os.Stderr, progress)
	runErr := cmd.Run()
	if ctx.Err() != nil {
		b.Fatalf("ui-bench.mjs did not finish within %s; its output ends:\n%s", uiBenchTimeout, tail(progress.String(), 4096))
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var r uiBenchResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		b.Fatalf("ui-bench.mjs printed no result (%v, %v); its output ends:\n%s", runErr, err, tail(progress.String(), 4096))
	}
	if runErr != nil || r.Error != "" {
		b.Fatalf("ui-bench.mjs failed (%v): %s", runErr, r.Error)
	}
	return r
}
