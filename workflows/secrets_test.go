package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/templates"
)

// TestSecretsForgottenWhenRunEnds: a task's sealed secrets are deleted
// from the store (the row, not only the plaintext) when its run completes
// and when it is cancelled (the API's cancel signal, or a cancellation
// requested through Temporal: its UI or CLI), by the real activities on a
// real SQLite store.
func TestSecretsForgottenWhenRunEnds(t *testing.T) {
	for _, name := range []string{"completed", "cancelled", "cancelled-in-temporal"} {
		cancel := name != "completed"
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			st, err := sqlite.Open(ctx, filepath.Join(dir, "rigger.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			key, err := secretbox.LoadOrCreateKeyFile(filepath.Join(dir, "secret.key"))
			if err != nil {
				t.Fatal(err)
			}
			keeper, err := secretbox.New(key, st, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			const task = "task-with-secrets"
			if err := keeper.Put(ctx, task, map[string]string{"token": "hunter2"}); err != nil {
				t.Fatal(err)
			}

			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			r, err := templates.NewRenderer(templates.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			sc := &activities.Scaffold{Renderer: r, Workspaces: activities.NewWorkspaces(t.TempDir(), 0, 0), Secrets: keeper,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			env.RegisterWorkflowWithOptions(Scaffold, workflow.RegisterOptions{Name: ScaffoldName})
			env.RegisterActivityWithOptions(sc.Render, activity.RegisterOptions{Name: contract.ScaffoldRender})
			env.RegisterActivityWithOptions(sc.RenderTemplateOutput, activity.RegisterOptions{Name: contract.ScaffoldRenderOutput})
			env.RegisterActivityWithOptions(sc.ForgetSecrets, activity.RegisterOptions{Name: contract.ScaffoldForgetSecrets})
			env.RegisterActivityWithOptions(sc.RunLocalStep, activity.RegisterOptions{Name: contract.ScaffoldRunLocalStep})
			env.RegisterActivityWithOptions(sc.Actions()["debug:log"], activity.RegisterOptions{Name: contract.ActionActivity("debug:log")})

			steps := []templates.PlanStep{{ID: "use", Name: "Use", Input: map[string]any{"message": "token ${{ secrets.token }}"}}}
			if cancel {
				steps = append(steps, templates.PlanStep{ID: "wait", Name: "Wait", Action: contract.ActionWait, Input: map[string]any{"minutes": 30}})
				if name == "cancelled" {
					env.RegisterDelayedCallback(func() { env.SignalWorkflow(ScaffoldCancelSignal, nil) }, 10*time.Minute)
				} else {
					env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Minute)
				}
			}
			p := plan(steps...)
			p.Output = nil
			env.ExecuteWorkflow(ScaffoldName, ScaffoldInput{TaskID: task, Plan: p, Secrets: []string{"token"}, SecretNonce: "nonce"})
			if !env.IsWorkflowCompleted() {
				t.Fatal("the run did not end")
			}
			err = env.GetWorkflowError()
			if cancel != (err != nil) {
				t.Fatalf("run error: %v (cancelled: %v)", err, cancel)
			}
			if cancel && !temporal.IsCanceledError(err) {
				t.Fatalf("a cancelled run ended with %v, want a cancellation", err)
			}
			if _, err := st.GetTaskSecrets(ctx, task); !errors.Is(err, errs.ErrNotFound) {
				t.Fatalf("the sealed secrets are still stored after the run was %s (TTL 1 h): %v", name, err)
			}
		})
	}
}
