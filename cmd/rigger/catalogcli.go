package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/riggerdev/rigger/internal/catalog"
)

func (c *cli) catalogCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Validate and import catalog entities"}
	cmd.AddCommand(c.catalogValidateCommand(), c.catalogImportCommand())
	return cmd
}

// catalogValidateCommand checks files with the same parser, limits and rules
// the server uses; it exits 1 when any document is invalid, for a repo's CI.
func (c *cli) catalogValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate catalog-info.yaml files (exit 1 with precise messages when invalid)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lim := catalog.DefaultLimits()
			valid, invalid := 0, 0
			for _, path := range args {
				data, err := readLimited(path, int64(lim.DocumentBytes))
				if err != nil {
					fmt.Fprintln(c.stderr, err)
					invalid++
					continue
				}
				docs, perr := catalog.Parse(path, data, lim)
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
	var server, token string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "import FILE|URL",
		Short: "Register a location with a running rigger and wait for its first refresh",
		Long: `Registers a catalog location with a running rigger (--server, env RIGGER_SERVER) and waits
until it has been read. URLs must be on a host allowed by the server's catalog.reading.allow;
file paths are accepted by rigger dev only. The bearer token comes from --token or RIGGER_TOKEN.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if v, ok := c.env("RIGGER_SERVER"); ok && !cmd.Flags().Changed("server") {
				server = v
			}
			if v, ok := c.env("RIGGER_TOKEN"); ok && token == "" {
				token = v
			}
			target, typ := args[0], "url"
			if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
				abs, err := filepath.Abs(target)
				if err != nil {
					return err
				}
				target, typ = abs, "file"
			}
			api := &apiClient{base: strings.TrimRight(server, "/"), token: token}
			var added struct {
				Location struct{ ID string } `json:"location"`
			}
			if err := api.do("POST", "/api/catalog/locations", map[string]string{"type": typ, "target": target}, &added); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "registered %s location %s (id %s)\n", typ, target, added.Location.ID)
			fmt.Fprintf(c.stdout, "waiting for the first refresh...\n")
			deadline := time.Now().Add(wait)
			for {
				var st struct {
					LastRefresh *time.Time `json:"lastRefresh"`
					LastError   string     `json:"lastError"`
				}
				if err := api.do("GET", "/api/catalog/locations/"+added.Location.ID+"/status", nil, &st); err != nil {
					return err
				}
				if st.LastRefresh != nil {
					if st.LastError != "" {
						fmt.Fprintf(c.stderr, "the location was read with errors:\n%s\n", st.LastError)
						return exitError{code: 1}
					}
					fmt.Fprintln(c.stdout, "done: the location was read without errors")
					return nil
				}
				if time.Now().After(deadline) {
					return exitError{code: 1, msg: fmt.Sprintf("no refresh within %s; the location stays registered", wait)}
				}
				time.Sleep(200 * time.Millisecond)
			}
		},
	}
	cmd.Flags().StringVar(&server, "server", "http://127.0.0.1:7007", "rigger API base URL (env RIGGER_SERVER)")
	cmd.Flags().StringVar(&token, "token", "", "bearer token (prefer env RIGGER_TOKEN)")
	cmd.Flags().DurationVar(&wait, "wait", 2*time.Minute, "how long to wait for the first refresh")
	return cmd
}

// apiClient calls a rigger server and turns its Backstage-shaped errors into
// messages.
type apiClient struct {
	base, token string
}

func (a *apiClient) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
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
			return fmt.Errorf("%s: %s", e.Error.Name, e.Error.Message)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
