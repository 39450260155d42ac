package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
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
// scaffolder.disabledActions switches off. Under refuse-if-used a start
// is refused only for actions disabled since the last accepted start or
// reload (the set is kept in the store): an action that was already off
// only warns, or any template author could stop the next start by using
// it. An accepted start stores its set.
func checkDisabledActions(ctx context.Context, cfg *config.Config, st store.Store, reg *contract.Registry, logger *slog.Logger, out io.Writer) error {
	disabled := cfg.Scaffolder.DisabledActions
	refuse := cfg.Scaffolder.DisabledActionsPolicy == "refuse-if-used"
	before, known, err := acceptedDisabled(ctx, st)
	if err != nil {
		return err
	}
	if len(disabled) > 0 {
		newly := disabled
		if known {
			newly = addedActions(before, disabled)
		}
		breaks, err := disabledBreaks(ctx, st, reg, disabled)
		if err != nil {
			if refuse && len(newly) > 0 {
				return err
			}
			logger.Warn(err.Error())
			fmt.Fprintln(out, "warning:", err)
		}
		var refusing []string
		for _, b := range breaks {
			if refuse && slices.Contains(newly, b.action) {
				refusing = append(refusing, b.line)
				continue
			}
			logger.Warn(b.line + ": those templates fail validation until it is enabled again")
			fmt.Fprintln(out, "warning:", b.line)
		}
		if len(refusing) > 0 {
			return fmt.Errorf("%s\n(scaffolder.disabledActionsPolicy is refuse-if-used: change those templates first, or set it to warn)", strings.Join(refusing, "\n"))
		}
	}
	return rememberDisabled(ctx, st, disabled)
}

// disabledBreak is one disabled action some stored template uses.
type disabledBreak struct {
	action string
	// line names the action and every template that uses it.
	line string
}

// disabledBreaks lists, sorted by action, the stored templates each of
// actions breaks.
func disabledBreaks(ctx context.Context, st store.Store, reg *contract.Registry, actions []string) ([]disabledBreak, error) {
	if len(actions) == 0 {
		return nil, nil
	}
	es, err := tasks.ListTemplates(ctx, st.Query)
	if err != nil {
		return nil, fmt.Errorf("inventory of the stored templates for scaffolder.disabledActions: %w", err)
	}
	breaks := tasks.BuildInventory(es, reg).Breaks(actions)
	var out []disabledBreak
	for _, a := range slices.Sorted(maps.Keys(breaks)) {
		out = append(out, disabledBreak{action: a, line: fmt.Sprintf("scaffolder.disabledActions: %s is used by %s", a, strings.Join(breaks[a], ", "))})
	}
	return out, nil
}

// addedActions are the actions of next that before does not have.
func addedActions(before, next []string) []string {
	var out []string
	for _, a := range next {
		if !slices.Contains(before, a) && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// disabledSetting is the store setting that keeps the
// scaffolder.disabledActions of the last accepted start or reload.
const disabledSetting = "scaffolder.disabledActions"

// acceptedDisabled is the scaffolder.disabledActions of the last accepted
// start or reload; known is false when none was ever stored.
func acceptedDisabled(ctx context.Context, st store.Store) (actions []string, known bool, err error) {
	v, ok, err := st.Setting(ctx, disabledSetting)
	if err != nil || !ok {
		return nil, false, err
	}
	if err := json.Unmarshal([]byte(v), &actions); err != nil {
		return nil, false, fmt.Errorf("stored setting %s: %w", disabledSetting, err)
	}
	return actions, true, nil
}

// rememberDisabled stores an accepted scaffolder.disabledActions.
func rememberDisabled(ctx context.Context, st store.Store, disabled []string) error {
	sorted := slices.Sorted(slices.Values(disabled))
	if sorted == nil {
		sorted = []string{}
	}
	b, err := json.Marshal(slices.Compact(sorted))
	if err != nil {
		return err
	}
	return st.PutSetting(ctx, disabledSetting, string(b))
}
