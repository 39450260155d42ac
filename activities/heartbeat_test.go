package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
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

// TestProgressSurvivesKeepAlive: what an action records with
// RecordProgress stays the heartbeat details of every later keep-alive
// heartbeat, and a retry starts from it (a dispatch is not sent twice).
func TestProgressSurvivesKeepAlive(t *testing.T) {
	type sent struct{ Sent string }
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var last []string
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var s sent
		if d != nil {
			_ = d.Get(&s)
		}
		last = append(last, s.Sent)
	})
	attempts, seenOnRetry := 0, ""
	work := func(ctx context.Context) error {
		attempts++
		ctx, p := withProgress(ctx)
		stop := keepAliveEvery(ctx, 20*time.Millisecond, p.get)
		defer stop()
		if attempts == 1 {
			RecordProgress(ctx, sent{Sent: "abc"})
			time.Sleep(1200 * time.Millisecond) // keep-alives beat meanwhile
			return errors.New("lost after sending")
		}
		var prev sent
		if activity.HasHeartbeatDetails(ctx) && activity.GetHeartbeatDetails(ctx, &prev) == nil {
			seenOnRetry = prev.Sent
		}
		time.Sleep(900 * time.Millisecond)
		return nil
	}
	env.RegisterActivityWithOptions(work, activity.RegisterOptions{Name: "work"})
	env.ExecuteWorkflow(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, HeartbeatTimeout: 500 * time.Millisecond,
			RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 2, InitialInterval: time.Millisecond}})
		return workflow.ExecuteActivity(ctx, "work").Get(ctx, nil)
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if seenOnRetry != "abc" {
		t.Fatalf("the retry read %q from the heartbeat details, want abc (beats %v)", seenOnRetry, last)
	}
	for i, s := range last {
		if s != "abc" {
			t.Fatalf("heartbeat %d carried %q, want the recorded progress abc (all: %v)", i, s, last)
		}
	}
}
