package github

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	gh "github.com/google/go-github/v60/github"
	"go.temporal.io/sdk/activity"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
)

var permsActions = map[string]string{"actions": "write"}

// dispatched is the heartbeat detail github:actions:dispatch records once
// GitHub accepted the dispatch; a retry that finds it does not send again.
type dispatched struct {
	// Sent identifies what was sent: a hash of repository, workflow, ref
	// and inputs (inputs may hold values that must not sit in history in
	// clear).
	Sent string `json:"sent"`
}

// dispatch is github:actions:dispatch: a workflow_dispatch event. GitHub
// gives no id for a dispatch, so a retry cannot ask GitHub whether it
// was sent; the activity's heartbeat details remember it instead.
func (s *service) dispatch(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
	c, err := s.begin(ctx, ActionDispatch, in)
	if err != nil {
		return contract.ActionOutput{}, err
	}
	workflow, e1 := c.str("workflowId", "")
	ref, e2 := c.str("branchOrTagName", "")
	var inputs map[string]any
	var e3 error
	if v, ok := in.Input["workflowInputs"]; ok && v != nil {
		if inputs, ok = v.(map[string]any); !ok {
			e3 = fmt.Errorf("%w: workflowInputs must be an object", errs.ErrInvalid)
		}
	}
	if err := firstErr(e1, e2, e3); err != nil {
		return contract.ActionOutput{}, fail(err)
	}
	if workflow == "" || ref == "" {
		return contract.ActionOutput{}, fail(fmt.Errorf("%w: workflowId and branchOrTagName are required", errs.ErrInvalid))
	}
	if c.env.DryRun {
		c.logf("dry run: would dispatch workflow %s of %s/%s on %s with inputs %v", workflow, c.repo.owner, c.repo.repo, ref, sortedKeys(inputs))
		return c.output(map[string]any{}), nil
	}
	sum, _ := json.Marshal([]any{c.repo.target(), workflow, ref, inputs})
	h := sha256.Sum256(sum)
	sent := hex.EncodeToString(h[:])
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var prev dispatched
		if err := activity.GetHeartbeatDetails(ctx, &prev); err == nil && prev.Sent == sent {
			c.logf("workflow %s of %s/%s was already dispatched on %s by an earlier attempt; not sending again", workflow, c.repo.owner, c.repo.repo, ref)
			return c.output(map[string]any{}), nil
		}
	}
	client, cred, err := c.client(ctx, permsActions)
	if err != nil {
		return c.output(nil), err
	}
	event := gh.CreateWorkflowDispatchEventRequest{Ref: ref, Inputs: inputs}
	var resp *gh.Response
	if id, perr := strconv.ParseInt(workflow, 10, 64); perr == nil {
		resp, err = client.Actions.CreateWorkflowDispatchEventByID(ctx, c.repo.owner, c.repo.repo, id, event)
	} else {
		resp, err = client.Actions.CreateWorkflowDispatchEventByFileName(ctx, c.repo.owner, c.repo.repo, workflow, event)
	}
	if err != nil {
		return c.output(nil), apiError("dispatch workflow "+workflow, err, resp, cred)
	}
	activities.RecordProgress(ctx, dispatched{Sent: sent})
	c.logf("dispatched workflow %s of %s/%s on %s", workflow, c.repo.owner, c.repo.repo, ref)
	return c.output(map[string]any{}), nil
}
