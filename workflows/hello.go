package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
)

// HelloName is the registered name of the Hello workflow.
const HelloName = "rigger.hello"

// HelloInput is the input of the Hello smoke-check workflow.
type HelloInput struct {
	Name string `json:"name"`
	// Delay makes the second activity wait, to exercise crash recovery.
	Delay time.Duration `json:"delay"`
}

// HelloResult is what Hello returns.
type HelloResult struct {
	Greeting  string `json:"greeting"`
	Delivered string `json:"delivered"`
}

// Hello runs two activities in sequence. It proves the chain API → Temporal →
// worker → activity works end to end, and that a completed activity is never
// run again after the process restarts.
func Hello(ctx workflow.Context, in HelloInput) (HelloResult, error) {
	retry := &temporal.RetryPolicy{
		InitialInterval:    200 * time.Millisecond,
		BackoffCoefficient: 2,
		MaximumInterval:    5 * time.Second,
		MaximumAttempts:    10,
	}
	composeCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         retry,
	})
	var greeting string
	if err := workflow.ExecuteActivity(composeCtx, contract.HelloCompose, contract.HelloComposeInput{Name: in.Name}).Get(ctx, &greeting); err != nil {
		return HelloResult{}, err
	}

	deliverCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: in.Delay + 10*time.Second,
		// A short heartbeat timeout lets the server notice a killed worker
		// quickly and hand the attempt to the restarted one.
		HeartbeatTimeout: 2 * time.Second,
		RetryPolicy:      retry,
	})
	var delivered string
	if err := workflow.ExecuteActivity(deliverCtx, contract.HelloDeliver, contract.HelloDeliverInput{Greeting: greeting, Delay: in.Delay}).Get(ctx, &delivered); err != nil {
		return HelloResult{}, err
	}
	return HelloResult{Greeting: greeting, Delivered: delivered}, nil
}
