package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/worker"
)

func (c *cli) devCommand() *cobra.Command {
	var tf temporalFlags
	var dataDir, listen, frontend, ui string
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
			cfg, err := c.loadConfig(cmd, func(cfg *config.Config, set func(string) bool) error {
				tf.apply(cfg, set)
				if set("data-dir") {
					cfg.Server.DataDir = dataDir
				}
				if set("listen") {
					cfg.Server.Listen = listen
				}
				if set("temporal-listen") {
					cfg.Temporal.Embedded.FrontendListen = frontend
				}
				if set("temporal-ui-listen") {
					cfg.Temporal.Embedded.UIListen = ui
				}
				return nil
			})
			if err != nil {
				return err
			}
			if temporalOnly {
				return c.runTemporalOnly(cmd.Context(), cfg)
			}
			return c.runPlatform(cmd.Context(), cfg, modeDev, cfg.Temporal.TaskQueues)
		},
	}
	fs := cmd.Flags()
	tf.register(fs)
	fs.StringVar(&dataDir, "data-dir", "", "directory for the embedded Temporal database and rigger's data (default ./.rigger)")
	fs.StringVar(&listen, "listen", "", "API and web UI address (default 127.0.0.1:7007)")
	fs.StringVar(&frontend, "temporal-listen", "", "embedded Temporal frontend gRPC address (default 127.0.0.1:7233)")
	fs.StringVar(&ui, "temporal-ui-listen", "", "embedded Temporal Web UI address (default 127.0.0.1:8233; empty string disables it)")
	fs.BoolVar(&temporalOnly, "temporal-only", false, "run only the embedded Temporal server and UI (no API, no workers)")
	cmd.MarkFlagsMutuallyExclusive("temporal-only", "temporal-address")
	return cmd
}

func (c *cli) serverCommand() *cobra.Command {
	var tf temporalFlags
	var listen string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the API server against an existing Temporal cluster",
		Long: `rigger server runs the stateless API server. It needs an existing Temporal cluster
(--temporal-address) and a way to authenticate callers (auth.serviceTokens); it never allows guests.
Run workers separately with rigger worker.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd, func(cfg *config.Config, set func(string) bool) error {
				tf.apply(cfg, set)
				if set("listen") {
					cfg.Server.Listen = listen
				}
				return nil
			})
			if err != nil {
				return err
			}
			return c.runPlatform(cmd.Context(), cfg, modeServer, nil)
		},
	}
	tf.register(cmd.Flags())
	cmd.Flags().StringVar(&listen, "listen", "", "API address (default 127.0.0.1:7007)")
	return cmd
}

func (c *cli) workerCommand() *cobra.Command {
	var tf temporalFlags
	var queues []string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run workers for task queues against an existing Temporal cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd, func(cfg *config.Config, set func(string) bool) error {
				tf.apply(cfg, set)
				return nil
			})
			if err != nil {
				return err
			}
			if len(queues) == 0 {
				return exitError{code: 2, msg: fmt.Sprintf("worker: --queue is required (known queues: %v)", worker.Queues())}
			}
			return c.runPlatform(cmd.Context(), cfg, modeWorker, queues)
		},
	}
	tf.register(cmd.Flags())
	cmd.Flags().StringSliceVar(&queues, "queue", nil, fmt.Sprintf("task queue to serve; repeatable (known: %v)", worker.Queues()))
	return cmd
}

func (c *cli) configCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect rigger.yaml"}
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print the effective config with secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			out, err := cfg.Redacted()
			if err != nil {
				return err
			}
			_, err = c.stdout.Write(out)
			return err
		},
	}
	cmd.AddCommand(check)
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
			fmt.Fprintf(c.stdout, "rigger %s\n  commit:           %s\n  go:               %s\n  temporal server:  %s\n  temporal sdk:     %s\n  temporal ui:      %s\n",
				version, commit, runtime.Version(), server, deps["go.temporal.io/sdk"], deps["github.com/temporalio/ui-server/v2"])
			return nil
		},
	}
}
