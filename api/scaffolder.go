package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/tasks"
	"github.com/riggerdev/rigger/internal/tracing"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// ScaffolderDeps configure the scaffolder API; templates come from the
// catalog (kind Template entities). The operations themselves, and who may
// do them, are internal/tasks'.
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
	// Authorizer decides what callers may do with tasks and templates
	// (nil: tasks.DefaultAuthorizer, today's rules).
	Authorizer tasks.Authorizer
	// GitHubWebhooks verify deliveries to POST /api/webhooks/github (the
	// webhook secrets of integrations.github[].apps); none refuses them.
	GitHubWebhooks []GitHubWebhook
}

// GitHubWebhook is one GitHub host's webhook secret.
type GitHubWebhook struct {
	// Host is the GitHub host (github.com): repositories in its events
	// are named host/owner/repo.
	Host   string
	Secret []byte
}

// SecretKeeper stores a task's secrets (internal/secretbox implements it).
type SecretKeeper = tasks.SecretKeeper

// DryRunFunc runs plan in dry-run mode (worker.DryRunner.DryRun).
type DryRunFunc = tasks.DryRunFunc

func (s *Server) scaffolderRoutes(g *gin.RouterGroup) {
	g.GET("/v2/actions", s.listActions)
	g.GET("/v2/inventory", s.checks.limit("building the inventory"), s.inventory)
	g.GET("/v2/templates/:namespace/:kind/:name/parameter-schema", s.parameterSchema)
	g.POST("/v2/tasks", s.createTask)
	g.GET("/v2/tasks", s.listTasks)
	g.GET("/v2/tasks/:id", s.getTask)
	g.GET("/v2/tasks/:id/events", s.taskEvents)
	g.GET("/v2/tasks/:id/eventstream", s.taskEventStream)
	g.POST("/v2/tasks/:id/cancel", s.cancelTask)
	g.POST("/v2/tasks/:id/retry", s.retryTask)
	g.POST("/v2/tasks/:id/approve", func(c *gin.Context) { s.decideTask(c, true) })
	g.POST("/v2/tasks/:id/reject", func(c *gin.Context) { s.decideTask(c, false) })
	g.POST("/v2/dry-run", s.dryRun)
	g.POST("/v2/validate-template", s.checks.limit("checking templates"), s.validateTemplate)
	g.GET("/v2/tasks/:id/workspace", s.taskWorkspace)
}

// inventory lists which templates use which actions, over the templates
// the caller may read.
func (s *Server) inventory(c *gin.Context) {
	who := identity(c)
	inv, err := s.tasks.Inventory(c.Request.Context(), func(ctx context.Context, q store.Query) (store.Page, error) {
		return s.catalog.Query(ctx, who, q)
	})
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, inv)
}

// listActions lists the registered actions in Backstage's shape: id,
// description, schema {input, output} and examples.
func (s *Server) listActions(c *gin.Context) {
	out := []gin.H{}
	for _, n := range s.deps.Scaffolder.Actions.Names() {
		a := gin.H{"id": n, "description": "", "schema": gin.H{"input": gin.H{"type": "object"}, "output": gin.H{"type": "object"}}}
		if doc, ok := s.deps.Scaffolder.Actions.Docs(n); ok {
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

// parameterSchema answers Backstage's parameter schema: one step per page,
// {title, description, schema}, plus "if" (as written) for a conditional
// page; see templates.PageCondition.
func (s *Server) parameterSchema(c *gin.Context) {
	t, err := s.tasks.Template(c.Request.Context(), identity(c), c.Param("kind")+":"+c.Param("namespace")+"/"+c.Param("name"))
	if err != nil {
		writeError(c, err)
		return
	}
	steps := []gin.H{}
	for _, p := range t.Spec.Parameters {
		title, _ := p["title"].(string)
		desc, _ := p["description"].(string)
		// A page condition (if: a boolean or a ${{ }} string) is the
		// step's, not the JSON Schema's: a form compiling the schema would
		// refuse a string if. A mapping if is JSON Schema's and stays.
		cond, schema := templates.PageCondition(p)
		step := gin.H{"title": title, "description": desc, "schema": schema}
		if cond != nil {
			step["if"] = cond
		}
		steps = append(steps, step)
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
	create := tasks.CreateRequest{TemplateRef: req.TemplateRef, Values: req.Values, Secrets: req.Secrets}
	if key := c.GetHeader("Idempotency-Key"); key != "" {
		// The same key from the same caller finds the task the first
		// request started: 200 with its id, never a second run.
		res, err := s.tasks.CreateOnce(c.Request.Context(), identity(c), key, create)
		if err != nil {
			writeError(c, err)
			return
		}
		if res.Replayed {
			c.Header("Idempotent-Replayed", "true")
			c.JSON(http.StatusOK, gin.H{"id": res.ID})
			return
		}
		s.taskCreated(c, res.ID, res.TemplateRef)
		return
	}
	id, ref, err := s.tasks.Create(c.Request.Context(), identity(c), create)
	if err != nil {
		writeError(c, err)
		return
	}
	s.taskCreated(c, id, ref)
}

// taskCreated audits, counts and tags a new task and answers 201.
func (s *Server) taskCreated(c *gin.Context, id, ref string) {
	s.audit(c, "scaffolder.task.create", "task:"+id, map[string]string{"template": ref})
	s.deps.Metrics.TaskStarted(ref)
	tracing.Tag(c.Request.Context(), tracing.TaskID.String(id), tracing.Template.String(ref))
	c.JSON(http.StatusCreated, gin.H{"id": id})
}

// taskJSON is Backstage's task shape, plus the live steps and a link to
// the run in the Temporal UI.
func (s *Server) taskJSON(t *tasks.Task) gin.H {
	out := gin.H{
		"id": t.ID, "status": t.Status, "createdAt": t.Created, "createdBy": t.User,
		"spec": gin.H{
			"apiVersion":   templates.APIVersion,
			"templateInfo": gin.H{"entityRef": t.TemplateRef},
			"user":         gin.H{"ref": t.User},
		},
		"temporalUrl": s.workflowURL(t.ID, t.RunID),
	}
	if !t.Ended.IsZero() {
		out["endedAt"] = t.Ended
	}
	if t.WorkerUnavailable {
		// The steps are the plan, not the progress: no worker answered.
		out["workerUnavailable"] = true
	}
	if st := t.State; st != nil {
		if st.Channel != "" {
			out["channel"] = st.Channel // "mcp": an agent started it
		}
		out["steps"] = st.Steps
		out["output"] = st.Output
		out["attempt"] = st.Attempt
		steps := make([]gin.H, len(st.Steps))
		for i, step := range st.Steps {
			steps[i] = gin.H{"id": step.ID, "name": step.Name, "action": step.Action}
		}
		out["spec"].(gin.H)["steps"] = steps
		if st.Recall != nil {
			// Backstage's spec.parameters, less what the template marks
			// sensitive: Start over fills the form from it.
			out["spec"].(gin.H)["parameters"] = st.Recall
		}
	}
	return out
}

// getTask serves GET /v2/tasks/:id; with ?wait=<duration> (at most
// tasks.MaxWait) a running task's answer waits until its status or a
// step's changes, or the duration passes (a bounded long poll: clients need
// not poll). A caller holds at most tasks.MaxWaitsPerClient waiting calls
// at once, apart from its event streams (429 beyond).
func (s *Server) getTask(c *gin.Context) {
	wait, err := waitParam(c)
	if err != nil {
		writeError(c, err)
		return
	}
	t, err := s.tasks.GetWait(c.Request.Context(), identity(c), c.Param("id"), wait)
	if tooManyStreams(c, err) {
		return
	}
	if err != nil {
		writeError(c, err)
		return
	}
	out := s.taskJSON(t)
	if step := tasks.WaitingApproval(t); step != nil {
		// What the task waits for, and whether this caller may decide.
		a := step.Approval
		out["approval"] = gin.H{"stepId": step.ID, "requestId": a.RequestID, "message": a.Message, "requestedAt": a.RequestedAt, "deadline": a.Deadline,
			"allowSelfApproval": a.AllowSelf, "canDecide": s.tasks.MayDecide(c.Request.Context(), identity(c), t)}
	}
	c.JSON(http.StatusOK, out)
}

// eventsJSON turns a run's log into Backstage task events after id after.
// The completion event of a run that ended is dated when it ended: the
// workflow's clock, which dates the log, stands still while its steps run
// inside one workflow task (local activities), so it would date the end
// at that task's start.
func eventsJSON(t *tasks.Task, after int) []gin.H {
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
			if !t.Ended.IsZero() && t.Status != tasks.StatusProcessing {
				e.Time = t.Ended
			}
			body["status"] = t.Status
			if t.Status == tasks.StatusCompleted {
				body["output"] = t.State.Output
			}
		}
		out = append(out, gin.H{"id": e.Seq, "taskId": t.ID, "type": e.Type, "createdAt": e.Time, "body": body})
	}
	return out
}

func (s *Server) taskEvents(c *gin.Context) {
	t, err := s.tasks.Get(c.Request.Context(), identity(c), c.Param("id"))
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

// waitParam reads ?wait=<duration> (0 when absent).
func waitParam(c *gin.Context) (time.Duration, error) {
	v := c.Query("wait")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > tasks.MaxWait {
		return 0, errs.Invalid("wait must be a duration from 0s to %s, such as wait=10s; got %q", tasks.MaxWait, clip(v, 40))
	}
	return d, nil
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

func (s *Server) cancelTask(c *gin.Context) {
	id := c.Param("id")
	if err := s.tasks.Cancel(c.Request.Context(), identity(c), id); err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "scaffolder.task.cancel", "task:"+id, nil)
	c.JSON(http.StatusOK, gin.H{"status": "cancelled"})
}

// decideTask approves or rejects the approval request a task waits on:
// {"requestId": "...", "comment": "..."} (the comment is optional).
func (s *Server) decideTask(c *gin.Context, approve bool) {
	var body struct {
		RequestID string `json:"requestId"`
		Comment   string `json:"comment"`
	}
	if err := c.ShouldBindJSON(&body); err != nil {
		writeError(c, errs.Invalid(`the body must be {"requestId": "<the task's approval.requestId>", "comment": "..."}`))
		return
	}
	id := c.Param("id")
	step, err := s.tasks.Decide(c.Request.Context(), identity(c), id, body.RequestID, approve, strings.TrimSpace(body.Comment))
	if err != nil {
		writeError(c, err)
		return
	}
	action, status := "scaffolder.task.approve", "approved"
	if !approve {
		action, status = "scaffolder.task.reject", "rejected"
	}
	details := map[string]string{"step": step}
	if body.Comment != "" {
		details["comment"] = clip(strings.TrimSpace(body.Comment), 500)
	}
	s.audit(c, action, "task:"+id, details)
	c.JSON(http.StatusOK, gin.H{"status": status, "stepId": step})
}

// retryTask starts a failed task again under the same id, from the step
// that failed: the steps before it keep their outputs and do not run again.
func (s *Server) retryTask(c *gin.Context) {
	id := c.Param("id")
	if err := s.tasks.Retry(c.Request.Context(), identity(c), id); err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "scaffolder.task.retry", "task:"+id, nil)
	c.JSON(http.StatusCreated, gin.H{"id": id})
}

// listTasks serves GET /v2/tasks?createdBy=&status=&template=&limit=&offset=&order=
// from Temporal's visibility (search attributes), without touching any
// workflow; the service lists only what the caller may read.
func (s *Server) listTasks(c *gin.Context) {
	limit, offset, err := pageParams(c, 100, 1000)
	if err != nil {
		writeError(c, err)
		return
	}
	o := tasks.ListOptions{CreatedBy: c.QueryArray("createdBy"), Status: c.QueryArray("status"), Template: c.QueryArray("template"), Limit: limit, Offset: offset, Desc: true}
	if v := c.Query("order"); v != "" {
		dir, f, ok := strings.Cut(v, ":")
		if !ok || (dir != "asc" && dir != "desc") || !slices.Contains(tasks.SortFields(), f) {
			writeError(c, errs.Invalid("order must be asc:<field> or desc:<field> with field one of created_at, status, created_by, template"))
			return
		}
		o.Desc, o.Order = dir == "desc", f
	}
	l, err := s.tasks.List(c.Request.Context(), identity(c), o)
	if err != nil {
		writeError(c, err)
		return
	}
	out := make([]gin.H, len(l.Tasks))
	for i, t := range l.Tasks {
		out[i] = s.taskJSON(t)
	}
	c.JSON(http.StatusOK, gin.H{"tasks": out, "totalTasks": l.Total})
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
	if !s.tasks.DryRunAvailable() {
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
	in := tasks.DryRunRequest{Template: req.Template, Values: req.Values, Secrets: req.Secrets, Files: req.Files}
	req = nil // the files are what the run needs
	res, err := s.tasks.DryRun(c.Request.Context(), identity(c), in)
	if err != nil {
		writeError(c, err)
		return
	}
	st, out := res.State, res.Files
	log := make([]gin.H, 0, len(st.Log))
	for _, e := range st.Log {
		log = append(log, gin.H{"body": gin.H{"message": e.Text, "stepId": e.StepID, "status": stepStatus(st, e.StepID)}})
	}
	contents := make([]gin.H, len(out))
	for i, f := range out {
		contents[i] = gin.H{"path": f.Path, "base64Content": base64.StdEncoding.EncodeToString(f.Data), "executable": f.Executable}
	}
	resp := gin.H{"log": log, "steps": st.Steps, "output": st.Output, "directoryContents": contents, "status": "completed"}
	if res.Failed {
		resp["status"], resp["error"] = "failed", gin.H{"message": res.Message}
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
