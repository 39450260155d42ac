package workflows

import (
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplayScaffold replays histories recorded from real runs (see
// internal/e2e/history_test.go, -record-histories): a change to Scaffold that
// would break workflows already running fails here. Shape changes go behind
// workflow.GetVersion. The *_mid_* histories end while their run waits in
// the middle of the step loop, as a worker of the build after theirs finds
// them.
func TestReplayScaffold(t *testing.T) {
	files, err := filepath.Glob("testdata/scaffold_history_*.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("want the recorded histories of every workflow shape, found %v (%v)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := replay(Scaffold, f); err != nil {
				t.Fatalf("replay of a recorded scaffolder run failed (non-determinism?): %v", err)
			}
		})
	}
}

// TestReplayNeedsTheWaitingStatusGuard: the histories of runs of the build
// before waitingStatusChange that reached a wait, replayed by the step loop
// with the change but without its GetVersion guard, fail with a
// nondeterminism error: the guard is what keeps them running.
func TestReplayNeedsTheWaitingStatusGuard(t *testing.T) {
	unguarded := func(ctx workflow.Context, in ScaffoldInput) (*ScaffoldState, error) {
		return scaffold(ctx, in, func(workflow.Context) bool { return true })
	}
	for _, f := range []string{
		"testdata/scaffold_history_v4_audit_outcome.json",              // completed, after a debug:wait
		"testdata/scaffold_history_v4_audit_outcome_mid_wait.json",     // waiting on debug:wait
		"testdata/scaffold_history_v4_audit_outcome_mid_approval.json", // waiting on rigger:approval
	} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := replay(Scaffold, f); err != nil {
				t.Fatalf("with the guard: %v", err)
			}
			err := replay(unguarded, f)
			// TMPRL1100 is the SDK's nondeterminism error: the unguarded
			// code upserts where the history has the wait's timer.
			if err == nil || !strings.Contains(err.Error(), "TMPRL1100") || !strings.Contains(err.Error(), "matching Timer command was expected") {
				t.Fatalf("without the guard: want a nondeterminism error where the wait's timer was recorded, got %v", err)
			}
		})
	}
}

// replay replays the history in file with wf as the scaffolder workflow.
func replay(wf func(workflow.Context, ScaffoldInput) (*ScaffoldState, error), file string) error {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: ScaffoldName})
	return r.ReplayWorkflowHistoryFromJSONFile(nil, file)
}
