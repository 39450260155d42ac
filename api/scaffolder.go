package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// ScaffolderDeps configure the scaffolder API; templates come from the
// catalog (kind Template entities).
type ScaffolderDeps struct {
	Actions *contract.Registry
}

func (s *Server) scaffolderRoutes(g *gin.RouterGroup) {
	g.GET("/v2/actions", s.listActions)
	g.GET("/v2/templates/:namespace/:kind/:name/parameter-schema", s.parameterSchema)
	g.POST("/v2/tasks", s.createTask)
	g.GET("/v2/tasks/:id", s.getTask)
	g.GET("/v2/tasks/:id/events", s.taskEvents)
	g.GET("/v2/tasks/:id/eventstream", s.taskEventStream)
	g.POST("/v2/tasks/:id/cancel", s.cancelTask)
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
	base := ""
	if loc := t.Metadata.Annotations["backstage.io/managed-by-location"]; strings.HasPrefix(loc, "file:") {
		base = "file://" + strings.TrimPrefix(loc, "file:")
	}
	return t, r, base, nil
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
		TemplateRef string         `json:"templateRef"`
		Values      map[string]any `json:"values"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.TemplateRef == "" {
		writeError(c, errs.Invalid("body must be {\"templateRef\": \"template:default/name\", \"values\": {...}}"))
		return
	}
	t, ref, base, err := s.loadTemplateWithBase(c, req.TemplateRef)
	if err != nil {
		writeError(c, err)
		return
	}
	user := identity(c).Ref
	plan, err := templates.Compile(t, req.Values, s.deps.Scaffolder.Actions, templates.CompileOptions{UserRef: user, BaseURL: base})
	if err != nil {
		writeError(c, errs.Invalid("%v", err))
		return
	}
	plan.Template.Ref = ref.String()
	id := uuid.NewString()
	tplKey, userKey, statusKey := searchattr.Keys()
	_, err = s.deps.Temporal.ExecuteWorkflow(c.Request.Context(), client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: contract.QueueDefault,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			tplKey.ValueSet(ref.String()), userKey.ValueSet(user), statusKey.ValueSet("processing")),
	}, workflows.ScaffoldName, workflows.ScaffoldInput{TaskID: id, Plan: *plan})
	if err != nil {
		s.deps.Logger.Error("start scaffolder task", "error", err)
		writeError(c, fmt.Errorf("start task: %w", errs.ErrUnavailable))
		return
	}
	c.JSON(http.StatusCreated, gin.H{"id": id})
}

// taskState reads a task's workflow status and its live state.
func (s *Server) taskState(c *gin.Context) (string, *workflows.ScaffoldState, time.Time, error) {
	id := c.Param("id")
	desc, err := s.deps.Temporal.DescribeWorkflowExecution(c.Request.Context(), id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return "", nil, time.Time{}, errs.NotFound("no task with id %q", id)
	}
	if err != nil {
		return "", nil, time.Time{}, fmt.Errorf("describe task: %w", err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetType().GetName() != workflows.ScaffoldName {
		return "", nil, time.Time{}, errs.NotFound("no task with id %q", id)
	}
	status := "processing"
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		status = "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		status = "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		status = "cancelled"
	}
	v, err := s.deps.Temporal.QueryWorkflow(c.Request.Context(), id, "", workflows.ScaffoldStateQuery)
	if err != nil {
		return "", nil, time.Time{}, fmt.Errorf("query task: %w", err)
	}
	var st workflows.ScaffoldState
	if err := v.Get(&st); err != nil {
		return "", nil, time.Time{}, err
	}
	if st.Status == "cancelled" {
		status = "cancelled"
	}
	return status, &st, info.GetStartTime().AsTime(), nil
}

func (s *Server) getTask(c *gin.Context) {
	status, st, created, err := s.taskState(c)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{
		"id": c.Param("id"), "status": status, "createdAt": created,
		"spec":        gin.H{"steps": st.Steps, "output": st.Output},
		"steps":       st.Steps,
		"temporalUrl": s.workflowURL(c.Param("id"), ""),
	})
}

func (s *Server) taskEvents(c *gin.Context) {
	_, st, _, err := s.taskState(c)
	if err != nil {
		writeError(c, err)
		return
	}
	after, err := afterParam(c)
	if err != nil {
		writeError(c, err)
		return
	}
	out := []gin.H{}
	for _, e := range st.Log {
		if e.Seq <= after {
			continue
		}
		out = append(out, gin.H{"id": e.Seq, "taskId": c.Param("id"), "type": e.Type, "createdAt": e.Time,
			"body": gin.H{"message": e.Text, "stepId": e.StepID}})
	}
	c.JSON(http.StatusOK, out)
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
	c.JSON(http.StatusOK, gin.H{"status": "cancelled"})
}
