package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const durableTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: durable
spec:
  owner: group:default/team-a
  type: service
  steps:
    - id: one
      name: One
      action: fs:write
      input: {path: one.txt, content: first}
    - id: two
      name: Two
      action: debug:log
      input: {message: second step}
    - id: three
      name: Three
      action: debug:wait
      input: {seconds: 5}
    - id: four
      name: Four
      action: debug:log
      input: {message: after the crash, listWorkspace: true}
`

// TestScaffolderSurvivesSIGKILL kills rigger while the third of four steps
// waits, restarts it on the same data dir, and checks the task completes,
// steps one and two ran exactly once, and the events show the whole run.
func TestScaffolderSurvivesSIGKILL(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(durableTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "rigger.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("catalog:\n  locations:\n    - type: file\n      target: %s\n", tpl)), 0o600)
	ps := freePorts(t)
	data := filepath.Join(dir, "data")
	run := func() *proc {
		p := start(t, dir, cleanEnv(), "dev", "--config", cfg, "--data-dir", data,
			"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api), "--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend), "--temporal-ui-listen", "")
		p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
		p.waitReady(t, 90*time.Second)
		return p
	}
	p1 := run()
	waitTotal(t, p1.api, "kind=template", 1)
	var created struct{ ID string }
	if code := doJSON(t, "POST", p1.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/durable"}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	// Kill once step three is waiting.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var tr taskResp
		doJSON(t, "GET", p1.api+"/api/scaffolder/v2/tasks/"+created.ID, nil, &tr)
		if len(tr.Steps) == 4 && tr.Steps[2].Status == "processing" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("step three never started: %+v", tr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p1.cmd.Process.Signal(syscall.SIGKILL)
	p1.wait(t, 10*time.Second)

	p2 := run()
	tr := waitTask(t, p2.api, created.ID)
	if tr.Status != "completed" {
		t.Fatalf("after restart: %+v", tr)
	}
	logs := p1.stderr.String() + p2.stderr.String()
	for _, step := range []string{"one", "two"} {
		if n := countLogs(logs, map[string]any{"msg": "action executed", "task_id": created.ID, "step_id": step}); n != 1 {
			t.Errorf("step %s ran %d times, want exactly 1", step, n)
		}
	}
	if n := countLogs(p2.stderr.String(), map[string]any{"msg": "action executed", "task_id": created.ID, "step_id": "four"}); n != 1 {
		t.Errorf("step four ran %d times in the restarted process, want 1", n)
	}
	var events []struct {
		Body struct{ Message string } `json:"body"`
	}
	doJSON(t, "GET", p2.api+"/api/scaffolder/v2/tasks/"+created.ID+"/events", nil, &events)
	var all []string
	for _, e := range events {
		all = append(all, e.Body.Message)
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"Beginning step One", "wrote one.txt", "second step", "waited 5s", "after the crash", "one.txt", "Run completed successfully"} {
		if !strings.Contains(text, want) {
			t.Errorf("events lack %q:\n%s", want, text)
		}
	}
}
