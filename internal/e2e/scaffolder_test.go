package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
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
        wait: {type: number, default: 1}
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
        seconds: ${{ parameters.wait }}
  output:
    text:
      - title: Result
        content: done for ${{ parameters.name }}
`

// writeHelloFiles writes testTemplate and its skeleton into a new temp
// directory and returns the template's path, for a config's catalog
// location.
func writeHelloFiles(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(testTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "skeleton"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "skeleton", "README.md"), []byte("${{ values.name }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return tpl
}

// helloFilesLocation is a config's catalog section loading tpl.
func helloFilesLocation(tpl string) string {
	return fmt.Sprintf("catalog:\n  locations:\n    - type: file\n      target: %s\n", tpl)
}

type taskResp struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Steps  []struct {
		ID, Status, Error string
	} `json:"steps"`
}

func waitTask(t *testing.T, api, id string) taskResp {
	t.Helper()
	return waitTaskAs(t, "", api, id)
}

// secretTemplate uses a secret, and fetches a file that a test creates
// only after the first run failed (to retry it).
const secretTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: uses-secret
spec:
  owner: group:default/team-a
  type: service
  parameters:
    - properties:
        marker: {type: string}
  steps:
    - id: announce
      name: Announce
      action: debug:log
      input:
        message: marker ${{ parameters.marker }} token ${{ secrets.token }} by ${{ user.entity.spec.profile.email | default('nobody') }}
    - id: write
      name: Write the token
      action: fs:write
      input:
        path: token.txt
        content: ${{ secrets.token }}
    - id: later
      name: Fetch a file that appears later
      action: fetch:plain:file
      input:
        url: ./later.txt
        targetPath: later.txt
  output:
    text:
      - title: Token
        content: the token was ${{ secrets.token }}
`

func TestScaffolderTasks(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(testTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.yaml"), []byte(secretTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "skeleton"), 0o755)
	os.WriteFile(filepath.Join(dir, "skeleton", "catalog-info.yaml"), []byte("metadata:\n  name: ${{ values.name }}\n"), 0o644)
	p, _ := startDevWithConfig(t, fmt.Sprintf("catalog:\n  locations:\n    - type: file\n      target: %s\n    - type: file\n      target: %s\n", tpl, filepath.Join(dir, "secret.yaml")))
	waitTotal(t, p.api, "kind=template", 2)

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
		// Live, with no timing window: the task waits 120 s after its
		// first steps, so their events must arrive while it is still
		// processing; then it is cancelled and the stream ends with that.
		var c struct{ ID string }
		doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/hello-files", "values": map[string]any{"name": "live", "wait": 120}}, &c)
		resp, err := http.Get(p.api + "/api/scaffolder/v2/tasks/" + c.ID + "/eventstream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("content type %q", ct)
		}
		var sb strings.Builder
		sc := bufio.NewScanner(resp.Body) // the stream ends after the completion event
		cancelled := false
		for sc.Scan() {
			line := sc.Text()
			sb.WriteString(line + "\n")
			if !cancelled && strings.Contains(line, "wrote hello.txt") {
				var tr taskResp
				if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+c.ID, nil, &tr); code != http.StatusOK || tr.Status != "processing" {
					t.Fatalf("an event arrived, but the task is %q (%d): not streamed live", tr.Status, code)
				}
				if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+c.ID+"/cancel", nil, nil); code != http.StatusOK {
					t.Fatalf("cancel: %d", code)
				}
				cancelled = true
			}
		}
		text := sb.String()
		if !cancelled || !strings.Contains(text, "event: log\ndata: ") || !strings.HasSuffix(strings.TrimSpace(text), "}") ||
			strings.Count(text, "event: completion") != 1 || !strings.Contains(text, `"status":"cancelled"`) {
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

	t.Run("Cancel", func(t *testing.T) {
		var c struct{ ID string }
		doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/hello-files", "values": map[string]any{"name": "stop"}}, &c)
		var e apiError
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+c.ID+"/cancel", nil, &e); code != http.StatusOK {
			t.Fatalf("cancel: %d %+v", code, e)
		}
		tr := waitTask(t, p.api, c.ID)
		if tr.Status != "cancelled" || tr.Steps[3].Status == "completed" {
			t.Fatalf("cancelled task: %+v", tr)
		}
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+c.ID+"/cancel", nil, &e); code != http.StatusConflict {
			t.Errorf("cancelling a cancelled task: %d", code)
		}
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+c.ID+"/retry", nil, &e); code != http.StatusConflict {
			t.Errorf("retrying a cancelled task: %d", code)
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
		if strings.Join(ids, ",") != "aws:s3:create-bucket,aws:s3:put-object,catalog:fetch,catalog:register,catalog:write,debug:log,debug:wait,fetch:cookiecutter,fetch:plain,fetch:plain:file,fetch:template,fs:delete,fs:rename,fs:write,"+
			"github:actions:dispatch,github:issues:label,github:repo:create,github:repo:push,github:webhook,publish:github,publish:github:pull-request,rigger:approval,rigger:wait-for,"+
			"terraform:apply,terraform:destroy,terraform:output,terraform:plan" {
			t.Errorf("actions %v", ids)
		}
	})
}

// TestScaffolderSecretsRetryListDryRun: secrets never reach Temporal's
// database or the logs, a failed task retries from its failed step, tasks
// list by creator and status, and dry runs return the produced files.
func TestScaffolderSecretsRetryListDryRun(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.yaml"), []byte(secretTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	// The dev user's catalog entity: expressions see it as user.entity.
	users := "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: guest}\nspec: {profile: {email: guest@example.com}, memberOf: []}\n"
	if err := os.WriteFile(filepath.Join(dir, "users.yaml"), []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	p, cfgDir := startDevWithConfig(t, fmt.Sprintf("catalog:\n  locations:\n    - type: file\n      target: %s\n    - type: file\n      target: %s\n", filepath.Join(dir, "secret.yaml"), filepath.Join(dir, "users.yaml")))
	waitTotal(t, p.api, "kind=template", 1)
	waitTotal(t, p.api, "kind=user", 1)
	const secret, marker = "tok-8b1f0e-very-secret", "marker-4242-visible"

	var c struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/uses-secret",
		"values": map[string]any{"marker": marker}, "secrets": map[string]any{"token": secret}}, &c); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	tr := waitTask(t, p.api, c.ID)
	if tr.Status != "failed" || tr.Steps[2].Status != "failed" || !strings.Contains(tr.Steps[2].Error, "later.txt") {
		t.Fatalf("first run: %+v", tr)
	}
	// The action got the value; logs and events only show ***.
	ws := filepath.Join(cfgDir, "data", "workspaces", c.ID)
	if got, _ := os.ReadFile(filepath.Join(ws, "token.txt")); string(got) != secret {
		t.Fatalf("token.txt = %q", got)
	}
	events := eventText(t, p.api, c.ID)
	if strings.Contains(events, secret) || !strings.Contains(events, "token *** by guest@example.com") {
		t.Fatalf("events leak or lack redaction:\n%s", events)
	}

	t.Run("Retry", func(t *testing.T) {
		var e apiError
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+c.ID+"/retry", nil, &e); code != http.StatusCreated {
			t.Fatalf("retry before the fix: %d %+v", code, e)
		}
		tr := waitTask(t, p.api, c.ID)
		if tr.Status != "failed" {
			t.Fatalf("retry without the file: %+v", tr)
		}
		if err := os.WriteFile(filepath.Join(dir, "later.txt"), []byte("here now"), 0o600); err != nil {
			t.Fatal(err)
		}
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+c.ID+"/retry", nil, &e); code != http.StatusCreated {
			t.Fatalf("retry: %d %+v", code, e)
		}
		tr = waitTask(t, p.api, c.ID)
		if tr.Status != "completed" {
			t.Fatalf("after the fix: %+v", tr)
		}
		if got, _ := os.ReadFile(filepath.Join(ws, "later.txt")); string(got) != "here now" {
			t.Fatalf("later.txt = %q", got)
		}
		// Steps 1 and 2 ran once over three runs; step 3 three times.
		for step, want := range map[string]int{"announce": 1, "write": 1, "later": 3} {
			if n := countLogs(p.stdout.String()+p.stderr.String(), map[string]any{"msg": "action executed", "task_id": c.ID, "step_id": step}); n != want {
				t.Errorf("step %s executed %d times, want %d", step, n, want)
			}
		}
		events := eventText(t, p.api, c.ID)
		for _, want := range []string{"Retrying from step later (attempt 2)", "Retrying from step later (attempt 3)", "the token was ***", "Run completed successfully"} {
			if !strings.Contains(events+fmt.Sprint(taskOutput(t, p.api, c.ID)), want) {
				t.Errorf("events lack %q:\n%s", want, events)
			}
		}
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+c.ID+"/retry", nil, &e); code != http.StatusConflict {
			t.Errorf("retrying a completed task: %d", code)
		}
	})

	t.Run("SecretNeverStored", func(t *testing.T) {
		// Everything Temporal and rigger persisted (databases, WAL files)
		// and every log line: the task's id is found in Temporal's files
		// (so the search is real); the secret is not, nor the marker given
		// in the same input (rigger dev encrypts workflow payloads).
		var foundID bool
		filepath.WalkDir(filepath.Join(cfgDir, "data"), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.Contains(path, string(filepath.Separator)+"workspaces"+string(filepath.Separator)) {
				return err
			}
			data, _ := os.ReadFile(path)
			if strings.Contains(string(data), secret) {
				t.Errorf("%s holds the secret", path)
			}
			if strings.Contains(path, "temporal") {
				if strings.Contains(string(data), c.ID) {
					foundID = true
				}
				if strings.Contains(string(data), marker) {
					t.Errorf("%s holds the marker parameter in clear text: payloads are not encrypted", path)
				}
			}
			return nil
		})
		if !foundID {
			t.Error("the task id is not in Temporal's database: this check would prove nothing")
		}
		if strings.Contains(p.stdout.String()+p.stderr.String(), secret) {
			t.Error("the secret is in the logs")
		}
	})

	t.Run("List", func(t *testing.T) {
		var list struct {
			Tasks []struct {
				ID        string `json:"id"`
				Status    string `json:"status"`
				CreatedBy string `json:"createdBy"`
				Spec      struct {
					TemplateInfo struct{ EntityRef string } `json:"templateInfo"`
				} `json:"spec"`
			} `json:"tasks"`
			TotalTasks int `json:"totalTasks"`
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks?createdBy=user:default/guest&status=completed", nil, &list)
			if list.TotalTasks == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if list.TotalTasks != 1 || list.Tasks[0].ID != c.ID || list.Tasks[0].Spec.TemplateInfo.EntityRef != "template:default/uses-secret" || list.Tasks[0].CreatedBy != "user:default/guest" {
			t.Fatalf("list: %+v", list)
		}
		// The task ran three times (Retry): it is listed once, as its
		// newest run, and a status filter sees only that run.
		for query, want := range map[string]int{"": 1, "?status=completed": 1, "?status=failed": 0} {
			doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks"+query, nil, &list)
			n := 0
			for _, task := range list.Tasks {
				if task.ID == c.ID {
					n++
					if task.Status != "completed" {
						t.Errorf("%q lists the retried task as %s", query, task.Status)
					}
				}
			}
			if n != want {
				t.Errorf("%q lists the retried task %d times, want %d", query, n, want)
			}
		}
		doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks?createdBy=user:default/someone-else", nil, &list)
		if list.TotalTasks != 0 {
			t.Fatalf("someone else's tasks: %+v", list)
		}
		var e apiError
		if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks?status=bogus", nil, &e); code != http.StatusBadRequest {
			t.Errorf("bad status: %d", code)
		}
		if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks?order=desc:secrets", nil, &e); code != http.StatusBadRequest {
			t.Errorf("bad order: %d", code)
		}
		for _, path := range []string{"/tasks//retry", "/tasks//cancel", "/tasks/" + strings.Repeat("x", 300)} {
			method := "POST"
			if !strings.HasSuffix(path, "retry") && !strings.HasSuffix(path, "cancel") {
				method = "GET"
			}
			if code := doJSON(t, method, p.api+"/api/scaffolder/v2"+path, nil, &e); code != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404", method, path, code)
			}
		}
	})

	t.Run("DryRun", func(t *testing.T) {
		tpl := map[string]any{}
		raw, _ := os.ReadFile(filepath.Join("testdata", "dryrun-template.json"))
		if err := json.Unmarshal(raw, &tpl); err != nil {
			t.Fatal(err)
		}
		var res struct {
			Status string `json:"status"`
			Log    []struct {
				Body struct{ Message, StepID, Status string }
			}
			DirectoryContents []struct{ Path, Base64Content string }
			Steps             []struct{ ID, Status string }
		}
		code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/dry-run", map[string]any{
			"template": tpl, "values": map[string]any{"name": "dry"}, "secrets": map[string]any{"token": secret},
			"directoryContents": []map[string]any{{"path": "skeleton/README.md", "base64Content": base64.StdEncoding.EncodeToString([]byte("# ${{ values.name }}\n"))}},
		}, &res)
		if code != http.StatusOK || res.Status != "completed" {
			t.Fatalf("dry run: %d %+v", code, res)
		}
		files := map[string]string{}
		for _, f := range res.DirectoryContents {
			b, _ := base64.StdEncoding.DecodeString(f.Base64Content)
			files[f.Path] = string(b)
		}
		if files["out/README.md"] != "# dry\n" || files["note.txt"] != "dry" {
			t.Fatalf("files: %v", files)
		}
		var msgs []string
		for _, l := range res.Log {
			msgs = append(msgs, l.Body.Message)
		}
		if joined := strings.Join(msgs, "\n"); strings.Contains(joined, secret) || !strings.Contains(joined, "token ***") {
			t.Fatalf("dry-run log: %s", joined)
		}
		var e apiError
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/dry-run", map[string]any{"template": tpl, "values": map[string]any{"name": "x"},
			"directoryContents": []map[string]any{{"path": "../../escape", "base64Content": ""}}}, &e); code != http.StatusBadRequest || !strings.Contains(e.Error.Message, "relative path inside the template") {
			t.Fatalf("escaping directoryContents: %d %+v", code, e)
		}
	})
}

// eventText is a task's event messages, one per line.
func eventText(t *testing.T, api, id string) string {
	t.Helper()
	return eventTextAs(t, "", api, id)
}

// eventTextAs is eventText with a bearer token.
func eventTextAs(t *testing.T, token, api, id string) string {
	t.Helper()
	var events []struct {
		Body struct {
			Message string `json:"message"`
		} `json:"body"`
	}
	doJSONAs(t, token, "GET", api+"/api/scaffolder/v2/tasks/"+id+"/events", nil, &events)
	var all []string
	for _, e := range events {
		all = append(all, e.Body.Message)
	}
	return strings.Join(all, "\n")
}

func taskOutput(t *testing.T, api, id string) any {
	t.Helper()
	var tr struct {
		Output any `json:"output"`
	}
	doJSON(t, "GET", api+"/api/scaffolder/v2/tasks/"+id, nil, &tr)
	return tr.Output
}
