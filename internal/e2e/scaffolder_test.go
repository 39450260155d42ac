package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello-files
  title: Hello files
spec:
  owner: group:default/team-a
  type: service
  parameters:
    - title: Name
      required: [name]
      properties:
        name: {type: string, title: Name}
        path: {type: string, default: hello.txt}
  steps:
    - id: fetch
      name: Fetch skeleton
      action: fetch:template
      input:
        url: ./skeleton
        targetPath: app
        values:
          name: ${{ parameters.name }}
    - id: write
      name: Write a file
      action: fs:write
      input:
        path: ${{ parameters.path }}
        content: hi ${{ parameters.name }}
    - id: show
      name: Show the workspace
      action: debug:log
      input:
        message: wrote for ${{ parameters.name }}
        listWorkspace: with-contents
    - id: wait
      name: Wait
      action: debug:wait
      input:
        seconds: 1
  output:
    text:
      - title: Result
        content: done for ${{ parameters.name }}
`

type taskResp struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Steps  []struct {
		ID, Status, Error string
	} `json:"steps"`
}

func waitTask(t *testing.T, api, id string) taskResp {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var tr taskResp
	for time.Now().Before(deadline) {
		if code := doJSON(t, "GET", api+"/api/scaffolder/v2/tasks/"+id, nil, &tr); code != http.StatusOK {
			t.Fatalf("get task: %d", code)
		}
		if tr.Status != "processing" {
			return tr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("task %s still processing", id)
	return tr
}

func TestScaffolderTasks(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(testTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "skeleton"), 0o755)
	os.WriteFile(filepath.Join(dir, "skeleton", "catalog-info.yaml"), []byte("metadata:\n  name: ${{ values.name }}\n"), 0o644)
	p, _ := startDevWithConfig(t, fmt.Sprintf("catalog:\n  locations:\n    - type: file\n      target: %s\n", tpl))
	waitTotal(t, p.api, "kind=template", 1)

	var created struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/hello-files", "values": map[string]any{"name": "svc"}}, &created); code != http.StatusCreated || created.ID == "" {
		t.Fatalf("create task: %d %+v", code, created)
	}
	tr := waitTask(t, p.api, created.ID)
	if tr.Status != "completed" || len(tr.Steps) != 4 || tr.Steps[3].Status != "completed" {
		t.Fatalf("task: %+v", tr)
	}
	var events []struct {
		ID   int `json:"id"`
		Body struct {
			Message string `json:"message"`
		} `json:"body"`
	}
	doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+created.ID+"/events", nil, &events)
	var all []string
	for _, e := range events {
		all = append(all, e.Body.Message)
	}
	log := strings.Join(all, "\n")
	for _, want := range []string{"wrote app/catalog-info.yaml", "app/catalog-info.yaml:\nmetadata:\n  name: svc", "wrote hello.txt", "hello.txt:\nhi svc", "waited 1s", "Run completed successfully"} {
		if !strings.Contains(log, want) {
			t.Errorf("events lack %q:\n%s", want, log)
		}
	}
	var later []map[string]any
	doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+created.ID+"/events?after="+fmt.Sprint(events[len(events)-2].ID), nil, &later)
	if len(later) != 1 {
		t.Errorf("events after %d: %d, want 1", events[len(events)-2].ID, len(later))
	}

	t.Run("EventStream", func(t *testing.T) {
		var c struct{ ID string }
		doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/hello-files", "values": map[string]any{"name": "live"}}, &c)
		resp, err := http.Get(p.api + "/api/scaffolder/v2/tasks/" + c.ID + "/eventstream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("content type %q", ct)
		}
		body, _ := io.ReadAll(resp.Body) // the stream ends after the completion event
		text := string(body)
		if !strings.Contains(text, "event: log\ndata: ") || !strings.Contains(text, "waited 1s") || !strings.HasSuffix(strings.TrimSpace(text), "}") ||
			strings.Count(text, "event: completion") != 1 {
			t.Fatalf("stream:\n%s", text)
		}
	})

	t.Run("CLIRunWait", func(t *testing.T) {
		run := start(t, dir, cleanEnv("RIGGER_SERVER="+p.api), "run", "template:default/hello-files", "--set", "name=cli", "--wait")
		if code := run.wait(t, 60*time.Second); code != 0 {
			t.Fatalf("rigger run: exit %d\n%s\n%s", code, run.stdout.String(), run.stderr.String())
		}
		out := run.stdout.String()
		for _, want := range []string{"task ", "started", "[fetch] Beginning step Fetch skeleton", "[wait] waited 1s", "completed"} {
			if !strings.Contains(out, want) {
				t.Errorf("rigger run output lacks %q:\n%s", want, out)
			}
		}
		bad := start(t, dir, cleanEnv("RIGGER_SERVER="+p.api), "run", "template:default/hello-files", "--set", "name=x", "--set", "path=../../x", "--wait")
		if code := bad.wait(t, 60*time.Second); code != 1 || !strings.Contains(bad.stderr.String(), "failed") || !strings.Contains(bad.stdout.String(), "leaves the task workspace") {
			t.Fatalf("failing run: exit %d\n%s\n%s", code, bad.stdout.String(), bad.stderr.String())
		}
	})

	t.Run("TraversalFailsTheStep", func(t *testing.T) {
		var c struct{ ID string }
		doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/hello-files",
			"values": map[string]any{"name": "x", "path": "../../.ssh/authorized_keys"}}, &c)
		tr := waitTask(t, p.api, c.ID)
		if tr.Status != "failed" || tr.Steps[1].Status != "failed" || !strings.Contains(tr.Steps[1].Error, "leaves the task workspace") || tr.Steps[2].Status != "open" {
			t.Fatalf("traversal task: %+v", tr)
		}
	})
	t.Run("BadRequests", func(t *testing.T) {
		var e apiError
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/hello-files", "values": map[string]any{}}, &e); code != http.StatusBadRequest || !strings.Contains(e.Error.Message, "name") {
			t.Errorf("missing required value: %d %+v", code, e)
		}
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/nope"}, &e); code != http.StatusNotFound {
			t.Errorf("unknown template: %d", code)
		}
		if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/not-a-task", nil, &e); code != http.StatusNotFound {
			t.Errorf("unknown task: %d", code)
		}
	})
	t.Run("Actions", func(t *testing.T) {
		var acts []struct{ ID string }
		doJSON(t, "GET", p.api+"/api/scaffolder/v2/actions", nil, &acts)
		var ids []string
		for _, a := range acts {
			ids = append(ids, a.ID)
		}
		if strings.Join(ids, ",") != "debug:log,debug:wait,fetch:plain,fetch:template,fs:delete,fs:rename,fs:write" {
			t.Errorf("actions %v", ids)
		}
	})
}
