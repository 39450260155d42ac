package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/templates"
)

// ApprovalState is what a rigger:approval step asks and what was decided:
// the task page shows it, the API checks a decision against it.
type ApprovalState struct {
	// RequestID names this wait: the step, its item, when it began and
	// (runs since approvalRequestNonceChange) a random part. A decision
	// must name it.
	RequestID   string    `json:"requestId"`
	Message     string    `json:"message,omitempty"`
	RequestedAt time.Time `json:"requestedAt"`
	Deadline    time.Time `json:"deadline"`
	// AllowSelf lets the task's creator decide too.
	AllowSelf bool `json:"allowSelfApproval,omitempty"`
	// Decision is "", approved, rejected or timed-out.
	Decision  string     `json:"decision,omitempty"`
	DecidedBy string     `json:"decidedBy,omitempty"`
	DecidedAt *time.Time `json:"decidedAt,omitempty"`
	Comment   string     `json:"comment,omitempty"`
}

// Decisions an approval step records.
const (
	Approved = "approved"
	Rejected = "rejected"
	TimedOut = "timed-out"
)

// RejectedType is the error type of a rejected (or undecided) approval:
// never retried.
const RejectedType = "ApprovalRejected"

// maxApprovalMessage bounds the message kept in the state (a Terraform
// plan can be long; the state is a query result).
const maxApprovalMessage = 64 << 10

// approvals is the run's side of approval steps: its state, the signal
// channel decisions arrive on, and its log.
type approvals struct {
	st *ScaffoldState
	ch workflow.ReceiveChannel
	// events receives rigger:wait-for's events.
	events workflow.ReceiveChannel
	log    func(stepID, typ, text string)
	// waiting marks the run as waiting (see markWaiting).
	waiting func(workflow.Context) (end func())
}

// stepIndex is the index of step id in the run's state, or -1.
func (a *approvals) stepIndex(id string) int {
	for i := range a.st.Steps {
		if a.st.Steps[i].ID == id {
			return i
		}
	}
	return -1
}

type approvalsKey struct{}

// awaitApproval waits, on a durable timer and a signal (no worker held),
// for a decision the API server signed for this run's step; a decision it
// did not sign, or one for another step or attempt, is logged and ignored.
func awaitApproval(ctx workflow.Context, in ScaffoldInput, step templates.PlanStep, item int, input map[string]any) (contract.ActionOutput, error) {
	a, _ := ctx.Value(approvalsKey{}).(*approvals)
	if a == nil {
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError("rigger:approval runs only in a scaffolder run", RejectedType, nil)
	}
	idx := a.stepIndex(step.ID)
	timeout, err := approvalTimeout(input)
	if err != nil || idx < 0 {
		if err == nil {
			err = fmt.Errorf("step %s is not in the run", step.ID)
		}
		return contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), RejectedType, nil)
	}
	msg, _ := input["message"].(string)
	if len(msg) > maxApprovalMessage {
		msg = msg[:maxApprovalMessage] + "\n… (cut)"
	}
	self, _ := input["allowSelfApproval"].(bool)
	now := workflow.Now(ctx)
	req := &ApprovalState{RequestID: approvalRequestID(ctx, step.ID, item, now),
		Message: msg, RequestedAt: now, Deadline: now.Add(timeout), AllowSelf: self}
	a.st.Steps[idx].Approval = req
	a.log(step.ID, "log", fmt.Sprintf("Waiting for approval (until %s)", req.Deadline.UTC().Format(time.RFC3339)))

	hash := in.InputHash()
	return signalWait(ctx, in, a.ch, timeout, func(checkCtx workflow.Context, signal contract.SignedDecision) (bool, contract.ActionOutput, error) {
		var res contract.DecisionResult
		err := workflow.ExecuteLocalActivity(checkCtx, contract.ScaffoldCheckDecision,
			contract.CheckDecisionInput{Signal: signal, Run: in.Run, InputHash: hash, StepID: step.ID, RequestID: req.RequestID}).Get(ctx, &res)
		d := res.Decision
		switch {
		case err != nil:
			a.log(step.ID, "log", "Ignored a decision: "+rootMessage(err))
			return false, contract.ActionOutput{}, nil
		case d.StepID != step.ID:
			a.log(step.ID, "log", fmt.Sprintf("Ignored a decision for step %s", d.StepID))
			return false, contract.ActionOutput{}, nil
		case d.RequestID != req.RequestID:
			a.log(step.ID, "log", fmt.Sprintf("Ignored a decision on an earlier request of step %s (%s, not %s)", step.ID, d.RequestID, req.RequestID))
			return false, contract.ActionOutput{}, nil
		case !req.AllowSelf && in.Plan.UserRef != "" && strings.EqualFold(d.By, in.Plan.UserRef):
			a.log(step.ID, "log", fmt.Sprintf("Ignored %s's decision: they started the run, and this step needs someone else's", d.By))
			return false, contract.ActionOutput{}, nil
		}
		at := workflow.Now(ctx)
		req.DecidedBy, req.DecidedAt, req.Comment = d.By, &at, d.Comment
		said := ""
		if d.Comment != "" {
			said = ": " + d.Comment
		}
		if !d.Approved {
			req.Decision = Rejected
			return true, contract.ActionOutput{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("rejected by %s%s", d.By, said), RejectedType, nil)
		}
		req.Decision = Approved
		return true, contract.ActionOutput{Output: res.Output, OutputMark: res.OutputMark, Logs: []string{fmt.Sprintf("Approved by %s%s", d.By, said)}}, nil
	}, func() error {
		at := workflow.Now(ctx)
		req.Decision, req.DecidedAt = TimedOut, &at
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("no decision within %s", timeout), RejectedType, nil)
	})
}

// approvalTimeout reads rigger:approval's timeout: a Go duration, within
// (0, MaxApprovalWait]; DefaultApprovalWait when not given.
func approvalTimeout(in map[string]any) (time.Duration, error) {
	v, ok := in["timeout"]
	if !ok || v == nil || v == "" {
		return contract.DefaultApprovalWait, nil
	}
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("rigger:approval: timeout must be a duration such as 48h, not %T", v)
	}
	d, err := templates.ParseWaitDuration(s)
	if err != nil || d <= 0 || d > contract.MaxApprovalWait {
		return 0, fmt.Errorf("rigger:approval: timeout %q must be a duration between 1s and %d days (such as 48h, 14d or 2w)", s, contract.MaxApprovalWait/(24*time.Hour))
	}
	return d, nil
}

// approvalRequestNonceChange (session 33) ends an approval's request id
// with 96 random bits (a SideEffect, kept in the history): a decision
// cannot name a wait it was not shown, as it could from the step, its
// item and the time alone. Runs that began waiting on an older worker keep
// the old id.
const approvalRequestNonceChange = "approval-request-nonce"

// approvalRequestID names the wait of step's item that began at now.
func approvalRequestID(ctx workflow.Context, step string, item int, now time.Time) string {
	id := fmt.Sprintf("%s.%d.%d", step, item, now.UnixMilli())
	if workflow.GetVersion(ctx, approvalRequestNonceChange, workflow.DefaultVersion, 1) < 1 {
		return id
	}
	var nonce string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return runsign.Nonce(12) }).Get(&nonce); err != nil {
		return id
	}
	return id + "." + nonce
}
