package tasks

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/devserver"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// testAuthorizer is an Authorizer a test sets: it refuses the actions in
// deny (with a reason) and lists scope.
type testAuthorizer struct {
	deny  map[string]bool
	scope ListScope
	// fail, when set, is every check's error: the Authorizer could not
	// decide.
	fail error
}

func (a *testAuthorizer) Template(_ context.Context, _ auth.Identity, action string, tmpl TemplateInfo) error {
	if a.fail != nil {
		return a.fail
	}
	if a.deny[action] {
		return fmt.Errorf("the test policy refuses %s on %s", action, tmpl.Ref)
	}
	return nil
}

func (a *testAuthorizer) Task(_ context.Context, _ auth.Identity, action string, t TaskInfo) error {
	if a.fail != nil {
		return a.fail
	}
	if a.deny[action] {
		return fmt.Errorf("the test policy refuses %s on %s", action, t.ID)
	}
	return nil
}

func (a *testAuthorizer) ListScope(context.Context, auth.Identity) (ListScope, error) {
	return a.scope, a.fail
}

func (a *testAuthorizer) Action(_ context.Context, _ auth.Identity, action string) error {
	if a.fail != nil {
		return a.fail
	}
	if a.deny[ActionActionExecute] {
		return fmt.Errorf("the test policy refuses %s", action)
	}
	return nil
}

func denyAll() map[string]bool {
	return map[string]bool{ActionTemplateRead: true, ActionTemplateExecute: true, ActionTaskRead: true,
		ActionTaskCancel: true, ActionTaskRetry: true, ActionTaskApprove: true}
}

// standInScaffold stands in for the workers' rigger.scaffold, which the
// service never runs (a fake at that boundary: no steps, no activities). It
// answers the state query as the real one does, fails at once when its
// first step is "fails" (with its state, as a step failure), and otherwise
// runs until it is sent the cancel signal.
func standInScaffold(ctx workflow.Context, in workflows.ScaffoldInput) (*workflows.ScaffoldState, error) {
	st := &workflows.ScaffoldState{Status: "processing", TaskID: in.TaskID, TemplateRef: in.Plan.Template.Ref,
		UserRef: in.Plan.UserRef, Attempt: 1, CreatedAt: workflow.Now(ctx)}
	if in.Resume != nil {
		st.Attempt = in.Resume.Attempt + 1
	}
	waiting := false
	for _, s := range in.Plan.Steps {
		step := workflows.StepState{ID: s.ID, Name: s.Name, Action: s.Action}
		// The first rigger:approval step waits, as the real one does.
		if s.Action == contract.ActionApproval && !waiting {
			waiting = true
			step.Status = workflows.StepProcessing
			step.Approval = &workflows.ApprovalState{RequestID: s.ID + ".0.1", AllowSelf: true}
		}
		st.Steps = append(st.Steps, step)
	}
	if err := workflow.SetQueryHandler(ctx, workflows.ScaffoldStateQuery, func() (*workflows.ScaffoldState, error) { return st, nil }); err != nil {
		return nil, err
	}
	if len(in.Plan.Steps) > 0 && in.Plan.Steps[0].ID == "fails" {
		st.Status = "failed"
		return nil, temporal.NewApplicationError("step fails failed", workflows.StepFailedType, st)
	}
	workflow.GetSignalChannel(ctx, workflows.ScaffoldCancelSignal).Receive(ctx, nil)
	st.Status = "completed"
	return st, nil
}

// startTemporal starts the embedded Temporal server on a free loopback
// port, with rigger's search attributes, and a worker running
// standInScaffold; all stopped when the test ends.
func startTemporal(t testing.TB) client.Client {
	t.Helper()
	c, _ := startTemporalWorker(t)
	return c
}

// startTemporalWorker is startTemporal, also returning its worker.
func startTemporalWorker(t testing.TB) (client.Client, sdkworker.Worker) {
	t.Helper()
	srv, err := devserver.Start(devserver.Options{DataDir: t.TempDir(), FrontendAddress: "127.0.0.1:0", Namespace: "default",
		Retention: 24 * time.Hour, SearchAttributes: searchattr.Definitions(), Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	addr := srv.FrontendAddress()
	var c client.Client
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err = client.Dial(client.Options{HostPort: addr, Namespace: "default", Logger: sdklog.NewStructuredLogger(discard())})
		if err == nil {
			if _, err = c.CheckHealth(t.Context(), &client.CheckHealthRequest{}); err == nil {
				break
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("temporal did not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(c.Close)
	w := sdkworker.New(c, contract.QueueDefault, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(standInScaffold, workflow.RegisterOptions{Name: workflows.ScaffoldName})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c, w
}

// templateEntity is a Template whose one step has id step.
func templateEntity(name, step string) store.Entity {
	body := fmt.Sprintf(`{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":%q,"namespace":"default","tags":["privileged"]},`+
		`"spec":{"type":"service","owner":"group:default/platform","steps":[{"id":%q,"action":"debug:log","input":{"message":"hi"}}]}}`, name, step)
	return store.Entity{Ref: "template:default/" + name, Body: json.RawMessage(body), Hash: name}
}

// testService is the service over the embedded Temporal server and a real
// SQLite catalog holding two templates, t (runs until cancelled) and
// fails; authz decides.
func testService(t testing.TB, authz Authorizer, dryRun DryRunFunc) *Service {
	t.Helper()
	return serviceOver(t, authz, dryRun, templateEntity("t", "log"), templateEntity("fails", "fails"))
}

// serviceOver is the service over the embedded Temporal server and a real
// SQLite catalog holding these templates; authz decides.
func serviceOver(t testing.TB, authz Authorizer, dryRun DryRunFunc, templates ...store.Entity) *Service {
	t.Helper()
	return serviceOn(t, startTemporal(t), authz, dryRun, templates...)
}

// serviceOn is serviceOver on the Temporal server c talks to.
func serviceOn(t testing.TB, c client.Client, authz Authorizer, dryRun DryRunFunc, templates ...store.Entity) *Service {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	loc, err := st.AddLocation(t.Context(), store.Location{Type: "file", Target: "/templates.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReplaceLocation(t.Context(), loc.ID, templates, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return New(Deps{
		Logger: discard(), Temporal: c, Namespace: "default",
		Entities: st, RenderEntity: func(e *store.StoredEntity) (map[string]any, error) {
			var m map[string]any
			return m, json.Unmarshal(e.Body, &m)
		},
		Actions: contract.NewRegistry(nil), Signer: runsign.NewSigner(key), DryRun: dryRun,
		WorkspaceDir: t.TempDir(), Authorizer: authz,
	})
}

// countDryRuns is a DryRunFunc that counts its runs in n and shows
// nothing.
func countDryRuns(n *int) DryRunFunc {
	return func(context.Context, templates.Plan, map[string]string, []contract.DryRunFile, permission.Subject) (*workflows.DryRunResult, error) {
		*n++
		return &workflows.DryRunResult{}, nil
	}
}

// waitStatus polls a task until it has status want.
func waitStatus(t *testing.T, s *Service, who auth.Identity, id, want string) *Task {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		task, err := s.Get(t.Context(), who, id)
		if err == nil && task.Status == want {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: %+v, %v; want status %s", id, task, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAuthorizerDecidesEveryOperation: every task and template operation
// asks the Authorizer. Refused a read, every operation on a task answers as
// for an unknown id (existence does not leak); refused a change, cancel,
// retry and approve are forbidden with the Authorizer's reason and change
// nothing; allowed, they happen. Embedded Temporal, real SQLite catalog.
func TestAuthorizerDecidesEveryOperation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	ctx := t.Context()
	authz := &testAuthorizer{scope: ListScope{All: true}}
	dryRuns := 0
	s := testService(t, authz, countDryRuns(&dryRuns))
	alice := auth.Identity{Ref: "user:default/alice"}
	running, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/t"})
	if err != nil {
		t.Fatal(err)
	}
	failed, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/fails"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, alice, running, StatusProcessing)
	waitStatus(t, s, alice, failed, StatusFailed)
	_, unknownErr := s.Get(ctx, alice, "no-such-task")

	// Refused everything.
	authz.deny, authz.scope = denyAll(), ListScope{}
	dryTemplate := []byte(templateEntity("dry", "log").Body)
	notFound := map[string]func(id string) error{
		"get":    func(id string) error { _, err := s.Get(ctx, alice, id); return err },
		"follow": func(id string) error { _, _, err := s.Follow(ctx, alice, id); return err },
		// The longest wait: refused at once (GET's not found), not
		// after waiting, and not counted against a cap.
		"wait": func(id string) error { _, err := s.GetWait(ctx, alice, id, MaxWait); return err },
		"download": func(id string) error {
			_, r, err := s.Workspace(ctx, alice, id)
			if r != nil {
				r.Close()
			}
			return err
		},
		"cancel":  func(id string) error { return s.Cancel(ctx, alice, id) },
		"retry":   func(id string) error { return s.Retry(ctx, alice, id) },
		"approve": func(id string) error { _, err := s.Decide(ctx, alice, id, "r", true, ""); return err },
	}
	for name, op := range notFound {
		for _, id := range []string{running, failed} {
			err := op(id)
			if !errors.Is(err, errs.ErrNotFound) || err.Error() != strings.Replace(unknownErr.Error(), "no-such-task", id, 1) {
				t.Errorf("%s of an unreadable task: %v; want the unknown id's %q", name, err, unknownErr)
			}
		}
	}
	if _, err := s.Template(ctx, alice, "template:default/t"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("parameter schema of an unreadable template: %v, want not found", err)
	}
	if _, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/t"}); !errors.Is(err, errs.ErrForbidden) ||
		!strings.Contains(err.Error(), "the test policy refuses scaffolder.template.execute on template:default/t") {
		t.Errorf("create from a refused template: %v, want forbidden with the reason", err)
	}
	if _, err := s.DryRun(ctx, alice, DryRunRequest{Template: dryTemplate}); !errors.Is(err, errs.ErrForbidden) || dryRuns != 0 {
		t.Errorf("dry run of a refused template: %v (ran %d), want forbidden before it runs", err, dryRuns)
	}
	if l, err := s.List(ctx, alice, ListOptions{Limit: 100}); err != nil || l.Total != 0 || len(l.Tasks) != 0 {
		t.Errorf("list with an empty scope: %+v, %v; want nothing", l, err)
	}

	// Allowed to read, refused the changes.
	authz.deny = map[string]bool{ActionTaskCancel: true, ActionTaskRetry: true, ActionTaskApprove: true}
	for name, op := range map[string]func() error{
		"cancel":  func() error { return s.Cancel(ctx, alice, running) },
		"retry":   func() error { return s.Retry(ctx, alice, failed) },
		"approve": func() error { _, err := s.Decide(ctx, alice, running, "r", true, ""); return err },
	} {
		if err := op(); !errors.Is(err, errs.ErrForbidden) || !strings.Contains(err.Error(), "the test policy refuses scaffolder.task."+name) {
			t.Errorf("%s refused by the Authorizer: %v, want forbidden with its reason", name, err)
		}
	}
	if got, err := s.Get(ctx, alice, running); err != nil || got.Status != StatusProcessing || !got.Ended.IsZero() {
		t.Fatalf("after a refused cancel the task is %+v, %v; want it still running, without an end", got, err)
	}
	if got, err := s.Get(ctx, alice, failed); err != nil || got.State.Attempt != 1 || got.Ended.IsZero() || got.Ended.Before(got.Created) {
		t.Fatalf("after a refused retry the task is %+v, %v; want its first attempt, ended after it was created", got, err)
	}

	// Allowed: they happen.
	authz.deny = nil
	if _, err := s.Decide(ctx, alice, running, "r", true, ""); !errors.Is(err, errs.ErrConflict) || !strings.Contains(err.Error(), "is not waiting for an approval") {
		t.Errorf("approving a task with no approval step: %v, want a conflict saying so", err)
	}
	if err := s.Cancel(ctx, alice, running); err != nil {
		t.Fatalf("allowed cancel: %v", err)
	}
	waitStatus(t, s, alice, running, StatusCompleted)
	if err := s.Retry(ctx, alice, failed); err != nil {
		t.Fatalf("allowed retry: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := s.Get(ctx, alice, failed)
		if err == nil && got.State.Attempt == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retried task is %+v, %v; want its second attempt", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := s.DryRun(ctx, alice, DryRunRequest{Template: dryTemplate}); err != nil || dryRuns != 1 {
		t.Errorf("allowed dry run: %v (ran %d)", err, dryRuns)
	}
	// A dry run asks about every action of its plan, like a run does.
	authz.deny = map[string]bool{ActionActionExecute: true}
	if _, err := s.DryRun(ctx, alice, DryRunRequest{Template: dryTemplate}); !errors.Is(err, errs.ErrForbidden) || dryRuns != 1 {
		t.Errorf("dry run with an action refused: %v (ran %d)", err, dryRuns)
	}
}

// TestListScopeThroughVisibility: the ListScope the Authorizer gives is
// what Temporal's visibility lists and counts, by user or by template, and
// a hostile ref in it lists nothing rather than more.
func TestListScopeThroughVisibility(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	ctx := t.Context()
	authz := &testAuthorizer{scope: ListScope{All: true}}
	s := testService(t, authz, nil)
	alice, bob := auth.Identity{Ref: "user:default/alice"}, auth.Identity{Ref: "user:default/bob"}
	ids := map[string]string{}
	for name, c := range map[string]struct {
		who auth.Identity
		tpl string
	}{"alice-t": {alice, "t"}, "bob-t": {bob, "t"}, "bob-fails": {bob, "fails"}} {
		id, _, err := s.Create(ctx, c.who, CreateRequest{TemplateRef: "template:default/" + c.tpl})
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = name
	}
	list := func(scope ListScope, o ListOptions) []string {
		t.Helper()
		authz.scope = scope
		o.Limit = 100
		l, err := s.List(ctx, alice, o)
		if err != nil {
			t.Fatalf("list %+v: %v", scope, err)
		}
		var names []string
		for _, task := range l.Tasks {
			names = append(names, ids[task.ID])
		}
		if l.Total != len(l.Tasks) {
			t.Errorf("list %+v: total %d for %d tasks", scope, l.Total, len(l.Tasks))
		}
		return names
	}
	// Visibility catches up with the starts: every task is listed.
	deadline := time.Now().Add(30 * time.Second)
	for len(list(ListScope{All: true}, ListOptions{})) != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("visibility lists %v, want the 3 tasks", list(ListScope{All: true}, ListOptions{}))
		}
		time.Sleep(100 * time.Millisecond)
	}
	cases := []struct {
		name  string
		scope ListScope
		o     ListOptions
		want  string
	}{
		{"bob's", ListScope{Users: []string{"user:default/bob"}}, ListOptions{Order: "template"}, "bob-fails,bob-t"},
		{"alice's", ListScope{Users: []string{"user:default/alice"}}, ListOptions{}, "alice-t"},
		{"from fails", ListScope{Templates: []string{"template:default/fails"}}, ListOptions{}, "bob-fails"},
		{"alice's or from fails", ListScope{Users: []string{"user:default/alice"}, Templates: []string{"template:default/fails"}}, ListOptions{Order: "created_by"}, "alice-t,bob-fails"},
		{"alice's, created by bob", ListScope{Users: []string{"user:default/alice"}}, ListOptions{CreatedBy: []string{"user:default/bob"}}, ""},
		{"hostile user", ListScope{Users: []string{`x' OR RiggerUser != 'y`}}, ListOptions{}, ""},
		{"hostile user with backslashes", ListScope{Users: []string{`x\' OR RiggerUser != \'y`}}, ListOptions{}, ""},
		{"hostile template", ListScope{Templates: []string{`t') OR (WorkflowType = 'rigger.scaffold`}}, ListOptions{}, ""},
		{"nothing", ListScope{}, ListOptions{}, ""},
		{"of template fails", ListScope{All: true}, ListOptions{Template: []string{"template:default/fails"}}, "bob-fails"},
		{"of templates t and x", ListScope{All: true}, ListOptions{Template: []string{"template:default/x", "template:default/t"}, Order: "created_by"}, "alice-t,bob-t"},
		{"alice's of template fails", ListScope{Users: []string{"user:default/alice"}}, ListOptions{Template: []string{"template:default/fails"}}, ""},
	}
	for _, c := range cases {
		if got := strings.Join(list(c.scope, c.o), ","); got != c.want {
			t.Errorf("%s: lists %q, want %q", c.name, got, c.want)
		}
	}
	// A run that ended has its end time (the failed one); running ones none.
	l, err := s.List(ctx, alice, ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range l.Tasks {
		if ended := !task.Ended.IsZero(); ended != (ids[task.ID] == "bob-fails") || (ended && task.Ended.Before(task.Created)) {
			t.Errorf("%s: ended %v (created %v)", ids[task.ID], task.Ended, task.Created)
		}
	}
}

// discard drops what it is given.
func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestGetWithNoWorker: with every worker stopped (a deploy between one
// build and the next), reading a running task neither hangs nor fails: it
// answers within the state query's bound with the task's plan (its steps
// open, who ran which template, when) and says no worker answered. Once a
// worker is back, the live state returns.
func TestGetWithNoWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	c, w := startTemporalWorker(t)
	s := serviceOn(t, c, &testAuthorizer{scope: ListScope{All: true}}, nil, templateEntity("t", "log"))
	alice := auth.Identity{Ref: "user:default/alice"}
	id, _, err := s.Create(t.Context(), alice, CreateRequest{TemplateRef: "template:default/t"})
	if err != nil {
		t.Fatal(err)
	}
	live := waitStatus(t, s, alice, id, StatusProcessing)
	if live.WorkerUnavailable {
		t.Fatal("a task a worker answers for says no worker answered")
	}
	w.Stop()
	// A replica that never read the task (nothing cached) asks the
	// workflow, and nobody answers. (The start event's time stands in for
	// the workflow's own clock at its first task: they differ by its
	// scheduling.)
	other := serviceOn(t, c, &testAuthorizer{scope: ListScope{All: true}}, nil, templateEntity("t", "log"))
	start := time.Now()
	got, err := other.Get(t.Context(), alice, id)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("reading a running task with no worker: %v (after %s)", err, took)
	}
	if took > stateQueryTimeout+5*time.Second {
		t.Errorf("the read took %s, more than the state query's bound %s", took, stateQueryTimeout)
	}
	if !got.WorkerUnavailable || got.Status != StatusProcessing || got.State == nil {
		t.Fatalf("with no worker: %+v, want processing, its plan, WorkerUnavailable", got)
	}
	st := got.State
	if len(st.Steps) != 1 || st.Steps[0].ID != "log" || st.Steps[0].Status != "open" || st.TemplateRef != "template:default/t" ||
		st.UserRef != alice.Ref || got.User != alice.Ref || got.Created.Sub(live.Created).Abs() > time.Second {
		t.Errorf("the plan read with no worker: %+v (task %+v); want step log open, alice, template t, created %s", st, got, live.Created)
	}

	// A wait's callback arriving now cannot know whether its wait is
	// open: 503 (send again), not 409 (give up).
	marker, err := runsign.NewMarker([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	other.d.Marker = marker
	token := marker.EncodeCallback(runsign.Callback{TaskID: id, RequestID: "r1", Expires: time.Now().Add(time.Hour).Unix()})
	if _, err := other.Callback(t.Context(), token, map[string]any{"ok": true}); !errors.Is(err, errs.ErrUnavailable) {
		t.Errorf("a callback while no worker answers: %v, want unavailable (try again)", err)
	}

	w2 := sdkworker.New(c, contract.QueueDefault, sdkworker.Options{})
	w2.RegisterWorkflowWithOptions(standInScaffold, workflow.RegisterOptions{Name: workflows.ScaffoldName})
	if err := w2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w2.Stop)
	back, err := other.Get(t.Context(), alice, id)
	if err != nil || back.WorkerUnavailable || back.State.Steps[0].Status == "open" {
		t.Fatalf("with a worker back: %+v, %v; want the live state", back, err)
	}
}

// TestRetryRefusesDisabledAction: an action switched off after a task
// failed (scaffolder.disabledActions, applied live by a reload) is not
// run again through a retry; switched back on, the retry runs.
func TestRetryRefusesDisabledAction(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	s := testService(t, &testAuthorizer{scope: ListScope{All: true}}, nil)
	alice := auth.Identity{Ref: "user:default/alice"}
	id, _, err := s.Create(t.Context(), alice, CreateRequest{TemplateRef: "template:default/fails"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, alice, id, StatusFailed)
	s.d.Actions.SetDisabled([]string{"debug:log"})
	if err := s.Retry(t.Context(), alice, id); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "uses debug:log, which scaffolder.disabledActions turned off") {
		t.Fatalf("retry with its action disabled: %v, want refused naming the action", err)
	}
	if task, err := s.Get(t.Context(), alice, id); err != nil || task.State.Attempt != 1 {
		t.Fatalf("after the refused retry: %+v, %v; want the first attempt", task, err)
	}
	s.d.Actions.SetDisabled(nil)
	if err := s.Retry(t.Context(), alice, id); err != nil {
		t.Fatalf("retry with the action back on: %v", err)
	}
}
