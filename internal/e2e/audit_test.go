package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the databases rigger wrote, opened to tamper with them
	_ "modernc.org/sqlite"

	"github.com/riggerdev/rigger/internal/pgtest"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// TestAuditTrail: creating and cancelling a task in rigger dev writes one
// audit event each (database chain, JSON-lines file, GET /api/audit/events
// for the dev guest); after a clean stop, `rigger audit verify` accepts
// the chain, names the event whose row was edited, and — comparing with
// the JSON-lines log — finds the newest event deleted.
func TestAuditTrail(t *testing.T) {
	needBinary(t)
	tpl := writeHelloFiles(t)
	dir := filepath.Dir(tpl)
	logPath := filepath.Join(dir, "audit.jsonl")
	cfgYAML := helloFilesLocation(tpl) + fmt.Sprintf("audit:\n  sink: file\n  path: %s\n", logPath)
	p, cfgDir := startDevWithConfig(t, cfgYAML)
	waitTotal(t, p.api, "kind=template", 1)

	var created struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/hello-files",
		"values": map[string]any{"name": "audited", "wait": 60}}, &created); code != http.StatusCreated {
		t.Fatalf("create task: %d", code)
	}
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+created.ID+"/cancel", nil, nil); code != http.StatusOK {
		t.Fatalf("cancel: %d", code)
	}
	type item struct {
		Seq   int64
		Event struct {
			Actor, ActorKind, Action, Target, Decision, RequestID, SourceIP string
			Details                                                         map[string]string
		}
	}
	var page struct{ Items []item }
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code := doJSON(t, "GET", p.api+"/api/audit/events?target="+url.QueryEscape("task:"+created.ID), nil, &page); code != http.StatusOK {
			t.Fatalf("audit events as the dev guest: %d", code)
		}
		if len(page.Items) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(page.Items) != 3 {
		t.Fatalf("events of the task: %+v, want create, cancel and the run's end (cancelled)", page.Items)
	}
	// The worker records the run's end and the API the cancel request, each
	// through its own batching writer: either may be stored first.
	byAction := map[string]*item{}
	for _, it := range page.Items {
		byAction[it.Event.Action] = &it
	}
	for _, a := range []string{"scaffolder.task.cancelled", "scaffolder.task.cancel", "scaffolder.task.create"} {
		if byAction[a] == nil {
			t.Fatalf("no %s event among %+v", a, page.Items)
		}
	}
	ended, cancel, create := byAction["scaffolder.task.cancelled"].Event, byAction["scaffolder.task.cancel"].Event, byAction["scaffolder.task.create"].Event
	if ended.Action != "scaffolder.task.cancelled" || ended.Actor != "user:default/guest" || ended.Details["template"] != "template:default/hello-files" {
		t.Fatalf("the run's end, recorded by the worker: %+v", ended)
	}
	if create.Action != "scaffolder.task.create" || cancel.Action != "scaffolder.task.cancel" ||
		create.Actor != "user:default/guest" || create.ActorKind != "user" || create.Decision != "allow" ||
		create.RequestID == "" || create.SourceIP != "127.0.0.1" || create.Details["template"] != "template:default/hello-files" {
		t.Fatalf("events: create %+v, cancel %+v", create, cancel)
	}

	// A clean stop stores and writes what is queued, and the chain head.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("rigger dev exit %d", code)
	}
	logged, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// The task's three events, the catalog's (the template's location
	// created one entity) and the reads the test made while it waited.
	n := strings.Count(string(logged), `"kind":"audit.event"`)
	reads := strings.Count(string(logged), `"action":"catalog.entity.read"`)
	if n-reads != 4 || reads == 0 || !strings.Contains(string(logged), fmt.Sprintf(`"kind":"audit.head","seq":%d`, n)) ||
		!strings.Contains(string(logged), `"action":"catalog.entity.create"`) || !strings.Contains(string(logged), `"count":"1"`) {
		t.Fatalf("audit log file (%d events, %d reads):\n%s", n, reads, logged)
	}

	data := filepath.Join(cfgDir, "data")
	cfg := filepath.Join(cfgDir, "rigger.yaml")
	verify := func() (int, string) {
		v := start(t, dir, cleanEnv(), "audit", "verify", "--config", cfg, "--data-dir", data)
		code := v.wait(t, 60*time.Second)
		return code, v.stdout.String() + v.stderr.String()
	}
	if code, out := verify(); code != 0 || !strings.Contains(out, fmt.Sprintf("audit chain verified: %d events", n)) || !strings.Contains(out, fmt.Sprintf("%d of them matched", n)) {
		t.Fatalf("verify an untouched chain: exit %d\n%s", code, out)
	}
	db, err := sql.Open("sqlite", sqlite.AuditPath(filepath.Join(data, "rigger.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var guestSeq int
	if err := db.QueryRow(`SELECT MIN(seq) FROM audit_events WHERE body LIKE '%user:default/guest%'`).Scan(&guestSeq); err != nil {
		t.Fatal(err)
	}
	exec(fmt.Sprintf(`UPDATE audit_events SET body = REPLACE(body, 'user:default/guest', 'user:default/someone') WHERE seq = %d`, guestSeq))
	if code, out := verify(); code != 1 || !strings.Contains(out, fmt.Sprintf("audit chain broken at event seq %d", guestSeq)) || !strings.Contains(out, "hash does not match") {
		t.Fatalf("verify an edited chain: exit %d\n%s", code, out)
	}
	exec(fmt.Sprintf(`UPDATE audit_events SET body = REPLACE(body, 'user:default/someone', 'user:default/guest') WHERE seq = %d`, guestSeq))
	exec(fmt.Sprintf(`DELETE FROM audit_events WHERE seq = %d`, n))
	if code, out := verify(); code != 1 || !strings.Contains(out, fmt.Sprintf("audit chain broken at event seq %d", n)) || !strings.Contains(out, "deleted from the end") {
		t.Fatalf("verify a chain missing its newest event: exit %d\n%s", code, out)
	}
}

// TestAuditReplicasOnPostgres: two rigger server replicas on one
// PostgreSQL database record refusals at the same time; the chain they
// share stays one chain (rigger audit verify counts every event), and a
// row deleted from its middle is named.
func TestAuditReplicasOnPostgres(t *testing.T) {
	needBinary(t)
	pg, err := pgtest.Start(context.Background())
	if errors.Is(err, pgtest.ErrUnavailable) && os.Getenv("CI") == "" {
		t.Skipf("LOUD SKIP: postgres: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	admin, err := sql.Open("pgx", pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE rigger"); err != nil {
		t.Fatal(err)
	}
	_, temporal := startTemporalOnly(t, t.TempDir())
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rigger.yaml")
	const reader = "reader-token-0123456789-abcdefghijkl"
	cfgYAML := fmt.Sprintf("database:\n  driver: postgres\n  url: %s\nauth:\n  serviceTokens:\n    - name: reader\n      token: %s\n      scopes: [catalog.read]\naudit:\n  sink: database\n",
		pg.DSN("rigger"), reader)
	if err := os.WriteFile(cfg, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("RIGGER_CONFIG="+cfg, "RIGGER_TEMPORAL_ADDRESS="+temporal)
	var servers []*proc
	for range 2 {
		port := freePorts(t).api
		s := start(t, dir, env, "server", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
		s.api = fmt.Sprintf("http://127.0.0.1:%d", port)
		servers = append(servers, s)
	}
	for _, s := range servers {
		s.waitReady(t, 60*time.Second)
	}
	// Refusals per replica, sent 4 at a time: within one peer's burst of
	// refusal events (api: 30), so every one is recorded.
	const each = 28
	var wg sync.WaitGroup
	for _, s := range servers {
		for w := range 4 {
			wg.Go(func() {
				for i := range each / 4 {
					token := reader
					if (w+i)%2 == 0 {
						token = "" // 401
					}
					if code := doJSONAs(t, token, "GET", s.api+"/api/audit/events", nil, nil); code != http.StatusForbidden && code != http.StatusUnauthorized {
						t.Errorf("audit events as %q: %d", token, code)
					}
				}
			})
		}
	}
	wg.Wait()
	for _, s := range servers {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range servers {
		if code := s.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("rigger server exit %d", code)
		}
	}
	verify := func() (int, string) {
		v := start(t, dir, cleanEnv("RIGGER_CONFIG="+cfg), "audit", "verify")
		code := v.wait(t, 60*time.Second)
		return code, v.stdout.String() + v.stderr.String()
	}
	if code, out := verify(); code != 0 || !strings.Contains(out, fmt.Sprintf("audit chain verified: %d events", 2*each)) {
		t.Fatalf("verify the replicas' chain: exit %d\n%s", code, out)
	}
	db, err := sql.Open("pgx", pg.DSN("rigger"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM audit_events WHERE seq = 31`); err != nil {
		t.Fatal(err)
	}
	if code, out := verify(); code != 1 || !strings.Contains(out, "audit chain broken at event seq 31: the event is missing (deleted)") {
		t.Fatalf("verify a chain missing seq 31: exit %d\n%s", code, out)
	}
}
