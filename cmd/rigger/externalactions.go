package main

import (
	"errors"
	"fmt"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/templates"
)

// actionRegistry is the action registry of cfg: the built-in actions less
// scaffolder.disabledActions, plus scaffolder.externalActions. Its error
// names the entry (an id that shadows a built-in action, say).
func actionRegistry(cfg *config.Config, disabled []string) (*contract.Registry, error) {
	r := contract.NewRegistry(disabled)
	var errs []error
	for i, a := range cfg.Scaffolder.ExternalActions {
		in, err := a.InputSchema.JSON()
		if err != nil {
			errs = append(errs, fmt.Errorf("scaffolder.externalActions[%d].inputSchema: %w", i, err))
			continue
		}
		out, err := a.OutputSchema.JSON()
		if err != nil {
			errs = append(errs, fmt.Errorf("scaffolder.externalActions[%d].outputSchema: %w", i, err))
			continue
		}
		err = r.AddExternal(contract.ExternalAction{
			ID: a.ID, Description: a.Description, Input: in, Output: out, TaskQueue: a.TaskQueue,
			Timeout: a.StepTimeout(), HeartbeatTimeout: a.HeartbeatTimeout, DryRunSafe: a.DryRunSafe,
			Retry: templates.RetryPolicy{MaximumAttempts: a.Retry.MaximumAttempts, InitialInterval: a.Retry.InitialInterval, MaximumInterval: a.Retry.MaximumInterval},
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("scaffolder.externalActions[%d]: %w", i, err))
		}
	}
	return r, errors.Join(errs...)
}
