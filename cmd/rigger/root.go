package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/liveconfig"
	"github.com/riggerdev/rigger/worker"
)

type lookupEnv func(string) (string, bool)

// cli holds what every subcommand shares.
type cli struct {
	stdout, stderr io.Writer
	// stdin is what interactive commands read (nil: os.Stdin).
	stdin      io.Reader
	env        lookupEnv
	configPath string
	// configData are the bytes loadConfig read from the file (nil
	// without one), the first generation of a live configuration.
	configData []byte
}

func newRootCommand(stdout, stderr io.Writer, env lookupEnv) *cobra.Command {
	return (&cli{stdout: stdout, stderr: stderr, env: env}).rootCommand()
}

// rootCommand is the command tree over c (a test sets c.stdin first).
func (c *cli) rootCommand() *cobra.Command {
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
		// Every flag of every command can come from RIGGER_<FLAG>.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return c.flagsFromEnv(cmd) },
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetFlagErrorFunc(flagError)
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
		c.taskCommand(),
		c.auditCommand(),
		c.loginCommand(),
		c.logoutCommand(),
		c.whoamiCommand(),
		c.tokenCommand(),
		c.adminCommand(),
		c.policyCommand(),
		c.docsCommand(),
		c.searchCommand(),
	)
	refuseUnknownSubcommands(root)
	return root
}

// flagsFromEnv sets every flag of cmd (its own and inherited) that was not
// given on the command line from RIGGER_<FLAG> when that is set, so flags
// override the environment.
func (c *cli) flagsFromEnv(cmd *cobra.Command) error {
	var envErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" || envErr != nil {
			return
		}
		if v, ok := c.env(flagEnvName(f.Name)); ok {
			if err := cmd.Flags().Set(f.Name, v); err != nil {
				envErr = exitError{code: 2, msg: fmt.Sprintf("%s=%q (for --%s): %v", flagEnvName(f.Name), v, f.Name, err)}
			}
		}
	})
	return envErr
}

// refuseUnknownSubcommands makes every command group (a command with
// subcommands and nothing to run itself) refuse an unknown subcommand with
// "unknown command" and a suggestion, exit status 2, instead of printing its
// help and succeeding. A group called with no arguments prints its help.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.SuggestionsMinimumDistance = 2
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		}
		var names []string
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		msg += fmt.Sprintf(" (its commands: %s; see %s --help)", strings.Join(names, ", "), cmd.CommandPath())
		return exitError{code: 2, msg: msg}
	}
}

// flagError adds a suggestion to an unknown flag and exits with status 2.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		best, bestD := "", 3
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if d := levenshtein(name, f.Name); d < bestD {
				best, bestD = f.Name, d
			}
		})
		if best != "" {
			msg += fmt.Sprintf("; did you mean --%s?", best)
		}
	}
	return exitError{code: 2, msg: fmt.Sprintf("%s (see %s --help)", msg, cmd.CommandPath())}
}

// levenshtein is the edit distance between a and b, in bytes.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// loadConfig reads rigger.yaml — --config, RIGGER_CONFIG, or ./rigger.yaml
// when that exists — then applies the flags that were set (the environment
// has filled those the command line did not give), then validates.
func (c *cli) loadConfig(cmd *cobra.Command, apply func(cfg *config.Config, set func(name string) bool) error) (*config.Config, error) {
	if err := c.flagsFromEnv(cmd); err != nil {
		return nil, err
	}
	path := c.configPath
	if path == "" {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			path = defaultConfigFile
		}
	}
	var cfg *config.Config
	var err error
	if path == "" {
		cfg = config.Default()
	} else {
		// Read once: these bytes are what a reload compares with.
		if c.configData, err = config.ReadFile(path); err != nil {
			return nil, err
		}
		if cfg, err = config.LoadData(path, c.configData, c.env); err != nil {
			return nil, c.scrubEnvValues(c.configData, err)
		}
	}
	cfg, err = c.finishConfig(cmd, cfg, apply)
	if err != nil {
		return nil, c.scrubEnvValues(c.configData, err)
	}
	return cfg, nil
}

// loadConfigExplicit is loadConfig without the ./rigger.yaml default: a
// command that runs what a checkout holds (template test, in CI on pull
// requests) must not be configured by a rigger.yaml the checkout adds
// (its allowed hosts, or ${VAR}s of the CI's environment). --config or
// RIGGER_CONFIG still name one.
func (c *cli) loadConfigExplicit(cmd *cobra.Command) (*config.Config, error) {
	if err := c.flagsFromEnv(cmd); err != nil {
		return nil, err
	}
	if c.configPath == "" {
		return c.finishConfig(cmd, config.Default(), nil)
	}
	return c.loadConfig(cmd, nil)
}

// rereadConfig is how a running rigger reads its file again (liveconfig
// calls it with the bytes it read): the same decoding, flags and checks
// as at start-up.
func (c *cli) rereadConfig(cmd *cobra.Command, apply func(cfg *config.Config, set func(name string) bool) error) liveconfig.Loader {
	return func(path string, data []byte) (*config.Config, error) {
		cfg, err := config.LoadData(path, data, c.env)
		if err == nil {
			cfg, err = c.finishConfig(cmd, cfg, apply)
		}
		if err != nil {
			return nil, c.scrubEnvValues(data, err)
		}
		return cfg, nil
	}
}

// envReference is a ${NAME} (or ${NAME:-default}) in rigger.yaml.
var envReference = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}`)

// scrubEnvValues replaces, in a refused reload's errors, the value of
// every environment variable the file refers to by its ${NAME}: a
// validation message may quote a field's value, and a secret put in the
// wrong field (database.driver: ${DB_URL}) must not reach the API, the
// audit log or the logs through the refusal.
func (c *cli) scrubEnvValues(data []byte, err error) error {
	msg := err.Error()
	scrubbed := msg
	for _, m := range envReference.FindAllSubmatch(data, -1) {
		name := string(m[1])
		v, ok := c.env(name)
		if !ok || len(v) < 4 {
			continue
		}
		// The value as is, as a quoted string shows it (escapes), and any
		// start of either that a message cut short ("…" after 80
		// characters): longest first.
		quoted := strconv.Quote(v)
		quoted = quoted[1 : len(quoted)-1]
		for _, form := range []string{v, quoted} {
			// A cut value keeps its first 80 characters: a start of 24
			// or more is the value, a shorter one may be other text.
			for n := len(form); n >= 24 || n == len(form); n-- {
				if strings.Contains(scrubbed, form[:n]) {
					scrubbed = strings.ReplaceAll(scrubbed, form[:n], "${"+name+"}")
					break
				}
			}
		}
	}
	if scrubbed == msg {
		return err
	}
	return errors.New(scrubbed)
}

// finishConfig applies the flags that were set to cfg and validates it.
func (c *cli) finishConfig(cmd *cobra.Command, cfg *config.Config, apply func(cfg *config.Config, set func(name string) bool) error) (*config.Config, error) {
	if apply != nil {
		if err := apply(cfg, cmd.Flags().Changed); err != nil {
			return nil, err
		}
	}
	err := cfg.Validate()
	if err == nil {
		// Built-in actions are known to this binary, not to the config
		// package: an external action may not shadow one.
		_, err = actionRegistry(cfg, nil)
	}
	// Queues are known to this binary, not to the config package.
	for i, q := range cfg.Temporal.TaskQueues {
		if q != "" && !slices.Contains(worker.Queues(), q) {
			err = errors.Join(err, fmt.Errorf("temporal.taskQueues[%d]: %q is not a task queue this rigger serves (known: %s)", i, q, strings.Join(worker.Queues(), ", ")))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, nil
}

// defaultConfigFile is read when neither --config nor RIGGER_CONFIG names a
// file.
const defaultConfigFile = "rigger.yaml"

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
