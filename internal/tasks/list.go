package tasks

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/workflows"
)

// ListOptions select and order a task list.
type ListOptions struct {
	// CreatedBy keeps tasks created by one of these user refs.
	CreatedBy []string
	// Template keeps tasks of one of these template refs.
	Template []string
	// Status keeps tasks whose newest run is in one of these statuses
	// (processing, or its alias open, completed, failed, cancelled).
	Status []string
	// Order is one of SortFields ("" is created_at); Desc sorts newest or
	// greatest first.
	Order string
	Desc  bool
	// Limit and Offset cut the page.
	Limit, Offset int
}

// SortFields are the fields a list may be ordered by.
func SortFields() []string {
	return []string{"created_at", "createdAt", "status", "created_by", "createdBy", "template"}
}

// List is one page of tasks and how many there are in all.
type List struct {
	Tasks []*Task
	Total int
}

// maxListedTasks bounds one listing (newest first from visibility).
const maxListedTasks = 10000

// statusClauses maps a Backstage task status to visibility clauses.
func statusClauses(status string) ([]string, bool) {
	switch status {
	case StatusProcessing:
		return []string{"ExecutionStatus = 'Running'"}, true
	case StatusCompleted:
		return []string{"ExecutionStatus = 'Completed'"}, true
	case StatusFailed:
		return []string{"ExecutionStatus = 'Failed'", "ExecutionStatus = 'TimedOut'"}, true
	case StatusCancelled:
		return []string{"ExecutionStatus = 'Canceled'", "ExecutionStatus = 'Terminated'"}, true
	}
	return nil, false
}

// List lists the tasks who may read from Temporal's visibility (search
// attributes), without touching any workflow: the Authorizer's ListScope
// is part of the visibility query, so counts and pages say nothing of
// anyone else's tasks. Identical lists asked within listReuse share one
// visibility pass (listShare).
func (s *Service) List(ctx context.Context, who auth.Identity, o ListOptions) (*List, error) {
	statuses := map[string]bool{}
	var statusWhere []string
	for _, st := range o.Status {
		if st == "open" {
			st = StatusProcessing
		}
		clauses, ok := statusClauses(st)
		if !ok {
			return nil, errs.Invalid("status %q is not one of processing, completed, failed, cancelled", st)
		}
		if !statuses[st] {
			statuses[st] = true
			statusWhere = append(statusWhere, clauses...)
		}
	}
	if o.Order == "" {
		o.Order = "created_at"
	}
	if !slices.Contains(SortFields(), o.Order) {
		return nil, errs.Invalid("order must be asc:<field> or desc:<field> with field one of created_at, status, created_by, template")
	}
	scope, err := s.authz.ListScope(ctx, who)
	if err != nil {
		return nil, denial(err)
	}
	query, ok := listQuery(scope, o.CreatedBy, o.Template)
	if !ok {
		return &List{Tasks: []*Task{}}, nil // the caller may list nothing
	}
	all, err := s.lists.tasks(ctx, query+"\x00"+strings.Join(statusWhere, "\x00"), func(ctx context.Context) ([]*Task, error) {
		return s.listRuns(ctx, query, statusWhere)
	})
	if err != nil {
		s.d.Logger.Error("list tasks", "error", err)
		return nil, fmt.Errorf("list tasks: %w", errs.ErrUnavailable)
	}
	if len(statuses) > 0 {
		all = slices.DeleteFunc(all, func(t *Task) bool { return !statuses[t.Status] })
	}
	less := func(a, b *Task) bool {
		switch o.Order {
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
		if o.Desc {
			return less(all[j], all[i])
		}
		return less(all[i], all[j])
	})
	total := len(all)
	offset, limit := max(o.Offset, 0), max(o.Limit, 0)
	return &List{Tasks: all[min(offset, total):min(offset+limit, total)], Total: total}, nil
}

// listRuns is one visibility pass of a list: the tasks query matches
// (with a run in one of the statuses statusWhere says, when given), each
// with its newest run's status and its first run's start.
func (s *Service) listRuns(ctx context.Context, query string, statusWhere []string) ([]*Task, error) {
	tplKey, userKey, _ := searchattr.Keys()
	l := lister{s: s, byID: map[string]*Task{}, tplKey: tplKey.GetName(), userKey: userKey.GetName()}
	if len(statusWhere) == 0 {
		return l.all, l.list(ctx, query)
	}
	// Statuses are matched against each task's newest run (a retried task
	// has a failed run behind it): candidates are tasks with a run in a
	// wanted status, then all runs of the candidates decide. The first
	// query brought every run in a wanted status, so the second asks only
	// for the candidates' other runs: while clients poll the running
	// tasks, that is the few retried tasks' earlier runs rather than every
	// running task a second time.
	err := l.list(ctx, query+" AND ("+strings.Join(statusWhere, " OR ")+")")
	ids := make([]string, len(l.all))
	for i, t := range l.all {
		ids[i] = quote(t.ID)
	}
	others := otherRuns(statusWhere)
	for chunk := range slices.Chunk(ids, 200) {
		if err != nil {
			break
		}
		err = l.list(ctx, query+" AND WorkflowId IN ("+strings.Join(chunk, ", ")+")"+others)
	}
	return l.all, err
}

// otherRuns is the visibility clause for runs in none of the statuses
// clauses (each "ExecutionStatus = 'X'") name.
func otherRuns(clauses []string) string {
	var q strings.Builder
	for _, c := range clauses {
		q.WriteString(" AND " + strings.Replace(c, " = ", " != ", 1))
	}
	return q.String()
}

// listQuery is the visibility query for the tasks scope allows, created by
// one of createdBy and of one of templates when given. Every value is
// quoted. ok is false when the scope allows nothing.
func listQuery(scope ListScope, createdBy, templates []string) (query string, ok bool) {
	tplKey, userKey, _ := searchattr.Keys()
	q := []string{"WorkflowType = " + quote(workflows.ScaffoldName)}
	if !scope.All {
		var either []string
		if len(scope.Users) > 0 {
			either = append(either, userKey.GetName()+" IN ("+quoteAll(scope.Users)+")")
		}
		if len(scope.Templates) > 0 {
			either = append(either, tplKey.GetName()+" IN ("+quoteAll(scope.Templates)+")")
		}
		if len(either) == 0 {
			return "", false
		}
		q = append(q, "("+strings.Join(either, " OR ")+")")
	}
	if len(createdBy) > 0 {
		q = append(q, userKey.GetName()+" IN ("+quoteAll(createdBy)+")")
	}
	if len(templates) > 0 {
		q = append(q, tplKey.GetName()+" IN ("+quoteAll(templates)+")")
	}
	return strings.Join(q, " AND "), true
}

// quote quotes a value for a Temporal visibility query: a string literal
// whatever it holds.
func quote(v string) string { return "'" + visibilityEscaper.Replace(v) + "'" }

// visibilityEscaper is built once: a Replacer builds its tables on first
// use.
var visibilityEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = quote(v)
	}
	return strings.Join(q, ", ")
}

// lister collects the runs of visibility queries into tasks. Visibility
// lists runs: a task retried twice has three. A task is listed once, with
// its newest run's status and its first run's creation time.
type lister struct {
	s               *Service
	byID            map[string]*Task
	all             []*Task
	tplKey, userKey string
}

// list adds the runs query matches, up to maxListedTasks tasks.
func (l *lister) list(ctx context.Context, query string) error {
	var token []byte
	for {
		resp, err := l.s.d.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return err
		}
		for _, e := range resp.GetExecutions() {
			start := e.GetStartTime().AsTime()
			t := &Task{
				ID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(),
				Status: taskStatus(e.GetStatus()), Created: start, runStarted: start,
				TemplateRef: searchString(e.GetSearchAttributes(), l.tplKey),
				User:        searchString(e.GetSearchAttributes(), l.userKey),
			}
			if ct := e.GetCloseTime(); ct != nil && e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				t.Ended = ct.AsTime()
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
