package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/workflows"
)

type helloRequest struct {
	Name string `json:"name"`
	// Delay is a Go duration ("3s") the second activity waits.
	Delay string `json:"delay"`
	// Wait, when false, answers 202 at once instead of waiting for the result.
	Wait *bool `json:"wait"`
}

type helloResponse struct {
	ID          string                 `json:"id"`
	RunID       string                 `json:"runId"`
	Status      string                 `json:"status"`
	Result      *workflows.HelloResult `json:"result,omitempty"`
	Error       string                 `json:"error,omitempty"`
	TemporalURL string                 `json:"temporalUrl,omitempty"`
}

const maxHelloDelay = 10 * time.Minute

// startHello runs the rigger.hello smoke-check workflow.
func (s *Server) startHello(c *gin.Context) {
	var req helloRequest
	if c.Request.ContentLength != 0 {
		if err := c.ShouldBindJSON(&req); err != nil {
			writeError(c, errs.Invalid("request body: %v", err))
			return
		}
	}
	in := workflows.HelloInput{Name: req.Name}
	if req.Delay != "" {
		d, err := time.ParseDuration(req.Delay)
		if err != nil || d < 0 || d > maxHelloDelay {
			writeError(c, errs.Invalid("delay: %q is not a duration between 0s and %s", req.Delay, maxHelloDelay))
			return
		}
		in.Delay = d
	}
	id := "hello-" + uuid.NewString()
	run, err := s.deps.Temporal.ExecuteWorkflow(c.Request.Context(), client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                contract.QueueDefault,
		WorkflowExecutionTimeout: maxHelloDelay + time.Minute,
	}, workflows.HelloName, in)
	if err != nil {
		s.deps.Logger.Error("start hello workflow", "error", err)
		writeError(c, fmt.Errorf("start workflow: %w", errs.ErrUnavailable))
		return
	}
	resp := helloResponse{ID: run.GetID(), RunID: run.GetRunID(), Status: "running", TemporalURL: s.workflowURL(run.GetID(), run.GetRunID())}
	if req.Wait != nil && !*req.Wait {
		c.JSON(http.StatusAccepted, resp)
		return
	}
	var result workflows.HelloResult
	if err := run.Get(c.Request.Context(), &result); err != nil {
		resp.Status, resp.Error = "failed", err.Error()
		c.JSON(http.StatusOK, resp)
		return
	}
	resp.Status, resp.Result = "completed", &result
	c.JSON(http.StatusOK, resp)
}

// getHello reports a hello run's status and, once completed, its result.
func (s *Server) getHello(c *gin.Context) {
	id := c.Param("id")
	desc, err := s.deps.Temporal.DescribeWorkflowExecution(c.Request.Context(), id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			writeError(c, errs.NotFound("hello run %q not found", id))
			return
		}
		s.deps.Logger.Error("describe hello workflow", "id", id, "error", err)
		writeError(c, fmt.Errorf("describe workflow: %w", errs.ErrUnavailable))
		return
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetType().GetName() != workflows.HelloName {
		writeError(c, errs.NotFound("hello run %q not found", id))
		return
	}
	runID := info.GetExecution().GetRunId()
	resp := helloResponse{ID: id, RunID: runID, TemporalURL: s.workflowURL(id, runID)}
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		resp.Status = "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		var result workflows.HelloResult
		if err := s.deps.Temporal.GetWorkflow(c.Request.Context(), id, runID).Get(c.Request.Context(), &result); err != nil {
			writeError(c, fmt.Errorf("read result: %w", err))
			return
		}
		resp.Status, resp.Result = "completed", &result
	default:
		resp.Status = "failed"
		resp.Error = info.GetStatus().String()
	}
	c.JSON(http.StatusOK, resp)
}

// workflowURL links a run to the Temporal Web UI.
func (s *Server) workflowURL(id, runID string) string {
	if s.deps.TemporalUIURL == "" {
		return ""
	}
	if runID == "" { // every run of the id (a retried task has several)
		return fmt.Sprintf("%s/namespaces/%s/workflows?query=%s", s.deps.TemporalUIURL,
			url.PathEscape(s.deps.Namespace), url.QueryEscape(fmt.Sprintf("WorkflowId=%q", id)))
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", s.deps.TemporalUIURL,
		url.PathEscape(s.deps.Namespace), url.PathEscape(id), url.PathEscape(runID))
}
