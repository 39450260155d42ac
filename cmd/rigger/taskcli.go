package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/config"
)

// remoteFlags are the flags of commands that talk to a running rigger.
type remoteFlags struct {
	server, token string
}

func (r *remoteFlags) register(cmd *cobra.Command) {
	r.registerServer(cmd)
	cmd.Flags().StringVar(&r.token, "token", "", "bearer token (prefer env RIGGER_TOKEN; default: the session of rigger login)")
}

// registerServer registers --server alone (commands that sign in or out).
func (r *remoteFlags) registerServer(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.server, "server", "", "rigger API base URL (env RIGGER_SERVER; default server.baseUrl of rigger.yaml, http://127.0.0.1:7007)")
}

// client returns the API client: --server (or RIGGER_SERVER), else
// server.baseUrl of the configuration file (--config, RIGGER_CONFIG or
// ./rigger.yaml), else the default http://127.0.0.1:7007.
func (c *cli) client(r *remoteFlags) (*apiClient, error) {
	api, err := c.anonymousClient(r)
	if err != nil {
		return nil, err
	}
	api.token = r.token
	if api.token == "" {
		// No --token or RIGGER_TOKEN: the session rigger login kept, if any.
		tok, err := c.storedAccessToken(context.Background(), api.base)
		if err != nil {
			return nil, err
		}
		api.token = tok
		api.loginHint = tok == ""
	}
	return api, nil
}

// anonymousClient is client without credentials (for signing in and out).
func (c *cli) anonymousClient(r *remoteFlags) (*apiClient, error) {
	base := r.server
	if base == "" {
		path := c.configPath
		if path == "" {
			if _, err := os.Stat(defaultConfigFile); err == nil {
				path = defaultConfigFile
			}
		}
		cfg, err := config.Load(path, c.env)
		if err != nil {
			return nil, fmt.Errorf("--server not given, and server.baseUrl could not be read from the configuration: %w", err)
		}
		base = cfg.Server.BaseURL
	}
	return &apiClient{base: strings.TrimRight(base, "/")}, nil
}

// taskCommand groups commands about one task.
func (c *cli) taskCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "task", Short: "Follow scaffolder tasks"}
	var rf remoteFlags
	follow := &cobra.Command{
		Use:   "follow TASK_ID",
		Short: "Follow a task live until it ends (exit 1 if it fails); Ctrl-C stops following, not the task",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := c.client(&rf)
			if err != nil {
				return err
			}
			return c.follow(cmd.Context(), api, args[0], "")
		},
	}
	rf.register(follow)
	cmd.AddCommand(follow)
	return cmd
}

// interrupted is the error of a waiting command stopped by SIGINT/SIGTERM:
// the task goes on, and the message says how to follow it again.
func (c *cli) interrupted(api *apiClient, id string) error {
	return exitError{code: 130, msg: fmt.Sprintf("interrupted: task %s keeps running on the server; follow it again with:\n  rigger task follow %s --server %s", id, id, api.base)}
}

// follow reads the task's event stream and prints it, then reports the end
// state and the task's output; it reconnects with ?after= if the stream
// drops, and returns at once when ctx ends (Ctrl-C). With downloadDir, a
// completed task's workspace is unpacked there.
func (c *cli) follow(ctx context.Context, api *apiClient, id, downloadDir string) error {
	after := 0
	for attempt := 0; attempt < 100; attempt++ {
		if ctx.Err() != nil {
			return c.interrupted(api, id)
		}
		req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/scaffolder/v2/tasks/%s/eventstream?after=%d", api.base, id, after), nil)
		if err != nil {
			return err
		}
		if api.token != "" {
			req.Header.Set("Authorization", "Bearer "+api.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return c.interrupted(api, id)
			}
			select {
			case <-ctx.Done():
				return c.interrupted(api, id)
			case <-time.After(time.Second):
			}
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
		if ctx.Err() != nil {
			return c.interrupted(api, id)
		}
		var task struct {
			Status string         `json:"status"`
			Output map[string]any `json:"output"`
		}
		if err := api.doContext(ctx, "GET", "/api/scaffolder/v2/tasks/"+id, nil, &task); err != nil {
			if ctx.Err() != nil {
				return c.interrupted(api, id)
			}
			return err
		}
		switch task.Status {
		case "completed":
			fmt.Fprintf(c.stdout, "task %s completed\n", id)
			printOutput(c, task.Output)
			if downloadDir != "" {
				return c.downloadWorkspace(ctx, api, id, downloadDir)
			}
			return nil
		case "failed", "cancelled":
			return exitError{code: 1, msg: fmt.Sprintf("task %s %s", id, task.Status)}
		}
	}
	return exitError{code: 1, msg: "lost the event stream too many times"}
}

// printOutput prints a task's output the way Backstage shows it: links,
// then text blocks, then any other value as YAML.
func printOutput(c *cli, out map[string]any) {
	if len(out) == 0 {
		return
	}
	fmt.Fprintln(c.stdout, "output:")
	if links, ok := out["links"].([]any); ok {
		for _, l := range links {
			m, _ := l.(map[string]any)
			title, _ := m["title"].(string)
			target, _ := m["url"].(string)
			if target == "" {
				target, _ = m["entityRef"].(string)
			}
			if title == "" {
				title = "link"
			}
			fmt.Fprintf(c.stdout, "  %s: %s\n", title, target)
		}
	}
	if texts, ok := out["text"].([]any); ok {
		for _, t := range texts {
			m, _ := t.(map[string]any)
			title, _ := m["title"].(string)
			content, _ := m["content"].(string)
			fmt.Fprintf(c.stdout, "  %s:\n", title)
			for _, line := range strings.Split(strings.TrimRight(content, "\n"), "\n") {
				fmt.Fprintf(c.stdout, "    %s\n", line)
			}
		}
	}
	rest := map[string]any{}
	for k, v := range out {
		if k != "links" && k != "text" {
			rest[k] = v
		}
	}
	if len(rest) > 0 {
		b, err := yaml.Marshal(rest)
		if err == nil {
			for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
				fmt.Fprintf(c.stdout, "  %s\n", line)
			}
		}
	}
}
