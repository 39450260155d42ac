package activities

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// TestKeepAliveHeartbeats: a regular activity using keepAlive heartbeats,
// with its progress, while it works and no longer once stopped; outside an
// activity it does nothing (no panic).
func TestKeepAliveHeartbeats(t *testing.T) {
	stopped := keepAliveEvery(context.Background(), time.Millisecond, nil)
	stopped()

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var beats []int
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var n int
		if d != nil {
			_ = d.Get(&n)
		}
		beats = append(beats, n)
	})
	work := func(ctx context.Context) error {
		progress := 7
		stop := keepAliveEvery(ctx, 20*time.Millisecond, func() any { return progress })
		time.Sleep(1200 * time.Millisecond)
		stop()
		return nil
	}
	env.RegisterActivityWithOptions(work, activity.RegisterOptions{Name: "work"})
	env.ExecuteWorkflow(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, HeartbeatTimeout: 500 * time.Millisecond})
		return workflow.ExecuteActivity(ctx, "work").Get(ctx, nil)
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(beats) < 2 {
		t.Fatalf("%d heartbeats in 1.2 s at one per 20 ms (throttled to one per 400 ms)", len(beats))
	}
	if beats[0] != 7 {
		t.Errorf("heartbeat details %v, want the progress 7", beats[0])
	}
}
