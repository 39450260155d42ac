package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// genCatalog runs the shared catalog generator (the benchmarks' own) into a
// new directory.
func genCatalog(t testing.TB, n, perFile int) string {
	t.Helper()
	dir := t.TempDir()
	gen, _ := filepath.Abs("../../../shared/peers/gen-catalog.mjs")
	if out, err := exec.Command("node", gen, "--count", strconv.Itoa(n), "--per-file", strconv.Itoa(perFile), "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("gen-catalog: %v\n%s", err, out)
	}
	return dir
}

// devOn returns a function that starts rigger dev with cfgYAML on one data
// dir and fixed ports, so a killed process can be restarted as itself.
func devOn(t *testing.T, cfgYAML string) func() *proc {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(cfg, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	ps := freePorts(t)
	return func() *proc {
		p := start(t, dir, cleanEnv(), "dev", "--config", cfg, "--data-dir", filepath.Join(dir, "data"),
			"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api), "--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend), "--temporal-ui-listen", "")
		p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
		p.waitReady(t, 90*time.Second)
		return p
	}
}

// waitLog waits until p has logged a line with every field of want.
func (p *proc) waitLog(t testing.TB, want map[string]any, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for countLogs(p.stderr.String(), want) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no log line %v within %s", want, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// killNow kills p with SIGKILL, as a crash or the OOM killer would.
func (p *proc) killNow(t testing.TB) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(t, 10*time.Second)
}

// retryWithin is how soon after a restart an activity lost with its worker
// must be running again: its heartbeat timeout (10 s), the retry's backoff,
// and a busy machine's slack.
const retryWithin = 30 * time.Second

// TestIngestSurvivesSIGKILL kills rigger dev while it ingests a 10,000-entity
// location for the first time and restarts it on the same data dir: the
// refresh, lost with the killed worker, is retried within seconds (it
// heartbeats) and the ingest completes. Without heartbeats the retry
// waited for the activity's 10-minute timeout.
func TestIngestSurvivesSIGKILL(t *testing.T) {
	needBinary(t)
	cat := genCatalog(t, 10000, 500)
	target := filepath.Join(cat, "location.yaml")
	run := devOn(t, benchCatalogConfig+fmt.Sprintf("  locations:\n    - type: file\n      target: %s\n", target))
	p1 := run()
	started := map[string]any{"msg": "catalog location refresh started", "target": target}
	p1.waitLog(t, started, 60*time.Second)
	p1.killNow(t)
	if strings.Contains(p1.stderr.String(), `"msg":"catalog location refreshed"`) {
		t.Fatal("the refresh finished before the kill: the test proves nothing; make the catalog bigger")
	}

	p2 := run()
	restarted := time.Now()
	// The retry: a refresh started again in the new process.
	p2.waitLog(t, started, retryWithin)
	t.Logf("refresh retried %.1f s after the restart", time.Since(restarted).Seconds())
	waitTotalWithin(t, p2.api, "metadata.labels.bench=synthetic", 10000, 2*time.Minute)
	t.Logf("ingest complete %.1f s after the restart", time.Since(restarted).Seconds())
}

// slowStepTemplate copies a 2,000-entity catalog file into the workspace
// and registers it: catalog:register reads and ingests it in a regular
// activity on the default queue, long enough to be killed in the middle.
const slowStepTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: slow-register
spec:
  owner: group:default/team-a
  type: service
  steps:
    - id: fetch
      name: Fetch
      action: fetch:plain
      input: {url: ./skeleton}
    - id: register
      name: Register
      action: catalog:register
      input: {catalogInfoPath: entities-0000.yaml}
`

// TestLongStepRetriedAfterSIGKILL kills rigger dev while a scaffolder step
// runs in a regular activity and restarts it: the step, lost with the
// killed worker, runs again within seconds (heartbeat timeout) instead of
// after its start-to-close timeout, and the task completes.
func TestLongStepRetriedAfterSIGKILL(t *testing.T) {
	needBinary(t)
	cat := genCatalog(t, 2000, 2000)
	tdir := t.TempDir()
	if err := os.Mkdir(filepath.Join(tdir, "skeleton"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(cat, "entities-0000.yaml"), filepath.Join(tdir, "skeleton", "entities-0000.yaml")); err != nil {
		t.Fatal(err)
	}
	tpl := filepath.Join(tdir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(slowStepTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	run := devOn(t, benchCatalogConfig+fmt.Sprintf("  locations:\n    - type: file\n      target: %s\n", tpl))
	p1 := run()
	waitTotal(t, p1.api, "kind=template", 1)
	var created struct{ ID string }
	if code := doJSON(t, "POST", p1.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/slow-register"}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	step := map[string]any{"msg": "action executed", "task_id": created.ID, "step_id": "register"}
	p1.waitLog(t, step, 60*time.Second)
	p1.killNow(t)
	if countLogs(p1.stderr.String(), map[string]any{"msg": "catalog location refreshed", "entities": 2000}) > 0 {
		t.Fatal("the step finished before the kill: the test proves nothing; make the catalog bigger")
	}

	p2 := run()
	restarted := time.Now()
	p2.waitLog(t, step, retryWithin)
	t.Logf("step retried %.1f s after the restart", time.Since(restarted).Seconds())
	tr := waitTask(t, p2.api, created.ID)
	if tr.Status != "completed" {
		t.Fatalf("after restart: %+v", tr)
	}
	waitTotal(t, p2.api, "metadata.labels.bench=synthetic", 2000)
}

// waitTotalWithin is waitTotal with its own deadline.
func waitTotalWithin(t testing.TB, api, filter string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got struct {
		TotalItems int `json:"totalItems"`
	}
	for time.Now().Before(deadline) {
		doJSON(t, "GET", api+"/api/catalog/entities/by-query?limit=0&filter="+url.QueryEscape(filter), nil, &got)
		if got.TotalItems == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("filter %s: %d entities after %s, want %d", filter, got.TotalItems, within, want)
}
