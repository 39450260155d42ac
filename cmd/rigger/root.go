package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/riggerdev/rigger/internal/config"
)

type lookupEnv func(string) (string, bool)

// cli holds what every subcommand shares.
type cli struct {
	stdout, stderr io.Writer
	env            lookupEnv
	configPath     string
}

func newRootCommand(stdout, stderr io.Writer, env lookupEnv) *cobra.Command {
	c := &cli{stdout: stdout, stderr: stderr, env: env}
	root := &cobra.Command{
		Use:   "rigger",
		Short: "Rigger: an internal developer platform whose templates run as durable Temporal workflows",
		Long: `Rigger reads Backstage's catalog and template YAML, serves a Backstage-compatible API,
and runs every template as a durable Temporal workflow.

  rigger dev        the whole platform in one process (embedded Temporal, UI, API, workers)
  rigger server     the API server, against an existing Temporal cluster
  rigger worker     workers for one or more task queues, against an existing cluster

Every flag can also be set as RIGGER_<FLAG> in the environment (e.g. RIGGER_TEMPORAL_ADDRESS);
flags override the environment, which overrides rigger.yaml, which overrides defaults.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&c.configPath, "config", "", "path to rigger.yaml (env RIGGER_CONFIG)")
	root.AddCommand(
		c.devCommand(),
		c.serverCommand(),
		c.workerCommand(),
		c.configCommand(),
		c.versionCommand(),
		c.catalogCommand(),
		c.templateCommand(),
		c.runCommand(),
		c.auditCommand(),
	)
	return root
}

// loadConfig reads rigger.yaml (if any), then applies environment variables and
// flags that were set, then validates.
func (c *cli) loadConfig(cmd *cobra.Command, apply func(cfg *config.Config, set func(name string) bool) error) (*config.Config, error) {
	path := c.configPath
	if !cmd.Flags().Changed("config") {
		if v, ok := c.env("RIGGER_CONFIG"); ok {
			path = v
		}
	}
	cfg, err := config.Load(path, c.env)
	if err != nil {
		return nil, err
	}
	// Environment fills flags the user did not pass.
	var envErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		if v, ok := c.env(flagEnvName(f.Name)); ok {
			if err := cmd.Flags().Set(f.Name, v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s: %w", flagEnvName(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if apply != nil {
		if err := apply(cfg, cmd.Flags().Changed); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

func flagEnvName(flag string) string {
	return "RIGGER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
