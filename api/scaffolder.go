package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// ScaffolderDeps configure the scaffolder API; templates come from the
// catalog (kind Template entities).
type ScaffolderDeps struct {
	Actions *contract.Registry
	// Secrets stores the secrets given with a task, sealed, outside
	// workflow history; nil makes the API refuse tasks with secrets.
	Secrets SecretKeeper
	// DryRun runs a template without side effects (POST /v2/dry-run); nil
	// disables the endpoint.
	DryRun DryRunFunc
	// Signer signs what the server decides about each run (user,
	// permissions, template base, the input's hash): workers refuse runs it
	// did not sign. Nil refuses to start tasks (scaffolder.runSigningKey).
	Signer *runsign.Signer
	// Marker checks the workers' marks of a failed run's step outcomes: a
	// retry resumes only the steps whose mark verifies (nil: none, the
	// retry runs every step again).
	Marker *runsign.Marker
	// WorkspaceDir holds task workspaces when this process can see them
	// (scaffolder.workspaceRoot); WorkspaceTTL is how long they are kept.
	WorkspaceDir string
	WorkspaceTTL time.Duration
}

// SecretKeeper stores a task's secrets (internal/secretbox implements it).
type SecretKeeper interface {
	Put(ctx context.Context, taskID string, secrets map[string]string) error
}

// DryRunFunc runs plan in dry-run mode (worker.DryRunner.DryRun); files
// are the template's own files. An error wrapping errs.ErrUnavailable means
// it is busy.
type DryRunFunc func(ctx context.Context, plan templates.Plan, secrets map[string]string, files []contract.DryRunFile, who permission.Subject) (*workflows.DryRunResult, error)

func (s *Server) scaffolderRoutes(g *gin.RouterGroup) {
	g.GET("/v2/actions", s.listActions)
	g.GET("/v2/templates/:namespace/:kind/:name/parameter-schema", s.parameterSchema)
	g.POST("/v2/tasks", s.createTask)
	g.GET("/v2/tasks", s.listTasks)
	g.GET("/v2/tasks/:id", s.getTask)
	g.GET("/v2/tasks/:id/events", s.taskEvents)
	g.GET("/v2/tasks/:id/eventstream", s.taskEventStream)
	g.POST("/v2/tasks/:id/cancel", s.cancelTask)
	g.POST("/v2/tasks/:id/retry", s.retryTask)
	g.POST("/v2/dry-run", s.dryRun)
	g.GET("/v2/tasks/:id/workspace", s.taskWorkspace)
}

// listActions lists the registered actions in Backstage's shape: id,
// description, schema {input, output} and examples.
func (s *Server) listActions(c *gin.Context) {
	out := []gin.H{}
	for _, n := range s.deps.Scaffolder.Actions.Names() {
		a := gin.H{"id": n, "description": "", "schema": gin.H{"input": gin.H{"type": "object"}, "output": gin.H{"type": "object"}}}
		if doc, ok := contract.ActionDocs(n); ok {
			a["description"] = doc.Description
			a["schema"] = gin.H{"input": doc.Input, "output": doc.Output}
			if len(doc.Examples) > 0 {
				a["examples"] = doc.Examples
			}
		}
		out = append(out, a)
	}
	c.JSON(http.StatusOK, out)
}

// loadTemplate reads a Template entity from the catalog and parses it.
func (s *Server) loadTemplate(c *gin.Context, ref string) (*templates.Template, catalog.Ref, error) {
	t, r, _, err := s.loadTemplateWithBase(c, ref)
	return t, r, err
}

// loadTemplateWithBase also returns where the template was read from (its
// managed-by-location annotation as a URL), for relative skeleton urls.
func (s *Server) loadTemplateWithBase(c *gin.Context, ref string) (*templates.Template, catalog.Ref, string, error) {
	r, err := catalog.ParseRef(ref, "template", catalog.DefaultNamespace)
	if err != nil {
		return nil, catalog.Ref{}, "", errs.Invalid("templateRef: %v", err)
	}
	if !strings.EqualFold(r.Kind, "template") {
		return nil, r, "", errs.Invalid("templateRef %q does not name a Template", ref)
	}
	e, err := s.deps.Catalog.Store.EntityByRef(c.Request.Context(), r.Key())
	if err != nil {
		return nil, r, "", err
	}
	t, err := templates.Parse(r.String(), e.Body)
	if err != nil {
		return nil, r, "", errs.Invalid("template %s: %v", r, err)
	}
	return t, r, templateBase(t), nil
}

// templateBase is where a template's relative urls resolve: the location
// it was read from (file or http(s)).
func templateBase(t *templates.Template) string {
	loc := t.Metadata.Annotations["backstage.io/managed-by-location"]
	switch {
	case strings.HasPrefix(loc, "file:"):
		return "file://" + strings.TrimPrefix(loc, "file:")
	case strings.HasPrefix(loc, "url:"):
		return strings.TrimPrefix(loc, "url:")
	case strings.HasPrefix(loc, "git:"):
		return loc // git:<repo>#<path>: the fetch actions clone the repository
	}
	return ""
}

func (s *Server) parameterSchema(c *gin.Context) {
	t, _, err := s.loadTemplate(c, c.Param("kind")+":"+c.Param("namespace")+"/"+c.Param("name"))
	if err != nil {
		writeError(c, err)
		return
	}
	steps := []gin.H{}
	for _, p := range t.Spec.Parameters {
		title, _ := p["title"].(string)
		desc, _ := p["description"].(string)
		steps = append(steps, gin.H{"title": title, "description": desc, "schema": p})
	}
	c.JSON(http.StatusOK, gin.H{"title": t.Metadata.Title, "description": t.Metadata.Description, "steps": steps})
}

func identity(c *gin.Context) auth.Identity {
	id, _ := c.Get(identityKey)
	v, _ := id.(auth.Identity)
	return v
}

func (s *Server) createTask(c *gin.Context) {
	var req struct {
		TemplateRef string            `json:"templateRef"`
		Values      map[string]any    `json:"values"`
		Secrets     map[string]string `json:"secrets"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.TemplateRef == "" {
		writeError(c, errs.Invalid("body must be {\"templateRef\": \"template:default/name\", \"values\": {...}, \"secrets\": {...}}"))
		return
	}
	if s.deps.Scaffolder.Signer == nil {
		writeError(c, errNoSigningKey)
		return
	}
	t, ref, base, err := s.loadTemplateWithBase(c, req.TemplateRef)
	if err != nil {
		writeError(c, err)
		return
	}
	who := identity(c)
	user := who.Ref
	userEntity, err := s.userEntity(c, user)
	if err != nil {
		writeError(c, err)
		return
	}
	plan, err := templates.Compile(t, req.Values, s.deps.Scaffolder.Actions, templates.CompileOptions{UserRef: user, UserEntity: userEntity, BaseURL: base})
	if err != nil {
		writeError(c, errs.Invalid("%v", err))
		return
	}
	plan.Template.Ref = ref.String()
	id := uuid.NewString()
	names, err := s.keepSecrets(c, id, req.Secrets)
	if err != nil {
		writeError(c, err)
		return
	}
	in := workflows.ScaffoldInput{TaskID: id, Plan: *plan, Secrets: names}
	if len(names) > 0 {
		in.SecretNonce = secretbox.NewNonce()
	}
	if err := s.sign(&in, runsign.Claims{UserRef: user, Service: who.Service, Scopes: who.Scopes, Attempt: 1}); err != nil {
		writeError(c, err)
		return
	}
	if err := s.startTask(c, client.StartWorkflowOptions{ID: id}, in, user); err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "scaffolder.task.create", "task:"+id, map[string]string{"template": ref.String()})
	c.JSON(http.StatusCreated, gin.H{"id": id})
}

// errNoSigningKey: a server that cannot sign runs starts none (workers
// would refuse them).
var errNoSigningKey = fmt.Errorf("%w: this server cannot start scaffolder runs: set scaffolder.runSigningKey", errs.ErrUnavailable)

// sign signs in for the workers: c names the user, their permissions and
// the attempt; the task, template, base and input hash come from in.
func (s *Server) sign(in *workflows.ScaffoldInput, c runsign.Claims) error {
	c.TaskID, c.TemplateRef, c.BaseURL, c.DryRun = in.TaskID, in.Plan.Template.Ref, in.Plan.Template.BaseURL, in.DryRun
	in.Run = nil
	c.InputHash = in.InputHash()
	claims, sig, err := s.deps.Scaffolder.Signer.Sign(c)
	if err != nil {
		return err
	}
	in.Run = &contract.RunGrant{Claims: claims, Signature: sig}
	return nil
}

// userEntity is the caller's catalog entity (user.entity in expressions),
// or nil when the catalog has none.
func (s *Server) userEntity(c *gin.Context, ref string) (map[string]any, error) {
	if ref == "" {
		return nil, nil
	}
	e, err := s.deps.Catalog.Store.EntityByRef(c.Request.Context(), ref)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return render(e)
}

// keepSecrets stores a task's secrets before it starts and returns their
// names (the only part the workflow sees).
func (s *Server) keepSecrets(c *gin.Context, id string, secrets map[string]string) ([]string, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	if s.deps.Scaffolder.Secrets == nil {
		return nil, errs.Invalid("this server cannot accept secrets: set scaffolder.secretKey")
	}
	if err := s.deps.Scaffolder.Secrets.Put(c.Request.Context(), id, secrets); err != nil {
		if strings.HasPrefix(err.Error(), "secrets") {
			return nil, errs.Invalid("%v", err)
		}
		s.deps.Logger.Error("store task secrets", "task", id, "error", err)
		return nil, fmt.Errorf("store secrets: %w", errs.ErrUnavailable)
	}
	names := make([]string, 0, len(secrets))
	for k := range secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}

// startTask starts (or, for a retry, starts again) a task's workflow with
// its search attributes; eager start hands the first workflow task to a
// worker in this process when there is one.
func (s *Server) startTask(c *gin.Context, opts client.StartWorkflowOptions, in workflows.ScaffoldInput, user string) error {
	tplKey, userKey, _ := searchattr.Keys()
	opts.TaskQueue = contract.QueueDefault
	opts.TypedSearchAttributes = temporal.NewSearchAttributes(
		tplKey.ValueSet(in.Plan.Template.Ref), userKey.ValueSet(user))
	opts.EnableEagerStart = true
	if _, err := s.deps.Temporal.ExecuteWorkflow(c.Request.Context(), opts, workflows.ScaffoldName, in); err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return errs.Conflict("task %s is already running", in.TaskID)
		}
		s.deps.Logger.Error("start scaffolder task", "error", err)
		return fmt.Errorf("start task: %w", errs.ErrUnavailable)
	}
	return nil
}

// task is what the API knows of one task.
type task struct {
	ID, RunID, Status string
	Created           time.Time // the task's: its first run's start
	runStarted        time.Time // this run's start (listing: the newest run wins)
	TemplateRef, User string
	State             *workflows.ScaffoldState
}

// taskStatus maps a workflow status to Backstage's task status.
func taskStatus(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "cancelled"
	}
	return "processing"
}

func searchString(sa *commonpb.SearchAttributes, key string) string {
	p := sa.GetIndexedFields()[key]
	if p == nil {
		return ""
	}
	var v string
	_ = converter.GetDefaultDataConverter().FromPayload(p, &v)
	return v
}

// loadTask reads a task with as few round trips as possible: the newest
// event of its latest run (one RPC; a finished run's close event carries
// its whole state), and only for a running task the state query.
// Terminated or timed-out runs, which carry no state, are queried (the
// worker replays them).
func (s *Server) loadTask(c *gin.Context, id string) (*task, error) {
	return s.loadTaskCtx(c.Request.Context(), id)
}

// loadTaskCtx is loadTask outside a request (the event-stream watches).
func (s *Server) loadTaskCtx(ctx context.Context, id string) (*task, error) {
	if id == "" || len(id) > 255 {
		return nil, errs.NotFound("no task with id %q", id)
	}
	t := &task{ID: id}
	// The newest event of the latest run: its close event once it ended.
	// (A close-event-only history read would block until the run ends.)
	resp, err := s.deps.Temporal.WorkflowService().GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
		Namespace: s.deps.Namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: id}, MaximumPageSize: 1,
	})
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, errs.NotFound("no task with id %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read task: %w", err)
	}
	var closeEv *historypb.HistoryEvent
	if evs := resp.GetHistory().GetEvents(); len(evs) > 0 {
		closeEv = evs[0]
	}
	lastEvent := closeEv.GetEventId()
	var st workflows.ScaffoldState
	decode := func(p *commonpb.Payloads) bool {
		return len(p.GetPayloads()) > 0 && converter.GetDefaultDataConverter().FromPayload(p.GetPayloads()[0], &st) == nil && st.TaskID == id
	}
	t.Status = "processing"
	switch {
	case closeEv.GetWorkflowExecutionCompletedEventAttributes() != nil:
		t.Status = "completed"
		if !decode(closeEv.GetWorkflowExecutionCompletedEventAttributes().GetResult()) {
			st = workflows.ScaffoldState{} // an older run's result: query it
		}
	case closeEv.GetWorkflowExecutionFailedEventAttributes() != nil:
		t.Status = "failed"
		if app := closeEv.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetApplicationFailureInfo(); app != nil && decode(app.GetDetails()) {
			break
		}
		st = workflows.ScaffoldState{}
	case closeEv.GetWorkflowExecutionCanceledEventAttributes() != nil:
		t.Status = "cancelled"
		if !decode(closeEv.GetWorkflowExecutionCanceledEventAttributes().GetDetails()) {
			st = workflows.ScaffoldState{}
		}
	case closeEv.GetWorkflowExecutionTerminatedEventAttributes() != nil:
		t.Status = "cancelled"
	case closeEv.GetWorkflowExecutionTimedOutEventAttributes() != nil:
		t.Status = "failed"
	case closeEv.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil: // not something a task does
		return nil, errs.NotFound("no task with id %q", id)
	}
	if st.TaskID == "" && t.Status == "processing" {
		// A running workflow's state only changes when its history grows:
		// polling clients of a waiting task cost no query.
		if cached, ok := s.states.get(id, lastEvent); ok {
			st = cached
		}
	}
	if st.TaskID == "" {
		st = workflows.ScaffoldState{}
		v, err := s.deps.Temporal.QueryWorkflow(ctx, id, "", workflows.ScaffoldStateQuery)
		var nf *serviceerror.NotFound
		var qf *serviceerror.QueryFailed
		if errors.As(err, &nf) || errors.As(err, &qf) {
			return nil, errs.NotFound("no task with id %q", id)
		}
		if err != nil {
			return nil, fmt.Errorf("query task: %w", err)
		}
		if err := v.Get(&st); err != nil || (st.TaskID != "" && st.TaskID != id) {
			return nil, errs.NotFound("no task with id %q", id)
		}
		if t.Status == "processing" {
			s.states.put(id, lastEvent, st)
		}
	}
	t.State = &st
	t.Created, t.TemplateRef, t.User = st.CreatedAt, st.TemplateRef, st.UserRef
	return t, nil
}

// taskJSON is Backstage's task shape, plus the live steps and a link to
// the run in the Temporal UI.
func (s *Server) taskJSON(t *task) gin.H {
	out := gin.H{
		"id": t.ID, "status": t.Status, "createdAt": t.Created, "createdBy": t.User,
		"spec": gin.H{
			"apiVersion":   templates.APIVersion,
			"templateInfo": gin.H{"entityRef": t.TemplateRef},
			"user":         gin.H{"ref": t.User},
		},
		"temporalUrl": s.workflowURL(t.ID, t.RunID),
	}
	if st := t.State; st != nil {
		out["steps"] = st.Steps
		out["output"] = st.Output
		out["attempt"] = st.Attempt
		steps := make([]gin.H, len(st.Steps))
		for i, step := range st.Steps {
			steps[i] = gin.H{"id": step.ID, "name": step.Name, "action": step.Action}
		}
		out["spec"].(gin.H)["steps"] = steps
	}
	return out
}

// mayRead says whether the caller may see a task: its creator, or a
// service token with the scaffolder.admin scope (or "*"). Tasks hold their
// parameter values: until policies are configurable, they are private.
func mayRead(c *gin.Context, user string) bool {
	id := identity(c)
	return (id.Ref != "" && id.Ref == user) || isTaskAdmin(id)
}

func isTaskAdmin(id auth.Identity) bool {
	return id.Service && hasScope(id.Scopes, "scaffolder.admin")
}

// loadVisibleTask is loadTask for the caller: a task the caller may not
// read is not found (404, as for an unknown id: existence does not leak).
func (s *Server) loadVisibleTask(c *gin.Context, id string) (*task, error) {
	t, err := s.loadTask(c, id)
	if err != nil {
		return nil, err
	}
	if !mayRead(c, t.User) {
		return nil, errs.NotFound("no task with id %q", id)
	}
	return t, nil
}

func (s *Server) getTask(c *gin.Context) {
	t, err := s.loadVisibleTask(c, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, s.taskJSON(t))
}

// eventsJSON turns a run's log into Backstage task events after id after.
func eventsJSON(t *task, after int) []gin.H {
	out := []gin.H{}
	for _, e := range t.State.Log {
		if e.Seq <= after {
			continue
		}
		body := gin.H{"message": e.Text}
		if e.StepID != "" {
			body["stepId"] = e.StepID
		}
		if e.Type == "completion" {
			body["status"] = t.Status
			if t.Status == "completed" {
				body["output"] = t.State.Output
			}
		}
		out = append(out, gin.H{"id": e.Seq, "taskId": t.ID, "type": e.Type, "createdAt": e.Time, "body": body})
	}
	return out
}

func (s *Server) taskEvents(c *gin.Context) {
	t, err := s.loadVisibleTask(c, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	after, err := afterParam(c)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, eventsJSON(t, after))
}

// afterParam reads ?after=<event id> (0 when absent).
func afterParam(c *gin.Context) (int, error) {
	v := c.Query("after")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errs.Invalid("after must be an event id")
	}
	return n, nil
}

// mayChange says whether the caller may cancel or retry t: its creator, or
// a service token with the scaffolder.admin scope.
func mayChange(c *gin.Context, t *task) error {
	if id := identity(c); id.Ref == t.User || isTaskAdmin(id) {
		return nil
	}
	return fmt.Errorf("%w: only %s (or a token with the scaffolder.admin scope) may change task %s", errs.ErrForbidden, t.User, t.ID)
}

// taskToChange loads the task in the path for a change: the caller must be
// allowed to change it, and it must be in status want (the error says
// what else it needs otherwise).
func (s *Server) taskToChange(c *gin.Context, want, why string) (*task, bool) {
	t, err := s.loadVisibleTask(c, c.Param("id"))
	if err == nil {
		err = mayChange(c, t)
	}
	if err == nil && (t.Status != want || t.State == nil) {
		err = errs.Conflict("task %s is %s; %s", t.ID, t.Status, why)
	}
	if err != nil {
		writeError(c, err)
		return nil, false
	}
	return t, true
}

func (s *Server) cancelTask(c *gin.Context) {
	t, ok := s.taskToChange(c, "processing", "only a running task can be cancelled")
	if !ok {
		return
	}
	id := t.ID
	err := s.deps.Temporal.SignalWorkflow(c.Request.Context(), id, "", workflows.ScaffoldCancelSignal, nil)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		writeError(c, errs.NotFound("no running task with id %q", id))
		return
	}
	if err != nil {
		writeError(c, fmt.Errorf("cancel task: %w", errs.ErrUnavailable))
		return
	}
	s.audit(c, "scaffolder.task.cancel", "task:"+id, nil)
	c.JSON(http.StatusOK, gin.H{"status": "cancelled"})
}

// retryTask starts a failed task again under the same id, from the step
// that failed: the steps before it keep their outputs and do not run again.
func (s *Server) retryTask(c *gin.Context) {
	t, ok := s.taskToChange(c, "failed", "only a failed task can be retried")
	if !ok {
		return
	}
	if s.deps.Scaffolder.Signer == nil {
		writeError(c, errNoSigningKey)
		return
	}
	in, err := s.taskInput(c, t)
	if err != nil {
		writeError(c, err)
		return
	}
	// Only a run this server signed is run again, for the same user with
	// the same permissions: retrying a forged run must not sign it.
	prev, err := s.signedClaims(in)
	if err != nil {
		writeError(c, errs.Invalid("task %s cannot be retried: %v", t.ID, err))
		return
	}
	// The task's owner is the one its signed input names; the state came
	// from whatever worker ran the run and may say anything.
	t.User = prev.UserRef
	if err := mayChange(c, t); err != nil {
		writeError(c, err)
		return
	}
	// So may its outputs: only outcomes a worker marked are resumed.
	in.Resume = s.verifiedResume(in, t.State, prev.Attempt)
	prev.Attempt++
	if err := s.sign(&in, runsign.Claims{UserRef: prev.UserRef, Service: prev.Service, Scopes: prev.Scopes, Attempt: prev.Attempt}); err != nil {
		writeError(c, err)
		return
	}
	err = s.startTask(c, client.StartWorkflowOptions{
		ID: t.ID, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
	}, in, prev.UserRef)
	if err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "scaffolder.task.retry", "task:"+t.ID, nil)
	c.JSON(http.StatusCreated, gin.H{"id": t.ID})
}

// verifiedResume is the part of a failed run's state a retry may resume:
// the steps of the signed plan, in order, up to the first whose outcome
// (completed with its output, or skipped) carries no valid worker mark; a
// debug:wait step (a timer of the workflow's own, with no output) needs
// none. What follows is run again; the log is kept for reading only.
func (s *Server) verifiedResume(in workflows.ScaffoldInput, st *workflows.ScaffoldState, attempt int) *workflows.ScaffoldState {
	out := &workflows.ScaffoldState{Status: "failed", Attempt: attempt, TaskID: in.TaskID,
		TemplateRef: in.Plan.Template.Ref, UserRef: in.Plan.UserRef, Outputs: map[string]map[string]any{}}
	if st == nil {
		return out
	}
	out.CreatedAt, out.Log = st.CreatedAt, st.Log
	m := s.deps.Scaffolder.Marker
	for i, step := range in.Plan.Steps {
		if i >= len(st.Steps) || st.Steps[i].ID != step.ID {
			break
		}
		prev := st.Steps[i]
		output := st.Outputs[step.ID]
		switch {
		case prev.Status == workflows.StepCompleted && step.Action == contract.ActionWait && len(output) == 0:
		case prev.Status != workflows.StepCompleted && prev.Status != workflows.StepSkipped:
			return out
		case m == nil:
			return out
		case prev.Status == workflows.StepSkipped && len(output) == 0 &&
			m.CheckStep(in.TaskID, step.ID, workflows.StepSkipped, nil, st.Marks[step.ID]) == nil:
		case prev.Status == workflows.StepCompleted &&
			m.CheckStep(in.TaskID, step.ID, workflows.StepCompleted, output, st.Marks[step.ID]) == nil:
		default:
			s.deps.Logger.Warn("a failed run's step outcome carries no valid worker mark: the retry runs it again", "task", in.TaskID, "step", step.ID)
			return out
		}
		out.Steps = append(out.Steps, prev)
		if prev.Status == workflows.StepCompleted {
			out.Outputs[step.ID] = output
			if mk := st.Marks[step.ID]; mk != "" {
				if out.Marks == nil {
					out.Marks = map[string]string{}
				}
				out.Marks[step.ID] = mk
			}
		} else if mk := st.Marks[step.ID]; mk != "" {
			if out.Marks == nil {
				out.Marks = map[string]string{}
			}
			out.Marks[step.ID] = mk
		}
	}
	return out
}

// signedClaims checks that in carries this server's signature over it and
// returns what it signed.
func (s *Server) signedClaims(in workflows.ScaffoldInput) (runsign.Claims, error) {
	if in.Run == nil {
		return runsign.Claims{}, runsign.ErrUnsigned
	}
	c, err := runsign.NewVerifier(s.deps.Scaffolder.Signer.PublicKey()).Verify(in.Run.Claims, in.Run.Signature)
	if err != nil {
		return runsign.Claims{}, err
	}
	if c.TaskID != in.TaskID || c.InputHash != in.InputHash() {
		return runsign.Claims{}, errors.New("run signature does not match its plan")
	}
	return c, nil
}

// taskInput reads the input a task's run was started with (the first
// event of its history).
func (s *Server) taskInput(c *gin.Context, t *task) (workflows.ScaffoldInput, error) {
	var in workflows.ScaffoldInput
	it := s.deps.Temporal.GetWorkflowHistory(c.Request.Context(), t.ID, t.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, fmt.Errorf("task %s has no history", t.ID)
	}
	ev, err := it.Next()
	if err != nil {
		return in, fmt.Errorf("read task history: %w", err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || len(attrs.GetInput().GetPayloads()) == 0 {
		return in, fmt.Errorf("task %s: first event is not its start", t.ID)
	}
	if err := converter.GetDefaultDataConverter().FromPayload(attrs.GetInput().GetPayloads()[0], &in); err != nil {
		return in, fmt.Errorf("task %s: read its input: %w", t.ID, err)
	}
	return in, nil
}

// taskSortFields are the sort keys GET /v2/tasks accepts.
var taskSortFields = map[string]bool{"created_at": true, "createdAt": true, "status": true, "created_by": true, "createdBy": true, "template": true}

// listTasks serves GET /v2/tasks?createdBy=&status=&limit=&offset=&order=
// from Temporal's visibility (search attributes), without touching any
// workflow.
func (s *Server) listTasks(c *gin.Context) {
	ctx := c.Request.Context()
	tplKey, userKey, _ := searchattr.Keys()
	q := []string{fmt.Sprintf("WorkflowType = %s", quoteVisibility(workflows.ScaffoldName))}
	if id := identity(c); !isTaskAdmin(id) {
		// Only the caller's own tasks, filtered by visibility itself so
		// that counts and pages say nothing of anyone else's.
		q = append(q, fmt.Sprintf("%s = %s", userKey.GetName(), quoteVisibility(id.Ref)))
	}
	var users []string
	for _, u := range c.QueryArray("createdBy") {
		users = append(users, fmt.Sprintf("%s = %s", userKey.GetName(), quoteVisibility(u)))
	}
	if len(users) > 0 {
		q = append(q, "("+strings.Join(users, " OR ")+")")
	}
	// Statuses are matched against each task's newest run (a retried task
	// has a failed run behind it): visibility finds the candidates, then
	// every run of those tasks decides.
	statuses := map[string]bool{}
	var statusClauses []string
	for _, st := range c.QueryArray("status") {
		if st == "open" {
			st = "processing"
		}
		clauses, ok := statusQuery[st]
		if !ok {
			writeError(c, errs.Invalid("status %q is not one of processing, completed, failed, cancelled", st))
			return
		}
		if !statuses[st] {
			statuses[st] = true
			statusClauses = append(statusClauses, clauses...)
		}
	}
	limit, offset, err := pageParams(c, 100, 1000)
	if err != nil {
		writeError(c, err)
		return
	}
	desc, field := true, "created_at"
	if o := c.Query("order"); o != "" {
		dir, f, ok := strings.Cut(o, ":")
		if !ok || (dir != "asc" && dir != "desc") || !taskSortFields[f] {
			writeError(c, errs.Invalid("order must be asc:<field> or desc:<field> with field one of created_at, status, created_by, template"))
			return
		}
		desc, field = dir == "desc", f
	}
	query := strings.Join(q, " AND ")
	l := taskLister{s: s, byID: map[string]*task{}, tplKey: tplKey.GetName(), userKey: userKey.GetName()}
	if len(statuses) == 0 {
		err = l.list(ctx, query)
	} else {
		// Candidates: tasks with a run in a wanted status. Then all runs of
		// the candidates, so that each is judged by its newest run.
		err = l.list(ctx, query+" AND ("+strings.Join(statusClauses, " OR ")+")")
		ids := make([]string, len(l.all))
		for i, t := range l.all {
			ids[i] = quoteVisibility(t.ID)
		}
		for chunk := range slices.Chunk(ids, 200) {
			if err != nil {
				break
			}
			err = l.list(ctx, query+" AND WorkflowId IN ("+strings.Join(chunk, ", ")+")")
		}
	}
	if err != nil {
		s.deps.Logger.Error("list tasks", "error", err)
		writeError(c, fmt.Errorf("list tasks: %w", errs.ErrUnavailable))
		return
	}
	all := l.all
	if len(statuses) > 0 {
		all = slices.DeleteFunc(all, func(t *task) bool { return !statuses[t.Status] })
	}
	less := func(a, b *task) bool {
		switch field {
		case "status":
			return a.Status < b.Status
		case "created_by", "createdBy":
			return a.User < b.User
		case "template":
			return a.TemplateRef < b.TemplateRef
		}
		return a.Created.Before(b.Created)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if desc {
			return less(all[j], all[i])
		}
		return less(all[i], all[j])
	})
	total := len(all)
	page := all[min(offset, total):min(offset+limit, total)]
	out := make([]gin.H, len(page))
	for i, t := range page {
		out[i] = s.taskJSON(t)
	}
	c.JSON(http.StatusOK, gin.H{"tasks": out, "totalTasks": total})
}

// maxListedTasks bounds one listing (newest first from visibility).
const maxListedTasks = 10000

// statusQuery maps a Backstage task status to visibility clauses.
var statusQuery = map[string][]string{
	"processing": {"ExecutionStatus = 'Running'"},
	"completed":  {"ExecutionStatus = 'Completed'"},
	"failed":     {"ExecutionStatus = 'Failed'", "ExecutionStatus = 'TimedOut'"},
	"cancelled":  {"ExecutionStatus = 'Canceled'", "ExecutionStatus = 'Terminated'"},
}

// taskLister collects the runs of visibility queries into tasks. Visibility
// lists runs: a task retried twice has three. A task is listed once, with
// its newest run's status and its first run's creation time.
type taskLister struct {
	s               *Server
	byID            map[string]*task
	all             []*task
	tplKey, userKey string
}

// list adds the runs query matches, up to maxListedTasks tasks.
func (l *taskLister) list(ctx context.Context, query string) error {
	var token []byte
	for {
		resp, err := l.s.deps.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return err
		}
		for _, e := range resp.GetExecutions() {
			start := e.GetStartTime().AsTime()
			t := &task{
				ID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(),
				Status: taskStatus(e.GetStatus()), Created: start, runStarted: start,
				TemplateRef: searchString(e.GetSearchAttributes(), l.tplKey),
				User:        searchString(e.GetSearchAttributes(), l.userKey),
			}
			prev := l.byID[t.ID]
			if prev == nil {
				l.byID[t.ID] = t
				l.all = append(l.all, t)
				continue
			}
			created := prev.Created
			if start.Before(created) {
				created = start
			}
			if start.After(prev.runStarted) {
				*prev = *t
			}
			prev.Created = created
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 || len(l.all) >= maxListedTasks {
			return nil
		}
	}
}

// quoteVisibility quotes a value for a Temporal visibility query.
func quoteVisibility(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// pageParams reads limit and offset.
func pageParams(c *gin.Context, def, max int) (limit, offset int, err error) {
	limit, offset = def, 0
	if v := c.Query("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 || limit > max {
			return 0, 0, errs.Invalid("limit must be between 0 and %d", max)
		}
	}
	if v := c.Query("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, errs.Invalid("offset must be a non-negative integer")
		}
	}
	return limit, offset, nil
}

// dryRun serves POST /v2/dry-run: {template, values, secrets,
// directoryContents: [{path, base64Content, executable}]} → the log, the
// steps, the output and the files the run produced. Nothing is stored and
// steps with side effects outside the workspace are skipped.
func (s *Server) dryRun(c *gin.Context) {
	if s.deps.Scaffolder.DryRun == nil {
		writeError(c, errs.NotFound("dry runs are not available on this server"))
		return
	}
	// The slot first, then the body: requests beyond the slots cost no
	// memory (their bodies are never read).
	busy := func() {
		c.Header("Connection", "close")
		writeError(c, fmt.Errorf("%w: too many dry runs at once; try again shortly", errs.ErrUnavailable))
	}
	select {
	case s.dryRuns <- struct{}{}:
		defer func() { <-s.dryRuns }()
	default:
		busy()
		return
	}
	if n := c.Request.ContentLength; n < 0 || n > largeDryRunBody {
		select {
		case s.largeDryRuns <- struct{}{}:
			defer func() { <-s.largeDryRuns }()
		default:
			busy()
			return
		}
	}
	req, err := decodeDryRunBody(c.Request.Body)
	if err != nil || len(req.Template) == 0 {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(c, errs.Invalid("the request body is larger than %d bytes", tooBig.Limit))
			return
		}
		msg := "body must be {\"template\": {...}, \"values\": {...}, \"secrets\": {...}, \"directoryContents\": [{\"path\", \"base64Content\"}]}"
		if err != nil {
			msg += ": " + err.Error()
		}
		writeError(c, errs.Invalid("%s", msg))
		return
	}
	t, err := templates.Parse("template", req.Template)
	if err != nil {
		writeError(c, errs.Invalid("template: %v", err))
		return
	}
	if err := secretbox.Check(req.Secrets); err != nil {
		writeError(c, errs.Invalid("%v", err))
		return
	}
	plan, err := templates.Compile(t, req.Values, s.deps.Scaffolder.Actions, templates.CompileOptions{UserRef: identity(c).Ref})
	if err != nil {
		writeError(c, errs.Invalid("%v", err))
		return
	}
	plan.Template.Ref = "template:" + t.Metadata.Namespace + "/" + t.Metadata.Name
	files := req.Files
	if files == nil {
		files = []contract.DryRunFile{}
	}
	secrets := req.Secrets
	req = nil // the files are what the run needs
	who := identity(c)
	res, err := s.deps.Scaffolder.DryRun(c.Request.Context(), *plan, secrets, files, permission.Subject{Ref: who.Ref, Service: who.Service, Scopes: who.Scopes})
	if errors.Is(err, errs.ErrUnavailable) {
		writeError(c, err)
		return
	}
	if err != nil {
		writeError(c, errs.Invalid("dry run: %v", err))
		return
	}
	st, runErr, out := res.State, res.Err, res.Files
	log := make([]gin.H, 0, len(st.Log))
	for _, e := range st.Log {
		log = append(log, gin.H{"body": gin.H{"message": e.Text, "stepId": e.StepID, "status": stepStatus(st, e.StepID)}})
	}
	contents := make([]gin.H, len(out))
	for i, f := range out {
		contents[i] = gin.H{"path": f.Path, "base64Content": base64.StdEncoding.EncodeToString(f.Data), "executable": f.Executable}
	}
	resp := gin.H{"log": log, "steps": st.Steps, "output": st.Output, "directoryContents": contents, "status": "completed"}
	if runErr != nil {
		resp["status"], resp["error"] = "failed", gin.H{"message": rootError(runErr)}
	}
	c.JSON(http.StatusOK, resp)
}

func stepStatus(st workflows.ScaffoldState, id string) string {
	for _, s := range st.Steps {
		if s.ID == id {
			return s.Status
		}
	}
	return ""
}

// rootError is an error's message without the SDK's wrapping.
func rootError(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}

// stateCache remembers the last queried state of running tasks, keyed by
// the newest history event id when it was read. Bounded: when full, it is
// cleared (a miss only costs a query).
type stateCache struct {
	mu sync.Mutex
	m  map[string]cachedState
}

type cachedState struct {
	event int64
	state workflows.ScaffoldState
}

const maxCachedStates = 2000

func (c *stateCache) get(id string, event int64) (workflows.ScaffoldState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || e.event != event || event == 0 {
		return workflows.ScaffoldState{}, false
	}
	return e.state, true
}

func (c *stateCache) put(id string, event int64, st workflows.ScaffoldState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedStates {
		c.m = map[string]cachedState{}
	}
	c.m[id] = cachedState{event: event, state: st}
}
