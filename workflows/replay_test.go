package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayScaffold replays a history recorded from a real run (see
// internal/e2e/history_test.go, -record-histories): a change to Scaffold that
// would break workflows already running fails here. Shape changes go behind
// workflow.GetVersion.
func TestReplayScaffold(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(Scaffold, workflow.RegisterOptions{Name: ScaffoldName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/scaffold_history.json"); err != nil {
		t.Fatalf("replay of a recorded scaffolder run failed (non-determinism?): %v", err)
	}
}
