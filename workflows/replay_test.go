package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayScaffold replays a history recorded from a real run (see
// internal/e2e/history_test.go, -record-histories): a change to Scaffold that
// would break workflows already running fails here. Shape changes go behind
// workflow.GetVersion.
func TestReplayScaffold(t *testing.T) {
	files, err := filepath.Glob("testdata/scaffold_history_*.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("want the recorded histories of every workflow shape, found %v (%v)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(Scaffold, workflow.RegisterOptions{Name: ScaffoldName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay of a recorded scaffolder run failed (non-determinism?): %v", err)
			}
		})
	}
}
