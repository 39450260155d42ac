package tasks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// Actions the Authorizer decides. The permission policy names the same
// actions.
const (
	ActionTemplateRead    = "scaffolder.template.read"
	ActionTemplateExecute = "scaffolder.template.execute"
	ActionTaskRead        = "scaffolder.task.read"
	ActionTaskCancel      = "scaffolder.task.cancel"
	ActionTaskRetry       = "scaffolder.task.retry"
	ActionTaskApprove     = "scaffolder.task.approve"
	ActionActionExecute   = "scaffolder.action.execute"
	// ActionTaskRunUnattended is asked on a template: may an agent's run
	// skip the approval gate (mcp.approval: policy)?
	ActionTaskRunUnattended = "scaffolder.task.runUnattended"
)

// Authorizer decides what a caller may do with tasks and templates. A nil
// error allows; any error denies. The service turns a denied read into
// "not found" (a task's existence does not leak) and a denied change into
// errs.ErrForbidden with the Authorizer's reason.
type Authorizer interface {
	// Template decides ActionTemplateRead and ActionTemplateExecute.
	Template(ctx context.Context, who auth.Identity, action string, tmpl TemplateInfo) error
	// Task decides ActionTaskRead, ActionTaskCancel, ActionTaskRetry and
	// ActionTaskApprove.
	Task(ctx context.Context, who auth.Identity, action string, t TaskInfo) error
	// ListScope says which tasks a caller may list: every task, or those
	// created by some users or from some templates.
	ListScope(ctx context.Context, who auth.Identity) (ListScope, error)
	// Action decides ActionActionExecute for one scaffolder action id (a
	// task runs only if every action of its plan is allowed).
	Action(ctx context.Context, who auth.Identity, action string) error
}

// TaskInfo is what an Authorizer knows of a task.
type TaskInfo struct {
	ID string
	// CreatedBy is the user ref the task runs for: for a retry, the one its
	// signed input names.
	CreatedBy string
	// Template is the template's ref; TemplateOwner its spec.owner when the
	// catalog still holds it ("" otherwise).
	Template      string
	TemplateOwner string
}

// TemplateInfo is what an Authorizer knows of a template.
type TemplateInfo struct {
	Ref, Owner string
	Tags       []string
	// Uploaded is a dry run's template, sent with the request: it is
	// decided on what it says, not on the catalog's template of that name.
	Uploaded bool
	// Entity is the template as the catalog holds it, when already read.
	Entity *store.StoredEntity
}

// ListScope is the tasks a caller may list: All, or those created by one of
// Users or from one of Templates. The zero value lists nothing.
type ListScope struct {
	All              bool
	Users, Templates []string
}

// DefaultAuthorizer is the rule set before policies are configurable: every
// template may be read and run (a service token still needs the route's
// scope); a task is read and changed only by its creator and by service
// tokens with the scaffolder.admin scope (or "*").
type DefaultAuthorizer struct{}

// Template allows every template, but no agent's run without approval
// (that takes a policy that permits it).
func (DefaultAuthorizer) Template(_ context.Context, _ auth.Identity, action string, t TemplateInfo) error {
	if action == ActionTaskRunUnattended {
		return fmt.Errorf("%w: no policy permits %s on %s", errs.ErrForbidden, action, t.Ref)
	}
	return nil
}

// Task allows the task's creator and task admins.
func (DefaultAuthorizer) Task(_ context.Context, who auth.Identity, action string, t TaskInfo) error {
	if (who.Ref != "" && who.Ref == t.CreatedBy) || isTaskAdmin(who) {
		return nil
	}
	if action == ActionTaskRead {
		return errs.NotFound("no task with id %q", t.ID)
	}
	return fmt.Errorf("%w: only %s (or a token with the scaffolder.admin scope) may change task %s", errs.ErrForbidden, t.CreatedBy, t.ID)
}

// ListScope is every task for task admins, else the caller's own.
func (DefaultAuthorizer) ListScope(_ context.Context, who auth.Identity) (ListScope, error) {
	if isTaskAdmin(who) {
		return ListScope{All: true}, nil
	}
	if who.Ref == "" {
		return ListScope{}, nil
	}
	return ListScope{Users: []string{who.Ref}}, nil
}

// Action allows every action but those a service token is restricted
// from (auth.Identity.Actions).
func (DefaultAuthorizer) Action(_ context.Context, who auth.Identity, action string) error {
	return tokenMayRun(who, action)
}

// tokenMayRun applies a service token's action restriction.
func tokenMayRun(who auth.Identity, action string) error {
	if len(who.Actions) > 0 && !slices.Contains(who.Actions, action) {
		return fmt.Errorf("%w: this token may run only the actions %s, not %s", errs.ErrForbidden, strings.Join(who.Actions, ", "), action)
	}
	return nil
}

// isTaskAdmin: a service token with scaffolder.admin (or "*").
func isTaskAdmin(who auth.Identity) bool {
	return who.Service && permission.HasScope(who.Scopes, permission.ScaffolderAdmin)
}

// mayRead asks the Authorizer whether who may read t; a refusal is "not
// found", whatever the Authorizer said.
func (s *Service) mayRead(ctx context.Context, who auth.Identity, t *Task) error {
	if err := s.authz.Task(ctx, who, ActionTaskRead, s.taskInfo(ctx, t)); err != nil {
		if undecided(err) {
			return err
		}
		return errs.NotFound("no task with id %q", t.ID)
	}
	return nil
}

// denial is an Authorizer's error as the service answers it: a refusal
// (errs.ErrForbidden) as it is, a failure to decide (undecided) unchanged,
// so that it is answered as what it is (503) and its cause (a database's
// address) is shown to no caller as a reason; any other error is a
// refusal with the Authorizer's reason.
func denial(err error) error {
	if err == nil || errorsIsForbidden(err) || undecided(err) {
		return err
	}
	return fmt.Errorf("%w: %v", errs.ErrForbidden, err)
}

// undecided: the Authorizer could not decide (review 34 L2): the database
// its check reads is unreachable, a service is unavailable, or the
// request's context ended.
func undecided(err error) bool {
	return store.Unreachable(err) || errors.Is(err, errs.ErrUnavailable) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// mayChange asks the Authorizer whether who may do action to t; a refusal
// is errs.ErrForbidden with the Authorizer's reason.
func (s *Service) mayChange(ctx context.Context, who auth.Identity, action string, t *Task) error {
	err := denial(s.authz.Task(ctx, who, action, s.taskInfo(ctx, t)))
	if err == nil || !errorsIsForbidden(err) {
		return err
	}
	if t.User != "" && !strings.Contains(err.Error(), t.User) {
		err = fmt.Errorf("%w (task %s belongs to %s)", err, t.ID, t.User)
	}
	return err
}
