package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	sdkworker "go.temporal.io/sdk/worker"
	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/worker"
)

// templateDryRunCommand runs a template file locally, in-process, with
// side-effecting steps skipped, and shows what it would produce.
func (c *cli) templateDryRunCommand() *cobra.Command {
	var outDir string
	var inputs runInputs
	var contents bool
	cmd := &cobra.Command{
		Use:   "dry-run FILE",
		Short: "Run a template locally without side effects and show the files it produces (exit 1 if it fails)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			path, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			data, err := readLimited(path, templates.MaxTemplateSize)
			if err != nil {
				return exitError{code: 1, msg: err.Error()}
			}
			t, err := templates.Parse(args[0], data)
			if err != nil {
				return exitError{code: 1, msg: err.Error()}
			}
			values, secrets, err := inputs.read(c, newParameterSchema(t.Spec.Parameters))
			if err != nil {
				return err
			}
			actions, err := actionRegistry(cfg, cfg.Scaffolder.DisabledActions)
			if err != nil {
				return err
			}
			plan, err := templates.Compile(t, values, actions, templates.CompileOptions{UserRef: "user:default/dry-run", BaseURL: "file://" + filepath.ToSlash(path)})
			if err != nil {
				return exitError{code: 1, msg: err.Error()}
			}
			plan.Template.Ref = "template:" + t.Metadata.Namespace + "/" + t.Metadata.Name
			logger := newLogger(c.stderr, "warn", "text")
			sc, err := scaffoldActivities(cfg, logger, nil, nil)
			if err != nil {
				return err
			}
			// Progress while it runs: each action as it starts (stderr).
			sc.Logger = slog.New(progressHandler{w: c.stderr})
			fmt.Fprintf(c.stdout, "dry run of %s (%d steps)\n", t.Metadata.Name, len(plan.Steps))
			// The run's own log is printed below; the SDK's would repeat it.
			integrations, err := integrationActions(cfg, worker.Queues(), nil, nil, logger, forLocalDryRuns, nil, nil)
			if err != nil {
				return err
			}
			// No real worker runs here: a fixed worker name spares the
			// SDK hashing this whole executable (~1 s) to name one.
			sdkworker.SetBinaryChecksum("rigger-template-dry-run")
			r := &worker.DryRunner{Scaffold: sc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Integrations: integrations}
			res, err := r.DryRun(context.Background(), *plan, secrets, nil, permission.Subject{Ref: "user:default/dry-run"})
			if err != nil {
				return exitError{code: 1, msg: err.Error()}
			}
			for _, e := range res.State.Log {
				prefix := e.StepID
				if prefix == "" {
					prefix = "task"
				}
				fmt.Fprintf(c.stdout, "[%s] %s\n", prefix, e.Text)
			}
			fmt.Fprintf(c.stdout, "\nfiles (%d):\n", len(res.Files))
			for _, f := range res.Files {
				fmt.Fprintf(c.stdout, "  %s (%d bytes)\n", f.Path, len(f.Data))
				if contents {
					for _, line := range strings.Split(strings.TrimRight(string(f.Data), "\n"), "\n") {
						fmt.Fprintf(c.stdout, "    | %s\n", line)
					}
				}
			}
			if len(res.State.Output) > 0 {
				out, err := yaml.Marshal(map[string]any{"output": res.State.Output})
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "\n%s", out)
			}
			if outDir != "" {
				if err := writeDryRunFiles(outDir, res.Files); err != nil {
					return exitError{code: 1, msg: err.Error()}
				}
				fmt.Fprintf(c.stdout, "\nwrote %d files to %s\n", len(res.Files), outDir)
			}
			if res.Err != nil {
				return exitError{code: 1, msg: "dry run failed: " + res.Err.Error()}
			}
			return nil
		},
	}
	inputs.addFlags(cmd)
	cmd.Flags().BoolVar(&contents, "show-contents", false, "print the contents of the produced files")
	cmd.Flags().StringVar(&outDir, "output", "", "write the produced files into this new directory")
	return cmd
}

// writeDryRunFiles writes files into dir, which must not exist yet.
func writeDryRunFiles(dir string, files []contract.DryRunFile) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("--output %s already exists; choose a new directory", dir)
		}
		return err
	}
	return worker.WriteDryRunFiles(dir, files)
}

// progressHandler prints one line per action execution ("action executed"
// log records) and drops every other record.
type progressHandler struct{ w io.Writer }

func (h progressHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h progressHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h progressHandler) WithGroup(string) slog.Handler            { return h }
func (h progressHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "action executed" {
		return nil
	}
	var step, action string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "step_id":
			step = a.Value.String()
		case "action":
			action = a.Value.String()
		}
		return true
	})
	_, err := fmt.Fprintf(h.w, "… running step %s (%s)\n", step, action)
	return err
}
