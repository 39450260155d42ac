package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

func (c *cli) templateCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "template", Short: "Validate and dry-run scaffolder templates"}
	cmd.AddCommand(c.templateValidateCommand(), c.templateDryRunCommand())
	return cmd
}

// templateValidateCommand checks templates with the parser, validator and
// action registry the server uses; warnings are printed, errors fail (exit 1).
func (c *cli) templateValidateCommand() *cobra.Command {
	var strict bool
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate templates: schema, steps, expressions, actions, unsafe patterns (exit 1 on errors)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			actions := contract.NewRegistry(nil)
			failed := false
			for _, path := range args {
				data, err := readLimited(path, templates.MaxTemplateSize)
				if err != nil {
					fmt.Fprintln(c.stderr, "error", err)
					failed = true
					continue
				}
				t, err := templates.Parse(path, data)
				if err != nil {
					fmt.Fprintln(c.stderr, "error", err)
					failed = true
					continue
				}
				problems := templates.ValidateWith(t, actions, templates.ValidateOptions{Strict: strict})
				for _, p := range problems {
					fmt.Fprintf(c.stderr, "%s %s: %s: %s\n", p.Severity, path, p.Path, p.Message)
				}
				if templates.HasErrors(problems) {
					failed = true
					continue
				}
				fmt.Fprintf(c.stdout, "ok    %s: template %s (%d steps)\n", path, t.Metadata.Name, len(t.Spec.Steps))
			}
			if failed {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "also warn about risky patterns that still run, such as a secret given to an input not made for one")
	return cmd
}

// runCommand starts a template on a server and, with --wait, follows its
// event stream, printing each step as it goes; it exits non-zero when the
// task fails.
func (c *cli) runCommand() *cobra.Command {
	var server, token string
	var inputs runInputs
	var wait bool
	cmd := &cobra.Command{
		Use:   "run TEMPLATE_REF",
		Short: "Run a template on a rigger server (--wait follows it live)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if v, ok := c.env("RIGGER_SERVER"); ok && !cmd.Flags().Changed("server") {
				server = v
			}
			if v, ok := c.env("RIGGER_TOKEN"); ok && token == "" {
				token = v
			}
			values, secrets, err := inputs.read(c)
			if err != nil {
				return err
			}
			api := &apiClient{base: strings.TrimRight(server, "/"), token: token}
			var created struct{ ID string }
			body := map[string]any{"templateRef": args[0], "values": values}
			if len(secrets) > 0 {
				body["secrets"] = secrets
			}
			if err := api.do("POST", "/api/scaffolder/v2/tasks", body, &created); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "task %s started\n", created.ID)
			if !wait {
				return nil
			}
			return c.follow(api, created.ID)
		},
	}
	cmd.Flags().StringVar(&server, "server", "http://127.0.0.1:7007", "rigger API base URL (env RIGGER_SERVER)")
	cmd.Flags().StringVar(&token, "token", "", "bearer token (prefer env RIGGER_TOKEN)")
	inputs.addFlags(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the task live and exit non-zero if it fails")
	return cmd
}

// runInputs are the flags that give a run its values and secrets.
type runInputs struct {
	valuesFile       string
	sets, secretEnvs []string
}

func (r *runInputs) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.valuesFile, "values", "", "YAML or JSON file of parameter values")
	cmd.Flags().StringArrayVar(&r.sets, "set", nil, "parameter value key=value (repeatable; strings)")
	cmd.Flags().StringArrayVar(&r.secretEnvs, "secret-env", nil, "secret NAME=ENV_VAR: pass the value of an environment variable as secrets.NAME (repeatable)")
}

// read returns the parameter values and the secrets.
func (r *runInputs) read(c *cli) (map[string]any, map[string]string, error) {
	values, err := readValues(r.valuesFile, r.sets)
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
func readValues(valuesFile string, sets []string) (map[string]any, error) {
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
		values[k] = v
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

// follow reads the task's event stream and prints it, then reports the end
// state; it reconnects with ?after= if the stream drops.
func (c *cli) follow(api *apiClient, id string) error {
	after := 0
	for attempt := 0; attempt < 100; attempt++ {
		req, err := http.NewRequest("GET", fmt.Sprintf("%s/api/scaffolder/v2/tasks/%s/eventstream?after=%d", api.base, id, after), nil)
		if err != nil {
			return err
		}
		if api.token != "" {
			req.Header.Set("Authorization", "Bearer "+api.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			time.Sleep(time.Second)
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev struct {
				ID   int    `json:"id"`
				Type string `json:"type"`
				Body struct {
					Message string `json:"message"`
					StepID  string `json:"stepId"`
				} `json:"body"`
			}
			if json.Unmarshal([]byte(line), &ev) != nil {
				continue
			}
			after = ev.ID
			prefix := ev.Body.StepID
			if prefix == "" {
				prefix = "task"
			}
			fmt.Fprintf(c.stdout, "[%s] %s\n", prefix, ev.Body.Message)
		}
		resp.Body.Close()
		var task struct {
			Status string `json:"status"`
		}
		if err := api.do("GET", "/api/scaffolder/v2/tasks/"+id, nil, &task); err != nil {
			return err
		}
		switch task.Status {
		case "completed":
			fmt.Fprintf(c.stdout, "task %s completed\n", id)
			return nil
		case "failed", "cancelled":
			return exitError{code: 1, msg: fmt.Sprintf("task %s %s", id, task.Status)}
		}
	}
	return exitError{code: 1, msg: "lost the event stream too many times"}
}
