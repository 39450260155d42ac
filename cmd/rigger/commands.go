package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/worker"
)

// localFlags are the flags that set where rigger listens and keeps data.
type localFlags struct {
	dataDir, listen, frontend, ui string
}

func (f *localFlags) registerDataDir(fs *pflag.FlagSet) {
	fs.StringVar(&f.dataDir, "data-dir", "", "directory for rigger's data: rigger.db, rigger-audit.db, workspaces, the embedded Temporal database (default ./.rigger)")
}

func (f *localFlags) registerListen(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "", "API and web UI address (default 127.0.0.1:7007)")
}

func (f *localFlags) registerEmbedded(fs *pflag.FlagSet) {
	fs.StringVar(&f.frontend, "temporal-listen", "", "embedded Temporal frontend gRPC address (default 127.0.0.1:7233)")
	fs.StringVar(&f.ui, "temporal-ui-listen", "", "embedded Temporal Web UI address (default 127.0.0.1:8233; empty string disables it)")
}

// apply copies the flags that were set (on the command line or through
// RIGGER_<FLAG>) into cfg; flags a command does not have are never set.
func (f *localFlags) apply(cfg *config.Config, set func(string) bool) {
	if set("data-dir") {
		cfg.Server.DataDir = f.dataDir
	}
	if set("listen") {
		cfg.Server.Listen = f.listen
	}
	if set("temporal-listen") {
		cfg.Temporal.Embedded.FrontendListen = f.frontend
	}
	if set("temporal-ui-listen") {
		cfg.Temporal.Embedded.UIListen = f.ui
	}
}

func (c *cli) devCommand() *cobra.Command {
	var tf temporalFlags
	var lf localFlags
	var temporalOnly bool
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole platform in one process: embedded Temporal + UI, API, workers, SQLite",
		Long: `rigger dev runs everything in one process with nothing to install: an embedded Temporal
server persisted in SQLite under --data-dir, the Temporal Web UI, one worker per task queue and
the API server. Everything binds to 127.0.0.1. Guest access is allowed (dev only).
With --temporal-address it uses an existing Temporal cluster instead of the embedded server.
With --temporal-only it runs just the embedded Temporal server and its UI, so rigger server and
rigger worker can run against it as separate processes, the way production runs them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			apply := func(cfg *config.Config, set func(string) bool) error {
				tf.apply(cfg, set)
				lf.apply(cfg, set)
				return nil
			}
			cfg, err := c.loadConfig(cmd, apply)
			if err != nil {
				return err
			}
			if temporalOnly {
				return c.runTemporalOnly(cmd.Context(), cfg)
			}
			return c.runPlatform(cmd.Context(), cfg, c.rereadConfig(cmd, apply), modeDev, cfg.Temporal.TaskQueues)
		},
	}
	fs := cmd.Flags()
	tf.register(fs)
	lf.registerDataDir(fs)
	lf.registerListen(fs)
	lf.registerEmbedded(fs)
	fs.BoolVar(&temporalOnly, "temporal-only", false, "run only the embedded Temporal server and UI (no API, no workers)")
	cmd.MarkFlagsMutuallyExclusive("temporal-only", "temporal-address")
	return cmd
}

func (c *cli) serverCommand() *cobra.Command {
	var tf temporalFlags
	var lf localFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the API server against an existing Temporal cluster",
		Long: `rigger server runs the stateless API server. It needs an existing Temporal cluster
(--temporal-address) and a way to authenticate callers (auth.serviceTokens); it never allows guests.
Run workers separately with rigger worker, on the same database (the same --data-dir with SQLite).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			apply := func(cfg *config.Config, set func(string) bool) error {
				tf.apply(cfg, set)
				lf.apply(cfg, set)
				return nil
			}
			cfg, err := c.loadConfig(cmd, apply)
			if err != nil {
				return err
			}
			return c.runPlatform(cmd.Context(), cfg, c.rereadConfig(cmd, apply), modeServer, nil)
		},
	}
	tf.register(cmd.Flags())
	lf.registerDataDir(cmd.Flags())
	lf.registerListen(cmd.Flags())
	return cmd
}

func (c *cli) workerCommand() *cobra.Command {
	var tf temporalFlags
	var lf localFlags
	var queues []string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run workers for task queues against an existing Temporal cluster",
		Long: `rigger worker runs workers for the given task queues against an existing Temporal cluster.
It writes the catalog the server reads: use the same database (the same --data-dir with SQLite).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			apply := func(cfg *config.Config, set func(string) bool) error {
				tf.apply(cfg, set)
				lf.apply(cfg, set)
				return nil
			}
			cfg, err := c.loadConfig(cmd, apply)
			if err != nil {
				return err
			}
			if len(queues) == 0 {
				return exitError{code: 2, msg: fmt.Sprintf("worker: --queue is required (known queues: %v)", worker.Queues())}
			}
			return c.runPlatform(cmd.Context(), cfg, c.rereadConfig(cmd, apply), modeWorker, queues)
		},
	}
	tf.register(cmd.Flags())
	lf.registerDataDir(cmd.Flags())
	cmd.Flags().StringSliceVar(&queues, "queue", nil, fmt.Sprintf("task queue to serve; repeatable (known: %v)", worker.Queues()))
	return cmd
}

func (c *cli) configCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect rigger.yaml"}
	var tf temporalFlags
	var lf localFlags
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print the effective config (after flags and environment) with secrets redacted",
		Long: `rigger config check reads the configuration the way rigger dev, server and worker do — the file
named by --config or RIGGER_CONFIG, or ./rigger.yaml when it exists; then RIGGER_<FLAG> variables
and the flags below — validates it, and prints the effective configuration with every secret
redacted. The first line names the file read. Paths or globs that match nothing are warnings.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd, func(cfg *config.Config, set func(string) bool) error {
				tf.apply(cfg, set)
				lf.apply(cfg, set)
				return nil
			})
			if err != nil {
				return err
			}
			out, err := cfg.Redacted()
			if err != nil {
				return err
			}
			if cfg.File != "" {
				fmt.Fprintf(c.stdout, "# configuration file: %s\n", cfg.File)
			} else {
				fmt.Fprintf(c.stdout, "# configuration file: none (no --config, no RIGGER_CONFIG, no ./%s): defaults, environment and flags\n", defaultConfigFile)
			}
			for _, w := range cfg.PathWarnings(filepath.Glob) {
				fmt.Fprintln(c.stderr, "warning:", w)
			}
			_, err = c.stdout.Write(out)
			return err
		},
	}
	tf.register(check.Flags())
	lf.registerDataDir(check.Flags())
	lf.registerListen(check.Flags())
	lf.registerEmbedded(check.Flags())
	cmd.AddCommand(check, c.configEffectiveCommand())
	return cmd
}

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print rigger's version and the Go and Temporal versions it was built with",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			deps := map[string]string{}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					deps[d.Path] = d.Version
				}
			}
			server := embeddedServerVersion()
			if server == "" {
				server = "not embedded (built with -tags nodevserver)"
			}
			fmt.Fprintf(c.stdout, "rigger %s\n  commit:           %s\n  go:               %s\n  temporal server:  %s\n  temporal sdk:     %s\n  temporal ui:      %s\n  catalog sqlite:   %s\n",
				version, commit, runtime.Version(), server, deps["go.temporal.io/sdk"], deps["github.com/temporalio/ui-server/v2"], sqlite.About())
			return nil
		},
	}
}
