package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Service tokens of the team startTeam configures.
const (
	aliceToken = "alice-token-0123456789-abcdefghijklmn"
	bobToken   = "bob-token-0123456789-abcdefghijklmnop"
	adminToken = "admin-token-0123456789-abcdefghijklm"
)

// waitingTemplate logs a line and waits: a task that stays running.
const waitingTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: waits
spec:
  owner: group:default/team-a
  type: service
  parameters:
    - properties:
        secretish: {type: string}
        seconds: {type: number, default: 60}
  steps:
    - id: hello
      name: Hello
      action: debug:log
      input:
        message: value ${{ parameters.secretish }}
    - id: wait
      name: Wait
      action: debug:wait
      input:
        seconds: ${{ parameters.seconds }}
`

// startTeam starts rigger server and worker against a Temporal frontend
// with three service tokens — alice and bob (scaffolder.run, catalog.read)
// and admin (also scaffolder.admin) — and templatesYAML as a static
// location.
func startTeam(t testing.TB, temporal, templatesYAML string) serverWorker {
	t.Helper()
	dir := t.TempDir()
	tpl := filepath.Join(dir, "templates.yaml")
	if err := os.WriteFile(tpl, []byte(templatesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "rigger.yaml")
	yaml := fmt.Sprintf(`server:
  dataDir: %s
catalog:
  locations:
    - {type: file, target: %s}
scaffolder:
  runSigningKey: %s
auth:
  serviceTokens:
    - {name: alice, token: "${ALICE}", scopes: [scaffolder.run, catalog.read]}
    - {name: bob, token: "${BOB}", scopes: [scaffolder.run, catalog.read]}
    - {name: admin, token: "${ADMIN}", scopes: [scaffolder.run, scaffolder.admin, catalog.read]}
`, filepath.Join(dir, "data"), tpl, testRunSigningKey)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("ALICE="+aliceToken, "BOB="+bobToken, "ADMIN="+adminToken, "RIGGER_CONFIG="+cfg, "RIGGER_TEMPORAL_ADDRESS="+temporal)
	w := start(t, dir, env, "worker", "--queue", "rigger-default")
	w.waitStdout(t, "Rigger worker is ready", 60*time.Second)
	api := freePorts(t).api
	s := start(t, dir, env, "server", "--listen", fmt.Sprintf("127.0.0.1:%d", api))
	s.api = fmt.Sprintf("http://127.0.0.1:%d", api)
	s.waitReady(t, 60*time.Second)
	return serverWorker{server: s, worker: w, token: adminToken}
}

// startWaitingTask starts waitingTemplate as token once the template is in
// the catalog, and returns the task id.
func startWaitingTask(t testing.TB, api, token string, values map[string]any) string {
	t.Helper()
	var created struct{ ID string }
	deadline := time.Now().Add(60 * time.Second)
	for {
		code := doJSONAs(t, token, "POST", api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/waits", "values": values}, &created)
		if code == http.StatusCreated {
			return created.ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("start task: %d", code)
		}
		time.Sleep(100 * time.Millisecond) // the location is still being read
	}
}

// TestTaskReadsArePrivate: Bob (scaffolder.run) can neither read, list,
// stream, cancel nor retry Alice's task — each answers as for an unknown
// id, and lists hold only his own tasks with counts to match — while
// Alice and a scaffolder.admin token can.
func TestTaskReadsArePrivate(t *testing.T) {
	needBinary(t)
	_, addr := startTemporalOnly(t, t.TempDir())
	sw := startTeam(t, addr, waitingTemplate)
	api := sw.server.api + "/api/scaffolder/v2/tasks"
	aliceTask := startWaitingTask(t, sw.server.api, aliceToken, map[string]any{"secretish": "alice-private-value"})
	bobTask := startWaitingTask(t, sw.server.api, bobToken, map[string]any{"secretish": "bob-value"})

	// Wait until Alice's first event exists, so that there is something to leak.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var evs []map[string]any
		if code := doJSONAs(t, aliceToken, "GET", api+"/"+aliceTask+"/events", nil, &evs); code == http.StatusOK && len(evs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("alice's task logged nothing")
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, p := range []string{"", "/events", "/eventstream"} {
		for token, want := range map[string]int{bobToken: http.StatusNotFound, aliceToken: http.StatusOK, adminToken: http.StatusOK} {
			if code := statusOf(t, token, api+"/"+aliceTask+p); code != want {
				t.Errorf("GET %s as %s: %d, want %d", p, token[:5], code, want)
			}
		}
	}
	for _, p := range []string{"/cancel", "/retry"} {
		if code := doJSONAs(t, bobToken, "POST", api+"/"+aliceTask+p, nil, nil); code != http.StatusNotFound {
			t.Errorf("bob POST %s: %d, want 404", p, code)
		}
	}

	type list struct {
		Tasks []struct{ ID, CreatedBy string } `json:"tasks"`
		Total int                              `json:"totalTasks"`
	}
	// Visibility is eventually consistent: wait until admin sees both.
	var all list
	for deadline := time.Now().Add(30 * time.Second); ; {
		all = list{}
		if code := doJSONAs(t, adminToken, "GET", api, nil, &all); code == http.StatusOK && all.Total >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("admin's list never held both tasks: %+v", all)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, q := range []string{"", "?createdBy=service:alice", "?status=processing"} {
		var bobs list
		if code := doJSONAs(t, bobToken, "GET", api+q, nil, &bobs); code != http.StatusOK {
			t.Fatalf("bob list %q: %d", q, code)
		}
		for _, tk := range bobs.Tasks {
			if tk.ID == aliceTask || tk.CreatedBy != "service:bob" {
				t.Errorf("bob's list %q holds %+v", q, tk)
			}
		}
		want := 1
		if q == "?createdBy=service:alice" {
			want = 0
		}
		if bobs.Total != want || len(bobs.Tasks) != want {
			t.Errorf("bob's list %q: total %d, %d tasks, want %d (only his own task %s)", q, bobs.Total, len(bobs.Tasks), want, bobTask)
		}
	}

	// Bob's cancel of his own task works; admin may cancel Alice's.
	if code := doJSONAs(t, bobToken, "POST", api+"/"+bobTask+"/cancel", nil, nil); code != http.StatusOK {
		t.Errorf("bob cancels his own task: %d", code)
	}
	if code := doJSONAs(t, adminToken, "POST", api+"/"+aliceTask+"/cancel", nil, nil); code != http.StatusOK {
		t.Errorf("admin cancels alice's task: %d", code)
	}
	// Alice's stream ends with the cancellation; Bob's never opened.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", api+"/"+aliceTask+"/eventstream", nil)
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var text strings.Builder
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		text.WriteString(sc.Text() + "\n")
	}
	if !strings.Contains(text.String(), "alice-private-value") || !strings.Contains(text.String(), "event: completion") {
		t.Errorf("alice's own stream: %s", text.String())
	}
}

// statusOf GETs url as token and returns the status without reading the
// body (an event stream of a running task does not end).
func statusOf(t testing.TB, token, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
