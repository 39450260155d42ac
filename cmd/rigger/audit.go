package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/api"
	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/store"
)

// auditWiring is the audit log of a process serving the API.
type auditWiring struct {
	log  *audit.Log
	file *os.File
	st   store.Store
}

// openAudit starts the audit log on st (the hash chain) and the sink's
// JSON lines: stdout, the file at audit.path, or none (database). Workers
// record too (the runs' outcomes, the catalog's changes). Nothing is
// recorded when audit.enabled is false; stored events are still listed.
func openAudit(cfg *config.Config, st store.Store, stdout io.Writer, logger *slog.Logger) (*auditWiring, error) {
	w := &auditWiring{st: st}
	if !cfg.Audit.Enabled {
		return w, nil
	}
	alerts, err := alertOptions(cfg.Audit.Alerts)
	if err != nil {
		return nil, err
	}
	var out io.Writer
	switch cfg.Audit.Sink {
	case "stdout":
		out = stdout
	case "file":
		f, err := os.OpenFile(cfg.Audit.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("audit.path: %w", err)
		}
		w.file, out = f, f
	}
	w.log = audit.New(audit.Options{Store: st, Out: out, Logger: logger.With("component", "audit"), Alerts: alerts})
	return w, nil
}

// deps are the API's audit dependencies.
func (w *auditWiring) deps() api.AuditDeps {
	d := api.AuditDeps{Events: auditEvents{w.st}}
	if w.log != nil {
		d.Recorder = w.log
	}
	return d
}

// recorder is what workers record with (nil when audit is off).
func (w *auditWiring) recorder() audit.Recorder {
	if w.log == nil {
		return nil
	}
	return w.log
}

// Close stores every queued event and closes the file.
func (w *auditWiring) Close() error {
	var err error
	if w.log != nil {
		err = w.log.Close()
	}
	if w.file != nil {
		err = errors.Join(err, w.file.Close())
	}
	return err
}

type auditEvents struct{ st store.AuditLog }

func (a auditEvents) Events(ctx context.Context, q audit.Query) (audit.Page, error) {
	return audit.Events(ctx, a.st, q)
}

func (c *cli) auditCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check the audit log"}
	var dataDir, logPath string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Walk the audit hash chain in the database; exit 1 naming the first broken event",
		Long: `rigger audit verify reads every audit event in rigger's database (--data-dir or
database in rigger.yaml) in chain order and checks each one's hash against the previous
event's hash and its content, that no seq is missing and that the filter columns match the
hashed event. It exits 1 naming the first event that was edited, deleted or reordered.

With --log (default: audit.path when audit.sink is file) it also checks the seq/hash pairs the
JSON-lines log recorded, which finds events deleted from the end of the chain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.configWithDataDir(cmd, dataDir)
			if err != nil {
				return err
			}
			if logPath == "" && cfg.Audit.Sink == "file" {
				logPath = cfg.Audit.Path
			}
			var anchors audit.Anchors
			if logPath != "" {
				f, err := os.Open(logPath)
				if err != nil {
					return fmt.Errorf("audit log: %w", err)
				}
				anchors, err = audit.ReadAnchors(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("audit log %s: %w", logPath, err)
				}
			}
			st, err := openStore(cmd.Context(), cfg, false)
			if err != nil {
				return fmt.Errorf("audit store: %w", err)
			}
			defer st.Close()
			res, err := audit.Verify(cmd.Context(), st, anchors)
			var broken *audit.BrokenError
			if errors.As(err, &broken) {
				return exitError{code: 1, msg: fmt.Sprintf("%v (%d events before it verified)", broken, res.Events)}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "audit chain verified: %d events, head seq %d hash %s", res.Events, res.HeadSeq, res.HeadHash)
			if logPath != "" {
				fmt.Fprintf(c.stdout, "; %d of them matched %s", res.Anchors, logPath)
			}
			fmt.Fprintln(c.stdout)
			return nil
		},
	}
	verify.Flags().StringVar(&dataDir, "data-dir", "", "rigger's data directory, holding rigger.db and rigger-audit.db (default ./.rigger; ignored with database.driver postgres)")
	verify.Flags().StringVar(&logPath, "log", "", "a JSON-lines audit log to compare with the database")
	cmd.AddCommand(verify)
	return cmd
}

// configWithDataDir loads the configuration of a command that opens
// rigger's database, with its --data-dir flag applied when given.
func (c *cli) configWithDataDir(cmd *cobra.Command, dataDir string) (*config.Config, error) {
	return c.loadConfig(cmd, func(cfg *config.Config, set func(string) bool) error {
		if set("data-dir") {
			cfg.Server.DataDir = dataDir
		}
		return nil
	})
}
