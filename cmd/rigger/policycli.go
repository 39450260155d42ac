package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/permission"
)

// loadPolicy loads permission.policyFile(s), or the built-in default
// policy when none is named, with permission.admins; a policy that does
// not parse or validate stops start-up. Conditions lists cannot filter in
// SQL are logged. permission.enabled: false means no policy (nil).
func loadPolicy(cfg *config.Config, logger *slog.Logger) (*permission.Policy, error) {
	if !cfg.Permission.Enabled {
		logger.Warn("permission.enabled is false: no permission policy is applied")
		return nil, nil
	}
	files := cfg.Permission.Files()
	var p *permission.Policy
	var err error
	if len(files) == 0 {
		p, err = permission.Default()
	} else {
		p, err = permission.Load(files)
	}
	if err != nil {
		return nil, fmt.Errorf("permission policy: %w", err)
	}
	for _, w := range p.Warnings() {
		logger.Warn("permission policy: " + w)
	}
	if len(files) == 0 {
		logger.Info("permission policy: the built-in default (examples/policies/default.cedar)")
	} else {
		logger.Info("permission policy loaded", "files", files)
	}
	return p.WithAdmins(cfg.Permission.Admins), nil
}

func (c *cli) policyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Test Cedar permission policies"}
	cmd.AddCommand(c.policyTestCommand())
	return cmd
}

// policyTestCommand evaluates a YAML table of cases against policies and
// exits 1 when any case does not get its expected decision.
func (c *cli) policyTestCommand() *cobra.Command {
	var policies []string
	cmd := &cobra.Command{
		Use:   "test FILE",
		Short: "Evaluate a YAML table of (principal, action, resource, expect) cases against policies (exit 1 on a failure)",
		Long: `rigger policy test reads a table of cases, each a principal (a user with its
groups, a service with its scopes, or the guest), an action, a resource (an inline
entity, a task, an action, a location or a system) and the expected decision
(allow or deny), evaluates them against the Cedar policies the file names in
policies: (or --policy), and prints each case with the reason of its decision.
The format is described in examples/policies/README.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := permission.ReadCases(args[0])
			if err != nil {
				return exitError{code: 1, msg: err.Error()}
			}
			files := f.Policies
			if len(policies) > 0 {
				files = policies
			}
			if len(files) == 0 {
				return exitError{code: 2, msg: fmt.Sprintf("%s names no policies: add policies: [FILE] or pass --policy FILE", args[0])}
			}
			p, err := permission.Load(files)
			if err != nil {
				return exitError{code: 1, msg: err.Error()}
			}
			// An inline entity of a catalog.model kind gets the owner
			// its model gives, as the server's catalog would.
			cfg, err := c.loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			model, probs := cfg.Catalog.Model.Build()
			if len(probs) > 0 {
				return exitError{code: 1, msg: fmt.Sprintf("catalog.model.%s: %s", probs[0].Path, probs[0].Message)}
			}
			res, err := permission.RunCases(p, args[0], f, model)
			if err != nil {
				return exitError{code: 1, msg: err.Error()}
			}
			failed := 0
			for _, r := range res {
				got := "deny"
				if r.Decision.Allowed {
					got = "allow"
				}
				if r.Pass {
					fmt.Fprintf(c.stdout, "PASS  %s: %s (%s)\n", r.Case.Name, got, r.Decision.Reason)
					continue
				}
				failed++
				fmt.Fprintf(c.stdout, "FAIL  %s %s: want %s, got %s: %s\n", r.Where, r.Case.Name, r.Case.Expect, got, r.Decision.Reason)
			}
			fmt.Fprintf(c.stdout, "%d passed, %d failed\n", len(res)-failed, failed)
			if failed > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&policies, "policy", nil, "policy file to test (repeatable; overrides the file's policies:)")
	return cmd
}
