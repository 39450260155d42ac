// Package step is what an integration's action (activities/github,
// activities/aws, activities/terraform) learns about the step it runs:
// the verified run it acts for and the task's workspace. The scaffolder's
// checked wrapper (activities.Scaffold.CheckedIntegration) puts it in the
// activity's context after verifying the run's grant and the step's mark,
// so an integration never reads who it acts for from its input.
package step

import (
	"context"
	"errors"

	"github.com/riggerdev/rigger/internal/credentials"
)

// Env is one step's verified environment.
type Env struct {
	// Run is who the step acts for, as the API server signed it.
	Run credentials.Run
	// StepID is the template step's id.
	StepID string
	// Workspace is the task's workspace directory (it exists). Open files
	// in it through os.OpenRoot, never by joining paths.
	Workspace string
	// DryRun asks for the action's dry-run behaviour: report what it
	// would do, create nothing.
	DryRun bool
}

type envKey struct{}

// WithEnv returns ctx carrying env.
func WithEnv(ctx context.Context, env Env) context.Context {
	return context.WithValue(ctx, envKey{}, env)
}

// ErrNoEnv is an integration action called outside the checked wrapper.
var ErrNoEnv = errors.New("this action runs only inside a verified scaffolder step")

// From returns the step's Env.
func From(ctx context.Context) (Env, error) {
	env, ok := ctx.Value(envKey{}).(Env)
	if !ok || env.Run.TaskID == "" || env.Workspace == "" {
		return Env{}, ErrNoEnv
	}
	return env, nil
}
