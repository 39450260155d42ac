package e2e

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the database rigger dev wrote, opened to tamper with it
)

// TestAuditTrail: creating and cancelling a task in rigger dev writes one
// audit event each (database chain, JSON-lines file, GET /api/audit/events
// for the dev guest); after a clean stop, `rigger audit verify` accepts
// the chain, names the event whose row was edited, and — comparing with
// the JSON-lines log — finds the newest event deleted.
func TestAuditTrail(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(testTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "skeleton"), 0o755)
	os.WriteFile(filepath.Join(dir, "skeleton", "README.md"), []byte("${{ values.name }}\n"), 0o644)
	logPath := filepath.Join(dir, "audit.jsonl")
	cfgYAML := fmt.Sprintf("catalog:\n  locations:\n    - type: file\n      target: %s\naudit:\n  sink: file\n  path: %s\n", tpl, logPath)
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
		if len(page.Items) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(page.Items) != 2 {
		t.Fatalf("events of the task: %+v, want create and cancel", page.Items)
	}
	cancel, create := page.Items[0].Event, page.Items[1].Event
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
	if strings.Count(string(logged), `"kind":"audit.event"`) != 2 || !strings.Contains(string(logged), `"kind":"audit.head","seq":2`) {
		t.Fatalf("audit log file:\n%s", logged)
	}

	data := filepath.Join(cfgDir, "data")
	cfg := filepath.Join(cfgDir, "rigger.yaml")
	verify := func() (int, string) {
		v := start(t, dir, cleanEnv(), "audit", "verify", "--config", cfg, "--data-dir", data)
		code := v.wait(t, 60*time.Second)
		return code, v.stdout.String() + v.stderr.String()
	}
	if code, out := verify(); code != 0 || !strings.Contains(out, "audit chain verified: 2 events") || !strings.Contains(out, "2 of them matched") {
		t.Fatalf("verify an untouched chain: exit %d\n%s", code, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(data, "rigger.db"))
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
	exec(`UPDATE audit_events SET body = REPLACE(body, 'user:default/guest', 'user:default/someone') WHERE seq = 1`)
	if code, out := verify(); code != 1 || !strings.Contains(out, "audit chain broken at event seq 1") || !strings.Contains(out, "hash does not match") {
		t.Fatalf("verify an edited chain: exit %d\n%s", code, out)
	}
	exec(`UPDATE audit_events SET body = REPLACE(body, 'user:default/someone', 'user:default/guest') WHERE seq = 1`)
	exec(`DELETE FROM audit_events WHERE seq = 2`)
	if code, out := verify(); code != 1 || !strings.Contains(out, "audit chain broken at event seq 2") || !strings.Contains(out, "deleted from the end") {
		t.Fatalf("verify a chain missing its newest event: exit %d\n%s", code, out)
	}
}
