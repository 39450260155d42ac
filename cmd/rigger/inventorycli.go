package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/tasks"
)

// templateInventoryCommand shows which templates use which actions, and
// what disabling actions would break (exit 1 when it would break any).
func (c *cli) templateInventoryCommand() *cobra.Command {
	var rf remoteFlags
	var asJSON bool
	var disable []string
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Which templates use which actions; --disable shows what switching actions off would break",
		Long: "Lists every action with its status (available, disabled, unknown), its queue and the templates\n" +
			"whose steps use it, then the templates that cannot run today. With --disable ID (repeatable or\n" +
			"comma-separated) it prints the templates each action is used by and exits 1 when any is used:\n" +
			"a check to run before adding them to scaffolder.disabledActions.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := c.client(&rf)
			if err != nil {
				return err
			}
			var inv tasks.Inventory
			if err := api.doContext(cmd.Context(), "GET", "/api/scaffolder/v2/inventory", nil, &inv); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(inv)
			}
			if len(disable) > 0 {
				return c.printBreaks(inv, disable)
			}
			printInventory(c.stdout, inv)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the inventory as JSON")
	cmd.Flags().StringSliceVar(&disable, "disable", nil, "action ids to check: which templates would break if they were disabled")
	rf.register(cmd)
	return cmd
}

func printInventory(w io.Writer, inv tasks.Inventory) {
	fmt.Fprintf(w, "%-34s %-10s %-17s %s\n", "ACTION", "STATUS", "QUEUE", "TEMPLATES")
	for _, a := range inv.Actions {
		if len(a.Templates) == 0 && a.Status == tasks.ActionAvailable {
			continue
		}
		used := strings.Join(a.Templates, ", ")
		if used == "" {
			used = "-"
		}
		fmt.Fprintf(w, "%-34s %-10s %-17s %s\n", a.ID, a.Status, orDash(a.Queue), used)
	}
	unused := 0
	for _, a := range inv.Actions {
		if len(a.Templates) == 0 && a.Status == tasks.ActionAvailable {
			unused++
		}
	}
	fmt.Fprintf(w, "(%d available actions no template uses are not shown; --json lists them)\n", unused)
	for _, t := range inv.Templates {
		if len(t.Broken) > 0 {
			fmt.Fprintf(w, "broken: %s uses %s\n", t.Ref, strings.Join(t.Broken, ", "))
		}
	}
	for _, t := range inv.Invalid {
		fmt.Fprintf(w, "invalid: %s: %s\n", t.Ref, t.Error)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *cli) printBreaks(inv tasks.Inventory, disable []string) error {
	breaks := inv.Breaks(disable)
	for _, a := range disable {
		if used, ok := breaks[a]; ok {
			fmt.Fprintf(c.stdout, "%s: used by %d template(s): %s\n", a, len(used), strings.Join(used, ", "))
		} else {
			fmt.Fprintf(c.stdout, "%s: no template uses it\n", a)
		}
	}
	if len(breaks) > 0 {
		return errors.New("disabling these actions would break the templates above")
	}
	return nil
}

// checkDisabledActions reports the stored templates that use an action
// scaffolder.disabledActions switches off: a warning each, or with
// scaffolder.disabledActionsPolicy: refuse-if-used an error that stops
// start-up.
func checkDisabledActions(ctx context.Context, cfg *config.Config, st store.Store, reg *contract.Registry, logger *slog.Logger, out io.Writer) error {
	disabled := cfg.Scaffolder.DisabledActions
	if len(disabled) == 0 {
		return nil
	}
	refuse := cfg.Scaffolder.DisabledActionsPolicy == "refuse-if-used"
	es, err := tasks.ListTemplates(ctx, st.Query)
	if err != nil {
		err = fmt.Errorf("inventory of the stored templates for scaffolder.disabledActions: %w", err)
		if refuse {
			return err
		}
		logger.Warn(err.Error())
		fmt.Fprintln(out, "warning:", err)
		return nil
	}
	breaks := tasks.BuildInventory(es, reg).Breaks(disabled)
	if len(breaks) == 0 {
		return nil
	}
	actions := make([]string, 0, len(breaks))
	for a := range breaks {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	var lines []string
	for _, a := range actions {
		lines = append(lines, fmt.Sprintf("scaffolder.disabledActions: %s is used by %s", a, strings.Join(breaks[a], ", ")))
	}
	if refuse {
		return fmt.Errorf("%s\n(scaffolder.disabledActionsPolicy is refuse-if-used: change those templates first, or set it to warn)", strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		logger.Warn(l + ": those templates fail validation until it is enabled again")
		fmt.Fprintln(out, "warning:", l)
	}
	return nil
}
