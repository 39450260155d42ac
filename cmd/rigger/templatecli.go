package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/templates"
)

func (c *cli) templateCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "template", Short: "Validate, dry-run and list scaffolder templates"}
	cmd.AddCommand(c.templateValidateCommand(), c.templateDryRunCommand(), c.templateTestCommand(), c.templateListCommand(), c.templateInventoryCommand())
	return cmd
}

// templateListCommand lists the templates a running rigger offers.
func (c *cli) templateListCommand() *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the templates a running rigger offers (refs to pass to rigger run)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := c.client(&rf)
			if err != nil {
				return err
			}
			return c.listEntities(cmd.Context(), api, "Template", 1000)
		},
	}
	rf.register(cmd)
	return cmd
}

// templateValidateCommand checks templates with the parser, validator and
// action registry the server uses; warnings are printed, errors fail (exit 1).
func (c *cli) templateValidateCommand() *cobra.Command {
	var strict bool
	var format string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Long:  "Validate templates. A file may hold several Template documents (separated by ---); each is checked and reported by its document index and line.",
		Short: "Validate templates: schema, steps, expressions, actions, unsafe patterns (exit 1 on errors)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" && format != "sarif" {
				return exitError{code: 2, msg: fmt.Sprintf("--format %q: want text, json or sarif", format)}
			}
			// The configuration's external actions are known too
			// (disabled actions are the server's business; --strict
			// warns of them).
			cfg, err := c.loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			actions, err := actionRegistry(cfg, nil)
			if err != nil {
				return err
			}
			failed := false
			var findings []lintFinding
			report := func(f lintFinding, label string) {
				findings = append(findings, f)
				if format != "text" {
					return
				}
				if f.Path == "" {
					fmt.Fprintf(c.stderr, "%s %s: %s\n", f.Severity, label, f.Message)
					return
				}
				fmt.Fprintf(c.stderr, "%s %s: %s: %s\n", f.Severity, label, f.Path, f.Message)
			}
			for _, path := range args {
				data, err := readLimited(path, templates.MaxTemplateSize)
				if err != nil {
					report(lintFinding{File: path, Severity: string(templates.SeverityError), Message: err.Error()}, path)
					failed = true
					continue
				}
				// A file may hold several templates: each is checked
				// and reported by its document and line.
				docs, err := templates.ParseDocuments(path, data)
				if err != nil {
					report(lintFinding{File: path, Severity: string(templates.SeverityError), Message: err.Error()}, path)
					failed = true
					continue
				}
				for _, d := range docs {
					label := d.Label(path, len(docs))
					if d.Err != nil {
						report(lintFinding{File: path, Document: d.Index, DocumentLine: d.Line, Line: d.Line, Severity: string(templates.SeverityError), Message: d.Err.Error()}, label)
						failed = true
						continue
					}
					t := d.Template
					problems := templates.ValidateWith(t, actions, templates.ValidateOptions{Strict: strict})
					if strict {
						problems = append(problems, configProblems(t, cfg)...)
					}
					for _, p := range problems {
						line, col := d.Position(p.Path)
						report(lintFinding{File: path, Document: d.Index, DocumentLine: d.Line, Line: line, Column: col, Template: t.Metadata.Name,
							Severity: string(p.Severity), Path: p.Path, Message: p.Message}, label)
					}
					if templates.HasErrors(problems) {
						failed = true
						continue
					}
					if format == "text" {
						fmt.Fprintf(c.stdout, "ok    %s: template %s (%d steps)\n", label, t.Metadata.Name, len(t.Spec.Steps))
					}
				}
			}
			if format != "text" {
				if err := writeFindings(c.stdout, format, findings); err != nil {
					return err
				}
			}
			if failed {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "also warn about risky patterns that still run: a secret given to an input not made for one, a step without an id, an action disabled in this configuration, a fetch url outside scaffolder.allowedHosts")
	cmd.Flags().StringVar(&format, "format", "text", "output: text, json (a list of findings) or sarif (SARIF 2.1.0, for code-scanning pages)")
	return cmd
}

// runCommand starts a template on a server and, with --wait, follows its
// event stream, printing each step as it goes and the output at the end; it
// exits non-zero when the task fails. --set values are converted by the
// template's parameter schema.
func (c *cli) runCommand() *cobra.Command {
	var rf remoteFlags
	var inputs runInputs
	var wait bool
	var download string
	cmd := &cobra.Command{
		Use:   "run TEMPLATE_REF",
		Short: "Run a template on a rigger server (--wait follows it live)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client(&rf)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var schema parameterSchema
			if len(inputs.sets) > 0 {
				if schema, err = api.parameterSchema(ctx, args[0]); err != nil {
					return err
				}
			}
			if download != "" && !wait {
				return exitError{code: 2, msg: "--download needs --wait (the workspace is fetched once the task completes)"}
			}
			values, secrets, err := inputs.read(c, schema)
			if err != nil {
				return err
			}
			body := map[string]any{"templateRef": args[0], "values": values}
			if len(secrets) > 0 {
				body["secrets"] = secrets
			}
			id, err := createTask(ctx, api, body, createRetries())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "task %s started\n", id)
			if !wait {
				return nil
			}
			return c.follow(ctx, api, id, download)
		},
	}
	rf.register(cmd)
	inputs.addFlags(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the task live and exit non-zero if it fails (Ctrl-C stops following, not the task)")
	cmd.Flags().StringVar(&download, "download", "", "with --wait: unpack the completed task's workspace into this new directory")
	return cmd
}

// runInputs are the flags that give a run its values and secrets.
type runInputs struct {
	valuesFile       string
	sets, secretEnvs []string
}

func (r *runInputs) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.valuesFile, "values", "", "YAML or JSON file of parameter values")
	cmd.Flags().StringArrayVar(&r.sets, "set", nil, "parameter value key=value (repeatable; converted by the parameter's type: integer, number, boolean, array as a,b or JSON, object as JSON)")
	cmd.Flags().StringArrayVar(&r.secretEnvs, "secret-env", nil, "secret NAME=ENV_VAR: pass the value of an environment variable as secrets.NAME (repeatable)")
}

// read returns the parameter values and the secrets.
func (r *runInputs) read(c *cli, schema parameterSchema) (map[string]any, map[string]string, error) {
	values, err := readValues(r.valuesFile, r.sets, schema)
	if err != nil {
		return nil, nil, err
	}
	secrets, err := c.readSecrets(r.secretEnvs)
	if err != nil {
		return nil, nil, err
	}
	return values, secrets, nil
}

// readValues reads parameter values from a YAML/JSON file and --set flags.
func readValues(valuesFile string, sets []string, schema parameterSchema) (map[string]any, error) {
	values := map[string]any{}
	if valuesFile != "" {
		data, err := readLimited(valuesFile, 1<<20)
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(data, &values); err != nil {
			return nil, fmt.Errorf("%s: %w", valuesFile, err)
		}
		if values == nil {
			values = map[string]any{}
		}
	}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, exitError{code: 2, msg: fmt.Sprintf("--set %q: want key=value", s)}
		}
		conv, err := schema.convert(k, v)
		if err != nil {
			return nil, exitError{code: 2, msg: fmt.Sprintf("--set %s: %v", k, err)}
		}
		values[k] = conv
	}
	return values, nil
}

// readSecrets reads --secret-env NAME=ENV_VAR flags: values never appear
// on the command line.
func (c *cli) readSecrets(specs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range specs {
		name, env, ok := strings.Cut(s, "=")
		if !ok || name == "" || env == "" {
			return nil, exitError{code: 2, msg: fmt.Sprintf("--secret-env %q: want NAME=ENV_VAR", s)}
		}
		v, ok := c.env(env)
		if !ok {
			return nil, exitError{code: 2, msg: fmt.Sprintf("--secret-env %s: environment variable %s is not set", name, env)}
		}
		out[name] = v
	}
	return out, nil
}

// createRetries are the pauses between attempts to create a task while the
// server cannot answer (a replica restarting, a proxy without a backend).
func createRetries() []time.Duration {
	return []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
}

// createTask creates a task with one random Idempotency-Key for all its
// attempts: an attempt whose answer was lost cannot start a second run,
// so it is safe to try again after a connection error or a 502/503/504.
func createTask(ctx context.Context, api *apiClient, body map[string]any, pauses []time.Duration) (string, error) {
	headers := map[string]string{"Idempotency-Key": uuid.NewString()}
	for attempt := 0; ; attempt++ {
		var created struct{ ID string }
		err := api.doHeaders(ctx, "POST", "/api/scaffolder/v2/tasks", headers, body, &created)
		if err == nil {
			return created.ID, nil
		}
		var ae *apiError
		retryable := !errors.As(err, &ae) || ae.Status == http.StatusBadGateway || ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusGatewayTimeout
		if !retryable || attempt == len(pauses) || ctx.Err() != nil {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(pauses[attempt]):
		}
	}
}
