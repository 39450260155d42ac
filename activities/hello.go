package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
)

// Hello implements the two activities of the rigger.hello smoke-check workflow.
type Hello struct {
	Logger *slog.Logger
}

func (h *Hello) logExecuted(ctx context.Context, name string) {
	info := activity.GetInfo(ctx)
	h.Logger.InfoContext(ctx, "activity executed",
		"activity", name,
		"workflow_id", info.WorkflowExecution.ID,
		"run_id", info.WorkflowExecution.RunID,
		"attempt", info.Attempt)
}

// Compose returns the greeting for a name.
func (h *Hello) Compose(ctx context.Context, in contract.HelloComposeInput) (string, error) {
	h.logExecuted(ctx, contract.HelloCompose)
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = "world"
	}
	if len(name) > 200 {
		return "", temporal.NewNonRetryableApplicationError("name is longer than 200 characters", "InvalidInput", nil)
	}
	return fmt.Sprintf("Hello, %s!", name), nil
}

// Deliver waits for in.Delay, heartbeating every 500 ms, then returns the
// greeting marked as delivered.
func (h *Hello) Deliver(ctx context.Context, in contract.HelloDeliverInput) (string, error) {
	h.logExecuted(ctx, contract.HelloDeliver)
	if in.Delay > time.Hour {
		return "", temporal.NewNonRetryableApplicationError("delay is longer than one hour", "InvalidInput", nil)
	}
	deadline := time.NewTimer(in.Delay)
	defer deadline.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			return in.Greeting + " (delivered)", nil
		case <-tick.C:
			activity.RecordHeartbeat(ctx)
		case <-ctx.Done():
			return "", errors.Join(errors.New("delivery cancelled"), ctx.Err())
		}
	}
}
