package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/internal/catalog"
)

func (c *cli) catalogCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Validate, import and list catalog entities"}
	cmd.AddCommand(c.catalogValidateCommand(), c.catalogImportCommand(), c.catalogListCommand())
	return cmd
}

// catalogValidateCommand checks files with the same parser, limits and
// catalog.model the server uses (from rigger.yaml, as every command reads
// it); it exits 1 when any document is invalid, for a repo's CI.
func (c *cli) catalogValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate catalog-info.yaml files (exit 1 with precise messages when invalid)",
		Long: `Validates catalog files as the server reads them: Backstage's rules, the kinds and per-type
schemas of catalog.model and catalog.limits of rigger.yaml (--config, RIGGER_CONFIG or ./rigger.yaml).
Each problem names the file, the document, the line and the field.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := c.loadConfig(cmd, nil)
			if err != nil {
				return err
			}
			model, err := catalogModel(cfg)
			if err != nil {
				return err
			}
			lim := catalogLimits(cfg)
			policy := catalog.Policy{Model: model}
			valid, invalid := 0, 0
			for _, path := range args {
				data, err := readLimited(path, int64(lim.DocumentBytes))
				if err != nil {
					fmt.Fprintln(c.stderr, err)
					invalid++
					continue
				}
				docs, perr := catalog.ParseWith(path, data, lim, policy)
				for _, d := range docs {
					if len(d.Errors) == 0 {
						valid++
						fmt.Fprintf(c.stdout, "ok    %s: document %d: %s\n", path, d.Index+1, d.Entity.Ref())
						continue
					}
					invalid++
					for _, e := range d.Errors {
						fmt.Fprintf(c.stderr, "error %s\n", e)
					}
				}
				if perr != nil {
					invalid++
					fmt.Fprintf(c.stderr, "error %s\n", perr)
				}
			}
			fmt.Fprintf(c.stdout, "%d valid, %d invalid\n", valid, invalid)
			if invalid > 0 {
				return exitError{code: 1}
			}
			return nil
		},
	}
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: file is larger than %d bytes", path, limit)
	}
	return data, nil
}

// catalogImportCommand registers a location with a running server and waits
// for its first refresh, showing progress.
func (c *cli) catalogImportCommand() *cobra.Command {
	var rf remoteFlags
	var wait time.Duration
	var replace bool
	cmd := &cobra.Command{
		Use:   "import FILE|DIR|URL",
		Short: "Register a location with a running rigger and wait for its first refresh",
		Long: `Registers a catalog location with a running rigger (--server, env RIGGER_SERVER, else
server.baseUrl of rigger.yaml) and waits until it has been read. URLs must be on a host allowed by
the server's catalog.reading.allow; file paths are accepted by rigger dev only. The bearer token
comes from --token or RIGGER_TOKEN. A directory means its catalog-info.yaml. When the first
refresh fails (or does not come within --wait) the location is removed again, so a failed import
leaves nothing registered; --replace removes an existing registration of the same target first.
Ctrl-C stops waiting; the location then stays registered.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			api, err := c.client(&rf)
			if err != nil {
				return err
			}
			target, typ := args[0], "url"
			if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
				abs, err := localTarget(target)
				if err != nil {
					return exitError{code: 1, msg: err.Error()}
				}
				target, typ = abs, "file"
			}
			var added struct {
				Location struct{ ID string } `json:"location"`
			}
			body := map[string]string{"type": typ, "target": target}
			err = api.doContext(ctx, "POST", "/api/catalog/locations", body, &added)
			var ae *apiError
			if replace && errors.As(err, &ae) && ae.Status == http.StatusConflict {
				if err = c.unregister(ctx, api, typ, target); err == nil {
					err = api.doContext(ctx, "POST", "/api/catalog/locations", body, &added)
				}
			}
			if err != nil {
				if errors.As(err, &ae) && ae.Status == http.StatusConflict && !replace {
					return fmt.Errorf("%w (use --replace to register it again)", err)
				}
				return err
			}
			failed := func(msg string) error {
				if err := api.doContext(context.WithoutCancel(ctx), "DELETE", "/api/catalog/locations/"+added.Location.ID, nil, nil); err != nil {
					return exitError{code: 1, msg: msg + "; removing the location failed too: " + err.Error()}
				}
				return exitError{code: 1, msg: msg + "; the location was removed again, nothing stays registered"}
			}
			fmt.Fprintf(c.stdout, "registered %s location %s (id %s)\n", typ, target, added.Location.ID)
			fmt.Fprintf(c.stdout, "waiting for the first refresh...\n")
			deadline := time.Now().Add(wait)
			interrupted := func() error {
				return exitError{code: 130, msg: fmt.Sprintf("interrupted: location %s stays registered; its status: GET %s/api/catalog/locations/%s/status", added.Location.ID, api.base, added.Location.ID)}
			}
			for {
				var st struct {
					LastRefresh *time.Time `json:"lastRefresh"`
					LastError   string     `json:"lastError"`
				}
				if err := api.doContext(ctx, "GET", "/api/catalog/locations/"+added.Location.ID+"/status", nil, &st); err != nil {
					if ctx.Err() != nil {
						return interrupted()
					}
					return err
				}
				if st.LastRefresh != nil {
					if st.LastError != "" {
						fmt.Fprintf(c.stderr, "the location was read with errors:\n%s\n", st.LastError)
						return failed("import failed")
					}
					fmt.Fprintln(c.stdout, "done: the location was read without errors")
					return nil
				}
				if time.Now().After(deadline) {
					return failed(fmt.Sprintf("no refresh within %s", wait))
				}
				select {
				case <-ctx.Done():
					return interrupted()
				case <-time.After(200 * time.Millisecond):
				}
			}
		},
	}
	rf.register(cmd)
	cmd.Flags().DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for the first refresh")
	cmd.Flags().BoolVar(&replace, "replace", false, "remove an existing registration of the same target first")
	return cmd
}

// localTarget is the absolute path of a file to import: a directory means
// its catalog-info.yaml, which must exist.
func localTarget(target string) (string, error) {
	abs, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		if strings.ContainsAny(abs, "*?[") {
			return abs, nil // a glob: the server expands it
		}
		return "", fmt.Errorf("cannot import %s: %w", target, err)
	}
	if fi.IsDir() {
		f := filepath.Join(abs, "catalog-info.yaml")
		if _, err := os.Stat(f); err != nil {
			return "", fmt.Errorf("%s is a directory without a catalog-info.yaml: name the file to import (or a glob such as %s)", target, filepath.Join(target, "*.yaml"))
		}
		return f, nil
	}
	return abs, nil
}

// unregister removes the registered location of type and target.
func (c *cli) unregister(ctx context.Context, api *apiClient, typ, target string) error {
	var locs []struct {
		Data struct{ ID, Type, Target string } `json:"data"`
	}
	if err := api.doContext(ctx, "GET", "/api/catalog/locations", nil, &locs); err != nil {
		return err
	}
	for _, l := range locs {
		if l.Data.Type == typ && l.Data.Target == target {
			fmt.Fprintf(c.stdout, "removing the existing registration (id %s)\n", l.Data.ID)
			return api.doContext(ctx, "DELETE", "/api/catalog/locations/"+l.Data.ID, nil, nil)
		}
	}
	return fmt.Errorf("%s location %s is registered but not listed (a static location of rigger.yaml cannot be replaced)", typ, target)
}

// catalogListCommand lists entities of a running rigger, one ref per line.
func (c *cli) catalogListCommand() *cobra.Command {
	var rf remoteFlags
	var kind string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the entities of a running rigger (one entity ref per line)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := c.client(&rf)
			if err != nil {
				return err
			}
			return c.listEntities(cmd.Context(), api, kind, limit)
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&kind, "kind", "", "only entities of this kind, e.g. Component")
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most this many entities")
	return cmd
}

// listEntities prints kind:namespace/name and the title (or description)
// of each entity, sorted by ref.
func (c *cli) listEntities(ctx context.Context, api *apiClient, kind string, limit int) error {
	q := url.Values{}
	q.Set("limit", fmt.Sprint(limit))
	q.Set("orderField", "metadata.name,asc")
	q.Add("fields", "kind,metadata.name,metadata.namespace,metadata.title,metadata.description")
	if kind != "" {
		q.Set("filter", "kind="+kind)
	}
	var resp struct {
		Items []struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name, Namespace, Title, Description string
			} `json:"metadata"`
		} `json:"items"`
		TotalItems int `json:"totalItems"`
	}
	if err := api.doContext(ctx, "GET", "/api/catalog/entities/by-query?"+q.Encode(), nil, &resp); err != nil {
		return err
	}
	for _, e := range resp.Items {
		ns := e.Metadata.Namespace
		if ns == "" {
			ns = "default"
		}
		about := e.Metadata.Title
		if about == "" {
			about = e.Metadata.Description
		}
		line := strings.ToLower(e.Kind) + ":" + ns + "/" + e.Metadata.Name
		if about != "" {
			line += "\t" + about
		}
		fmt.Fprintln(c.stdout, line)
	}
	if resp.TotalItems > len(resp.Items) {
		fmt.Fprintf(c.stderr, "%d of %d shown (--limit)\n", len(resp.Items), resp.TotalItems)
	}
	return nil
}

// apiError is an error answer of the server.
type apiError struct {
	Status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// apiClient calls a rigger server and turns its Backstage-shaped errors into
// messages.
type apiClient struct {
	base, token string
	// loginHint: a 401 to a request without a token tells to sign in.
	loginHint bool
}

// doContext sends one request and decodes its answer; it gives up when ctx
// ends.
func (a *apiClient) doContext(ctx context.Context, method, path string, body, out any) error {
	return a.doHeaders(ctx, method, path, nil, body, out)
}

// doHeaders is doContext with extra request headers.
func (a *apiClient) doHeaders(ctx context.Context, method, path string, headers map[string]string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, a.base+path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Name, Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			msg := fmt.Sprintf("%s: %s", e.Error.Name, e.Error.Message)
			if resp.StatusCode == http.StatusUnauthorized && a.token == "" && a.loginHint {
				msg += fmt.Sprintf(" (not signed in: run rigger login --server %s, or pass --token)", a.base)
			}
			return &apiError{Status: resp.StatusCode, msg: msg}
		}
		return &apiError{Status: resp.StatusCode, msg: fmt.Sprintf("%s %s: HTTP %d", method, path, resp.StatusCode)}
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
