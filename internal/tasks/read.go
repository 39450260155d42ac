package tasks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/workflows"
)

// Get reads a task for who: one the caller may not read is not found, as
// an unknown id (existence does not leak).
func (s *Service) Get(ctx context.Context, who auth.Identity, id string) (*Task, error) {
	t, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayRead(ctx, who, t); err != nil {
		return nil, err
	}
	return t, nil
}

// taskStatus maps a workflow status to Backstage's task status.
func taskStatus(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return StatusCompleted
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return StatusFailed
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return StatusCancelled
	}
	return StatusProcessing
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

// load reads a task with as few round trips as possible: the newest event
// of its latest run (one RPC; a finished run's close event carries its
// whole state), and only for a running task the state query, and not while
// a worker holds the run's workflow task (the query would wait for it). Terminated or
// timed-out runs, which carry no state, are queried (the worker replays
// them). It decides nothing about the caller.
func (s *Service) load(ctx context.Context, id string) (*Task, error) {
	if id == "" || len(id) > 255 {
		return nil, errs.NotFound("no task with id %q", id)
	}
	t := &Task{ID: id}
	// The newest event of the latest run: its close event once it ended.
	// (A close-event-only history read would block until the run ends.)
	resp, err := s.d.Temporal.WorkflowService().GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
		Namespace: s.d.Namespace, Execution: &commonpb.WorkflowExecution{WorkflowId: id}, MaximumPageSize: 1,
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
	if closed, ok := s.closedTask(id, closeEv); ok {
		return closed, nil
	}
	if closeEv.GetWorkflowExecutionContinuedAsNewEventAttributes() != nil { // not something a task does
		return nil, errs.NotFound("no task with id %q", id)
	}
	lastEvent := closeEv.GetEventId()
	t.event, t.Status = lastEvent, StatusProcessing
	if status, ended, _, ok := closeOf(closeEv); ok {
		// Ended without its state in the event (an older run's result, a
		// termination): the query below asks for it.
		t.Status, t.Ended = status, ended
	}
	var st workflows.ScaffoldState
	if t.Status == StatusProcessing {
		// A running workflow's state only changes when its history grows:
		// polling clients of a waiting task cost no query.
		if cached, ok := s.states.get(id, lastEvent); ok {
			st = cached
		} else if closeEv.GetWorkflowTaskStartedEventAttributes() != nil {
			// A worker holds the run's workflow task (its steps run in it):
			// a query would wait for that task to end. History knows no
			// more than the state last read, or, before any, the plan.
			if cached, ok := s.states.latest(id); ok {
				st = cached
			} else if planned, err := s.plannedState(ctx, t); err == nil {
				s.states.put(id, 0, planned) // for latest: the next reads in this task need not read the start again
				t.State = &planned
				t.Created, t.TemplateRef, t.User = planned.CreatedAt, planned.TemplateRef, planned.UserRef
				return t, nil
			}
		}
	}
	if st.TaskID == "" {
		qctx, cancel := context.WithTimeout(ctx, stateQueryTimeout)
		v, err := s.d.Temporal.QueryWorkflow(qctx, id, "", workflows.ScaffoldStateQuery)
		cancel()
		var nf *serviceerror.NotFound
		var qf *serviceerror.QueryFailed
		if errors.As(err, &nf) || errors.As(err, &qf) {
			return nil, errs.NotFound("no task with id %q", id)
		}
		if err != nil && t.Status == StatusProcessing && ctx.Err() == nil && noWorkerAnswered(err) {
			// Between one worker build and the next, or with every worker
			// down, nobody answers: the run's plan stands in for its
			// progress, and the task says so.
			if planned, perr := s.plannedState(ctx, t); perr == nil {
				t.State, t.WorkerUnavailable = &planned, true
				t.Created, t.TemplateRef, t.User = planned.CreatedAt, planned.TemplateRef, planned.UserRef
				return t, nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("query task: %w", err)
		}
		if err := v.Get(&st); err != nil || (st.TaskID != "" && st.TaskID != id) {
			return nil, errs.NotFound("no task with id %q", id)
		}
		if t.Status == StatusProcessing {
			s.states.put(id, lastEvent, st)
		}
	}
	t.State = &st
	t.Created, t.TemplateRef, t.User = st.CreatedAt, st.TemplateRef, st.UserRef
	return t, nil
}

// closeOf reads the event that ends a run: the task status it means, when
// it ended, and the payload that carries the run's final state, if any. ok
// is false for an event that does not end a run.
func closeOf(ev *historypb.HistoryEvent) (status string, ended time.Time, state *commonpb.Payloads, ok bool) {
	switch {
	case ev.GetWorkflowExecutionCompletedEventAttributes() != nil:
		status, state = StatusCompleted, ev.GetWorkflowExecutionCompletedEventAttributes().GetResult()
	case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
		status = StatusFailed
		if app := ev.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetApplicationFailureInfo(); app != nil {
			state = app.GetDetails()
		}
	case ev.GetWorkflowExecutionCanceledEventAttributes() != nil:
		status, state = StatusCancelled, ev.GetWorkflowExecutionCanceledEventAttributes().GetDetails()
	case ev.GetWorkflowExecutionTerminatedEventAttributes() != nil:
		status = StatusCancelled
	case ev.GetWorkflowExecutionTimedOutEventAttributes() != nil:
		status = StatusFailed
	default:
		return "", time.Time{}, nil, false
	}
	return status, ev.GetEventTime().AsTime(), state, true
}

// closedTask is task id as the event that ended its run says, when that
// event carries the run's final state (the workflow returns it, or puts
// it in its failure): a finished task needs no other read. ok is false
// for any other event, and for one that starts a new run (a workflow
// retry policy or cron, which rigger does not set): the latest run is
// then read instead.
func (s *Service) closedTask(id string, ev *historypb.HistoryEvent) (*Task, bool) {
	status, ended, state, ok := closeOf(ev)
	if !ok || len(state.GetPayloads()) == 0 || ev.GetWorkflowExecutionCompletedEventAttributes().GetNewExecutionRunId() != "" ||
		ev.GetWorkflowExecutionFailedEventAttributes().GetNewExecutionRunId() != "" {
		return nil, false
	}
	var st workflows.ScaffoldState
	if s.converter().FromPayload(state.GetPayloads()[0], &st) != nil || st.TaskID != id {
		return nil, false // an older run's result
	}
	return &Task{ID: id, event: ev.GetEventId(), Status: status, Ended: ended, State: &st,
		Created: st.CreatedAt, TemplateRef: st.TemplateRef, User: st.UserRef}, true
}

// stateQueryTimeout bounds a running task's state query: with no worker
// polling its queue the query would wait for one.
const stateQueryTimeout = 10 * time.Second

// noWorkerAnswered: a state query found no worker (the server's "no poller
// seen" refusal) or none answered in time.
func noWorkerAnswered(err error) bool {
	var deadline *serviceerror.DeadlineExceeded
	var precondition *serviceerror.FailedPrecondition
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &deadline) || errors.As(err, &precondition)
}

// plannedState is what a running task's start says of it when no worker
// can be asked: its steps as planned (those a retry resumed as they
// ended), who started it from which template and when, and the values its
// readers may see again; no log yet.
func (s *Service) plannedState(ctx context.Context, t *Task) (workflows.ScaffoldState, error) {
	in, started, err := s.inputAt(ctx, t)
	if err != nil {
		return workflows.ScaffoldState{}, err
	}
	st := workflows.ScaffoldState{Status: StatusProcessing, TaskID: in.TaskID, TemplateRef: in.Plan.Template.Ref,
		UserRef: in.Plan.UserRef, Recall: in.Recall, Attempt: 1, CreatedAt: started, Log: []workflows.LogEvent{}}
	if st.TaskID != t.ID {
		return workflows.ScaffoldState{}, fmt.Errorf("task %s: its input names another task", t.ID)
	}
	resumed := map[string]workflows.StepState{}
	if r := in.Resume; r != nil {
		st.Attempt = r.Attempt + 1
		if !r.CreatedAt.IsZero() {
			st.CreatedAt = r.CreatedAt
		}
		for _, step := range r.Steps {
			resumed[step.ID] = step
		}
	}
	for _, step := range in.Plan.Steps {
		if prev, ok := resumed[step.ID]; ok && (prev.Status == "completed" || prev.Status == "skipped") {
			st.Steps = append(st.Steps, prev)
			continue
		}
		st.Steps = append(st.Steps, workflows.StepState{ID: step.ID, Name: step.Name, Action: step.Action, Status: "open"})
	}
	return st, nil
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

// latest is the last state cached for id, whatever event it was read at.
func (c *stateCache) latest(id string) (workflows.ScaffoldState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	return e.state, ok
}

func (c *stateCache) put(id string, event int64, st workflows.ScaffoldState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedStates {
		c.m = map[string]cachedState{}
	}
	c.m[id] = cachedState{event: event, state: st}
}
