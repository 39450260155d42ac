package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/payloadcodec"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

const trustTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: trusted}
spec:
  type: service
  steps:
    - {id: copy, name: Copy, action: fetch:plain:file, input: {url: ./hello.txt, targetPath: hello.txt}}
    - {id: log, name: Log, action: debug:log, input: {message: "by ${{ user.ref }}"}}
`

const resumesTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: resumes}
spec:
  type: service
  steps:
    - {id: skipme, name: Skip me, action: debug:log, if: false, input: {message: never}}
    - {id: none, name: None, action: catalog:fetch, each: [], input: {entityRef: template:default/trusted}}
    - {id: skipfetch, name: Skip fetch, action: catalog:fetch, if: false, input: {entityRef: template:default/trusted}}
    - {id: fetch, name: Fetch, action: catalog:fetch, input: {entityRef: template:default/trusted}}
    - {id: later, name: Later, action: fetch:plain:file, input: {url: ./later.txt, targetPath: later.txt}}
`

// TestForgedRunsAreRefused: anyone who can start workflows in the
// namespace can start rigger.scaffold with any input. A run started
// straight through the Temporal client with a forged user and a template
// base of file:///etc/ is refused by the worker before any step reads a
// file; so is a run whose input was changed after the API server signed
// it, and a signed input reused under another task id. A run started
// through the API still completes.
func TestForgedRunsAreRefused(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	tpl := filepath.Join(dir, "tpl", "template.yaml")
	os.MkdirAll(filepath.Dir(tpl), 0o755)
	if err := os.WriteFile(tpl, []byte(trustTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tpl", "hello.txt"), []byte("hello\n"), 0o600)
	tpl2 := filepath.Join(dir, "tpl2", "template.yaml")
	os.MkdirAll(filepath.Dir(tpl2), 0o755)
	if err := os.WriteFile(tpl2, []byte(resumesTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "rigger.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("catalog:\n  locations:\n    - {type: file, target: %s}\n    - {type: file, target: %s}\n", tpl, tpl2)), 0o600)
	ps := freePorts(t)
	data := filepath.Join(dir, "data")
	p := start(t, dir, cleanEnv(), "dev", "--config", cfg, "--data-dir", data,
		"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api), "--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend), "--temporal-ui-listen", "")
	p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
	p.waitReady(t, 90*time.Second)
	waitTotal(t, p.api, "kind=template", 2)
	if fi, err := os.Stat(filepath.Join(data, "run-signing.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("rigger dev made no 0600 run signing key: %v", err)
	}

	// Whoever starts runs straight through Temporal need not hold the
	// payload key (a plain input still reads); this client holds it, to
	// read why each run was refused as an operator would.
	codec := devCodec(t, data)
	tc, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", ps.frontend), Namespace: "default",
		Logger:        sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
		DataConverter: payloadcodec.DataConverter(codec), FailureConverter: payloadcodec.FailureConverter(codec)})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ctx := context.Background()
	// run starts in straight through Temporal and returns its failure.
	run := func(t *testing.T, in workflows.ScaffoldInput) string {
		t.Helper()
		r, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: in.TaskID, TaskQueue: "rigger-default"}, workflows.ScaffoldName, in)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := r.Get(wctx, nil); err != nil {
			return err.Error()
		}
		return ""
	}
	// noFiles checks that the task's workspace holds no file.
	noFiles := func(t *testing.T, id string) {
		t.Helper()
		ws := filepath.Join(data, "workspaces", id)
		filepath.WalkDir(ws, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				t.Errorf("the refused run wrote %s", p)
			}
			return nil
		})
	}
	step := func(id, action string, input map[string]any) templates.PlanStep {
		return templates.PlanStep{ID: id, Name: id, Action: action, Input: input, TaskQueue: "rigger-default",
			Local: true, DryRunSafe: true, Retry: templates.RetryPolicy{MaximumAttempts: 1}}
	}

	t.Run("forged input", func(t *testing.T) {
		id := "forged-etc"
		msg := run(t, workflows.ScaffoldInput{TaskID: id, Plan: templates.Plan{
			Version:  templates.PlanVersion,
			Template: templates.PlanTemplate{Ref: "template:default/trusted", Name: "trusted", BaseURL: "file:///etc/"},
			UserRef:  "user:default/admin",
			Steps: []templates.PlanStep{
				step("steal", "fetch:plain:file", map[string]any{"url": "passwd", "targetPath": "loot/passwd"}),
				step("stealdir", "fetch:plain", map[string]any{"url": ".", "targetPath": "loot/etc"}),
			},
		}})
		if !strings.Contains(msg, "run not signed by the API server") {
			t.Errorf("forged run: %q, want a refusal saying the run is not signed by the API server", msg)
		}
		noFiles(t, id)
		// Forged as another user: tasks are private, so the dev guest does
		// not even see it.
		if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+id, nil, nil); code != http.StatusNotFound {
			t.Errorf("a forged task of another user through the API: %d, want 404", code)
		}
	})

	t.Run("retry of a forged run", func(t *testing.T) {
		// Forged as the dev guest, so the guest may retry it: the server
		// must not sign it then.
		id := "forged-guest"
		msg := run(t, workflows.ScaffoldInput{TaskID: id, Plan: templates.Plan{
			Version:  templates.PlanVersion,
			Template: templates.PlanTemplate{Ref: "template:default/trusted", Name: "trusted", BaseURL: "file:///etc/"},
			UserRef:  "user:default/guest",
			Steps:    []templates.PlanStep{step("steal", "fetch:plain:file", map[string]any{"url": "passwd", "targetPath": "loot/passwd"})},
		}})
		if !strings.Contains(msg, "run not signed by the API server") {
			t.Fatalf("forged run: %q", msg)
		}
		var apiErr struct{ Error struct{ Message string } }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+id+"/retry", map[string]any{}, &apiErr); code != http.StatusBadRequest ||
			!strings.Contains(apiErr.Error.Message, "cannot be retried: run not signed by the API server") {
			t.Errorf("retry of a forged run: %d %+v", code, apiErr)
		}
		noFiles(t, id)
	})

	// A run through the API is signed and completes.
	var c struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/trusted"}, &c); code != http.StatusCreated {
		t.Fatalf("create task: %d", code)
	}
	if tr := waitTask(t, p.api, c.ID); tr.Status != "completed" {
		t.Fatalf("a task started through the API: %+v", tr)
	}
	if b, err := os.ReadFile(filepath.Join(data, "workspaces", c.ID, "hello.txt")); err != nil || string(b) != "hello\n" {
		t.Fatalf("the API's task did not copy its file: %q %v", b, err)
	}
	// Its signed input, as recorded in history.
	signed := func(t *testing.T) workflows.ScaffoldInput {
		t.Helper()
		it := tc.GetWorkflowHistory(ctx, c.ID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		var in workflows.ScaffoldInput
		if err := payloadcodec.DataConverter(codec).FromPayload(ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0], &in); err != nil {
			t.Fatal(err)
		}
		if in.Run == nil {
			t.Fatal("the API started a run without a grant")
		}
		return in
	}

	// The API's run's grant, and its signed input exactly as recorded (an
	// attacker copies its bytes), before later subtests reuse its id.
	grant := signed(t).Run
	it := tc.GetWorkflowHistory(ctx, c.ID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	first, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	signedIn := converter.NewRawValue(first.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0])

	t.Run("secrets forgotten only by a signed run", func(t *testing.T) {
		st, err := sqlite.Open(ctx, filepath.Join(data, "rigger.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		// A signed run forgets its secrets when it completes.
		var s struct{ ID string }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/trusted", "secrets": map[string]string{"token": "t0ps3cret"}}, &s); code != http.StatusCreated {
			t.Fatalf("create task: %d", code)
		}
		if tr := waitTask(t, p.api, s.ID); tr.Status != "completed" {
			t.Fatalf("task with a secret: %+v", tr)
		}
		if _, err := st.GetTaskSecrets(ctx, s.ID); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("the completed task's secrets are still stored: %v", err)
		}
		// A forged run under another task's id forgets nothing.
		if err := st.PutTaskSecrets(ctx, "victim", []byte("sealed"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		run(t, workflows.ScaffoldInput{TaskID: "victim", Secrets: []string{"token"}, Plan: templates.Plan{Version: templates.PlanVersion,
			Template: templates.PlanTemplate{Ref: "template:default/trusted", Name: "trusted"}}})
		if _, err := st.GetTaskSecrets(ctx, "victim"); err != nil {
			t.Errorf("a forged run deleted another task's secrets: %v", err)
		}
	})

	t.Run("altered plan", func(t *testing.T) {
		in := signed(t)
		in.Plan.Template.BaseURL = "file:///etc/"
		in.Plan.UserRef = "user:default/admin"
		in.Plan.Steps[0].Input = map[string]any{"url": "passwd", "targetPath": "loot/passwd"}
		os.RemoveAll(filepath.Join(data, "workspaces", c.ID))
		msg := run(t, in) // the same task id: its grant's
		if !strings.Contains(msg, "run signature does not match its plan") {
			t.Errorf("altered run: %q, want a refusal saying the signature does not match its plan", msg)
		}
		noFiles(t, c.ID)
	})

	// Someone who can also run a worker in the namespace can schedule the
	// action activities from a workflow of their own: each activity checks
	// the grant itself.
	t.Run("action scheduled by another worker's workflow", func(t *testing.T) {
		const queue = "attacker"
		w := sdkworker.New(tc, queue, sdkworker.Options{})
		w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in contract.ActionInput) error {
			actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: "rigger-default", StartToCloseTimeout: 30 * time.Second,
				RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
			return workflow.ExecuteActivity(actx, contract.ActionActivity("fetch:plain:file"), in).Get(ctx, nil)
		}, workflow.RegisterOptions{Name: workflows.ScaffoldName})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		steal := map[string]any{"url": "passwd", "targetPath": "loot/passwd"}
		for _, c := range []struct {
			name, id, want string
			stolen         bool
		}{
			{"no grant", "attacker-unsigned", "run not signed by the API server", false},
			{"the API's grant of another task", "attacker-stolen", "its grant is for task " + c.ID, true},
		} {
			var grant *contract.RunGrant
			if c.stolen {
				grant = signed(t).Run
			}
			r, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: c.id, TaskQueue: queue}, workflows.ScaffoldName,
				contract.ActionInput{TaskID: c.id, StepID: "steal", Input: steal, TemplateBaseURL: "file:///etc/", UserRef: "user:default/admin", Run: grant})
			if err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			err = r.Get(wctx, nil)
			cancel()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want a refusal saying %q", c.name, err, c.want)
			}
			noFiles(t, c.id)
		}
	})

	// The grant is readable in history. Whoever can run a worker in the
	// namespace could start a workflow of their own under the task's id
	// and schedule the real worker's actions with chosen input and that
	// grant: an action runs only input a worker rendered and marked for
	// the very run that schedules it.
	defer func() { // the later subtests reuse the task's id
		t.Run("action with a stolen grant and chosen input", func(t *testing.T) {
			const queue = "attacker-actions"
			w := sdkworker.New(tc, queue, sdkworker.Options{})
			w.RegisterWorkflowWithOptions(func(ctx workflow.Context, action string, in contract.ActionInput) error {
				actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{TaskQueue: "rigger-default", StartToCloseTimeout: 30 * time.Second,
					RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
				return workflow.ExecuteActivity(actx, contract.ActionActivity(action), in).Get(ctx, nil)
			}, workflow.RegisterOptions{Name: workflows.ScaffoldName})
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			for _, a := range []struct {
				action string
				input  map[string]any
			}{
				{"catalog:fetch", map[string]any{"entityRef": "template:default/trusted"}},
				{"catalog:write", map[string]any{"filePath": "loot/catalog-info.yaml",
					"entity": map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": map[string]any{"name": "loot"}}}},
				{"fetch:plain:file", map[string]any{"url": "./hello.txt", "targetPath": "loot/hello.txt"}},
			} {
				os.RemoveAll(filepath.Join(data, "workspaces", c.ID))
				// The same workflow id as the real task, the real grant,
				// and a mark copied from nowhere.
				r, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: c.ID, TaskQueue: queue}, workflows.ScaffoldName, a.action,
					contract.ActionInput{TaskID: c.ID, StepID: "log", Input: a.input, Run: grant, Mark: "forged"})
				if err != nil {
					t.Fatal(err)
				}
				wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				err = r.Get(wctx, nil)
				cancel()
				if err == nil || !strings.Contains(err.Error(), "action "+a.action+" refused: its input was not rendered by a worker for this run") {
					t.Errorf("%s scheduled by another workflow with the task's grant: %v, want a refusal saying its input was not rendered by a worker for this run", a.action, err)
				}
				noFiles(t, c.ID)
			}
		})

		// A retry resumes from the failed run's state, which whatever
		// worker ran that run wrote: a state claiming a step completed
		// with made-up outputs must not be resumed from.
		t.Run("retry of a forged resume state", func(t *testing.T) {
			const queue = "attacker-state"
			forged := workflows.ScaffoldState{Status: "failed", Attempt: 1, TaskID: c.ID, TemplateRef: "template:default/trusted", UserRef: "user:default/guest",
				Steps: []workflows.StepState{
					{ID: "copy", Name: "Copy", Action: "fetch:plain:file", Status: workflows.StepCompleted},
					{ID: "log", Name: "Log", Action: "debug:log", Status: workflows.StepFailed, Error: "boom"},
				},
				Outputs: map[string]map[string]any{"copy": {"entityRef": "component:default/injected"}},
				Marks:   map[string]string{"copy": "forged"},
			}
			w := sdkworker.New(tc, queue, sdkworker.Options{})
			w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in converter.RawValue) (*workflows.ScaffoldState, error) {
				return nil, temporal.NewNonRetryableApplicationError("step log (debug:log) failed: boom", workflows.StepFailedType, nil, forged)
			}, workflow.RegisterOptions{Name: workflows.ScaffoldName})
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			os.RemoveAll(filepath.Join(data, "workspaces", c.ID))
			r, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: c.ID, TaskQueue: queue}, workflows.ScaffoldName, signedIn)
			if err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			err = r.Get(wctx, nil)
			cancel()
			if err == nil {
				t.Fatal("the forged run did not fail")
			}
			var apiErr struct{ Error struct{ Message string } }
			if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+c.ID+"/retry", map[string]any{}, &apiErr); code != http.StatusCreated {
				t.Fatalf("retry: %d %+v", code, apiErr)
			}
			if tr := waitTask(t, p.api, c.ID); tr.Status != "completed" {
				t.Fatalf("the retried task: %+v", tr)
			}
			// The step the forged state called completed ran again: its
			// file is back, and its made-up output is gone.
			if b, err := os.ReadFile(filepath.Join(data, "workspaces", c.ID, "hello.txt")); err != nil || string(b) != "hello\n" {
				t.Errorf("the retry resumed past a step only a forged state said completed: hello.txt %q %v", b, err)
			}
			var st workflows.ScaffoldState
			v, err := tc.QueryWorkflow(ctx, c.ID, "", workflows.ScaffoldStateQuery)
			if err != nil || v.Get(&st) != nil {
				t.Fatalf("query the retried run: %v", err)
			}
			if out := st.Outputs["copy"]; out["entityRef"] != nil {
				t.Errorf("the retried run kept the forged output of step copy: %v", out)
			}
			if st.Marks["copy"] == "" || st.Marks["copy"] == "forged" {
				t.Errorf("the retried run's step copy carries no worker mark: %q", st.Marks["copy"])
			}
		})
	}()

	// Marks cost a genuine retry nothing: it resumes after the steps that
	// were skipped, ran over no item, or ran as an action activity.
	t.Run("a retry resumes the marked steps", func(t *testing.T) {
		var r struct{ ID string }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/resumes"}, &r); code != http.StatusCreated {
			t.Fatalf("create task: %d", code)
		}
		if tr := waitTask(t, p.api, r.ID); tr.Status != "failed" {
			t.Fatalf("without later.txt: %+v", tr)
		}
		if err := os.WriteFile(filepath.Join(dir, "tpl2", "later.txt"), []byte("later\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var apiErr struct{ Error struct{ Message string } }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+r.ID+"/retry", map[string]any{}, &apiErr); code != http.StatusCreated {
			t.Fatalf("retry: %d %+v", code, apiErr)
		}
		if tr := waitTask(t, p.api, r.ID); tr.Status != "completed" {
			t.Fatalf("the retried task: %+v", tr)
		}
		if ev := eventText(t, p.api, r.ID); !strings.Contains(ev, "Retrying from step later (attempt 2)") {
			t.Errorf("the retry did not resume at the failed step:\n%s", ev)
		}
		if n := countLogs(p.stdout.String()+p.stderr.String(), map[string]any{"msg": "action executed", "task_id": r.ID, "step_id": "fetch"}); n != 1 {
			t.Errorf("catalog:fetch ran %d times over the two runs, want 1", n)
		}
	})

	t.Run("grant of another task", func(t *testing.T) {
		in := signed(t)
		in.TaskID = "stolen-grant"
		msg := run(t, in)
		if !strings.Contains(msg, "run not signed by the API server") || !strings.Contains(msg, c.ID) {
			t.Errorf("a grant reused for another task: %q, want a refusal naming the grant's task", msg)
		}
		noFiles(t, in.TaskID)
	})
}
