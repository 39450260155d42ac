package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// credentials are the refresh tokens rigger login stored, per server, in
// the user's config directory (0600 in a 0700 directory).
type credentials struct {
	Servers map[string]storedLogin `json:"servers"`
}

type storedLogin struct {
	User         string `json:"user"`
	RefreshToken string `json:"refreshToken"`
}

// credentialsPath is $XDG_CONFIG_HOME/rigger/credentials.json (or the
// platform's user config directory).
func (c *cli) credentialsPath() (string, error) {
	dir := ""
	if v, ok := c.env("XDG_CONFIG_HOME"); ok && v != "" {
		dir = v
	} else if d, err := os.UserConfigDir(); err == nil {
		dir = d
	} else {
		return "", fmt.Errorf("no config directory to keep the sign-in in: %w", err)
	}
	return filepath.Join(dir, "rigger", "credentials.json"), nil
}

func (c *cli) loadCredentials() (credentials, string, error) {
	creds := credentials{Servers: map[string]storedLogin{}}
	path, err := c.credentialsPath()
	if err != nil {
		return creds, "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return creds, path, nil
	}
	if err != nil {
		return creds, path, err
	}
	if err := json.Unmarshal(b, &creds); err != nil {
		return creds, path, fmt.Errorf("%s is not valid JSON (delete it and run rigger login again): %w", path, err)
	}
	if creds.Servers == nil {
		creds.Servers = map[string]storedLogin{}
	}
	return creds, path, nil
}

// saveCredentials writes the file atomically, readable by its owner only.
func saveCredentials(path string, creds credentials) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (c *cli) loginCommand() *cobra.Command {
	var rf remoteFlags
	var provider string
	var noBrowser bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in to a rigger server (opens the browser; --no-browser prints a link and asks for a code)",
		Long: `Sign in to a rigger server with its sign-in provider (OIDC, GitHub). The browser opens on the
provider's page and comes back to a port on 127.0.0.1 that this command listens on; on a machine
without a browser, --no-browser prints a link to open anywhere and asks for the code shown there.
The session's refresh token is kept in ` + "`$XDG_CONFIG_HOME/rigger/credentials.json`" + ` (mode 0600); every
command that talks to that server then uses it (an explicit --token or RIGGER_TOKEN wins).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := c.anonymousClient(&rf)
			if err != nil {
				return err
			}
			return c.login(cmd.Context(), api, provider, noBrowser)
		},
	}
	rf.registerServer(cmd)
	cmd.Flags().StringVar(&provider, "provider", "", "sign-in provider id (default: the server's only one)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the sign-in link and read the code from the terminal instead of opening a browser")
	return cmd
}

func (c *cli) login(ctx context.Context, api *apiClient, provider string, noBrowser bool) error {
	var providers struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := api.doContext(ctx, "GET", "/api/auth/providers", nil, &providers); err != nil {
		return fmt.Errorf("ask %s for its sign-in providers: %w", api.base, err)
	}
	ids := make([]string, len(providers.Items))
	for i, p := range providers.Items {
		ids[i] = p.ID
	}
	switch {
	case len(ids) == 0:
		return fmt.Errorf("%s has no sign-in provider configured (auth.providers); use a service token (--token) instead", api.base)
	case provider == "" && len(ids) > 1:
		return fmt.Errorf("%s has several sign-in providers (%s): choose one with --provider", api.base, strings.Join(ids, ", "))
	case provider == "":
		provider = ids[0]
	case !slices.Contains(ids, provider):
		return fmt.Errorf("%s has no sign-in provider %q (it has %s)", api.base, provider, strings.Join(ids, ", "))
	}
	verifier := randomURLToken(32)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	start := api.base + "/api/auth/" + url.PathEscape(provider) + "/start?cli_challenge=" + challenge

	var grant string
	if noBrowser {
		fmt.Fprintf(c.stdout, "Open this link in a browser, sign in, and paste the code it shows:\n\n  %s&cli_oob=1\n\ncode: ", start)
		line, err := bufio.NewReader(stdinReader(c)).ReadString('\n')
		if err != nil && strings.TrimSpace(line) == "" {
			return fmt.Errorf("read the code: %w", err)
		}
		grant = strings.TrimSpace(line)
	} else {
		g, err := c.loopbackGrant(ctx, start)
		if err != nil {
			return err
		}
		grant = g
	}
	var out struct {
		RefreshToken string `json:"refreshToken"`
		User         string `json:"user"`
	}
	if err := api.doContext(ctx, "POST", "/api/auth/cli/token", map[string]string{"grant": grant, "verifier": verifier}, &out); err != nil {
		return fmt.Errorf("finish sign-in: %w", err)
	}
	path, err := c.credentialsPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keep the sign-in in %s: %w", path, err)
	}
	unlock, err := lockCredentials(ctx, path)
	if err != nil {
		return err
	}
	defer unlock()
	creds, _, err := c.loadCredentials()
	if err != nil {
		return err
	}
	creds.Servers[api.base] = storedLogin{User: out.User, RefreshToken: out.RefreshToken}
	if err := saveCredentials(path, creds); err != nil {
		return fmt.Errorf("keep the sign-in in %s: %w", path, err)
	}
	fmt.Fprintf(c.stdout, "Signed in to %s as %s (kept in %s).\n", api.base, out.User, path)
	return nil
}

// loopbackGrant listens on a free 127.0.0.1 port, opens the browser on the
// sign-in link and waits (at most five minutes, or Ctrl-C) for the
// server's redirect to bring the grant back.
func (c *cli) loopbackGrant(ctx context.Context, start string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen on 127.0.0.1 for the browser's return (use --no-browser instead): %w", err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	link := fmt.Sprintf("%s&cli_port=%d", start, port)
	grants := make(chan string, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := r.URL.Query().Get("grant")
		if r.URL.Path != "/callback" || g == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Signed in. You can close this tab and go back to the terminal.")
		// The page reaches the browser before the command, which stops
		// this server once it has the grant (a flake saw the browser's
		// connection closed with no answer).
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case grants <- g:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		// Finish the answer the browser is reading, then stop.
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(shut) != nil {
			_ = srv.Close()
		}
	}()
	fmt.Fprintf(c.stdout, "Opening the browser to sign in; if it does not open, visit:\n\n  %s\n\nWaiting for the sign-in to finish in the browser…\n", link)
	if err := c.openBrowser(link); err != nil {
		fmt.Fprintf(c.stderr, "could not open a browser (%v); open the link above, or run rigger login --no-browser\n", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	select {
	case g := <-grants:
		return g, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", errors.New("the sign-in did not finish within 5 minutes; run rigger login again")
		}
		return "", exitError{code: 130, msg: "interrupted: not signed in"}
	}
}

// openBrowser opens url with the desktop's handler ($BROWSER first, from
// the command's environment).
func (c *cli) openBrowser(link string) error {
	if b, _ := c.env("BROWSER"); b != "" {
		return exec.Command(b, link).Start()
	}
	switch runtime.GOOS {
	case "darwin":
		return exec.Command("open", link).Start()
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", link).Start()
	}
	return exec.Command("xdg-open", link).Start()
}

func randomURLToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// stdinReader is what interactive commands read: the test's input, or
// the process's.
func stdinReader(c *cli) io.Reader {
	if c.stdin != nil {
		return c.stdin
	}
	return os.Stdin
}

// storedAccessToken signs a command in with the session rigger login kept
// for base: it trades the refresh token for a short-lived access token
// (keeping the rotated refresh token). No stored session: "".
//
// Commands run at the same time take turns (a lock file next to the
// credentials): each presents the refresh token the one before it kept,
// never one already spent, which the server would take for a stolen
// token and answer by ending the sign-in.
func (c *cli) storedAccessToken(ctx context.Context, base string) (string, error) {
	creds, path, err := c.loadCredentials()
	if err != nil {
		return "", err
	}
	if login, ok := creds.Servers[base]; !ok || login.RefreshToken == "" {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	unlock, err := lockCredentials(ctx, path)
	if err != nil {
		return "", err
	}
	defer unlock()
	if creds, _, err = c.loadCredentials(); err != nil { // as the command before left it
		return "", err
	}
	login, ok := creds.Servers[base]
	if !ok || login.RefreshToken == "" {
		return "", nil
	}
	var out struct {
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
	}
	api := &apiClient{base: base}
	if err := api.doContext(ctx, "POST", "/api/auth/refresh", map[string]string{"refreshToken": login.RefreshToken}, &out); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			return "", fmt.Errorf("the sign-in kept for %s has expired or was revoked: run rigger login --server %s (%w)", base, base, err)
		}
		return "", fmt.Errorf("renew the sign-in kept for %s: %w", base, err)
	}
	if out.RefreshToken != "" && out.RefreshToken != login.RefreshToken {
		login.RefreshToken = out.RefreshToken
		creds.Servers[base] = login
		if err := saveCredentials(path, creds); err != nil {
			return "", fmt.Errorf("keep the renewed sign-in in %s: %w", path, err)
		}
	}
	return out.AccessToken, nil
}

// lockStale is when a credentials lock is taken for left behind by a
// command that died (a refresh takes at most 30 s).
const lockStale = time.Minute

// lockCredentials takes the lock file path.lock (created exclusively),
// waiting while another command holds it; it returns the release.
func lockCredentials(ctx context.Context, path string) (func(), error) {
	lock := path + ".lock"
	for {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { _ = os.Remove(lock) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if fi, err := os.Stat(lock); err == nil && time.Since(fi.ModTime()) > lockStale {
			_ = os.Remove(lock)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for another rigger command to renew the sign-in (remove %s if none runs): %w", lock, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *cli) whoamiCommand() *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show who the server sees: your user (or service) and the groups you act for",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := c.client(&rf)
			if err != nil {
				return err
			}
			var out struct {
				Ref     string   `json:"ref"`
				Ent     []string `json:"ent"`
				Via     string   `json:"via"`
				Scopes  []string `json:"scopes"`
				Service bool     `json:"service"`
			}
			if err := api.doContext(cmd.Context(), "GET", "/api/auth/whoami", nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s (%s) on %s\n", out.Ref, out.Via, api.base)
			if len(out.Ent) > 0 {
				fmt.Fprintf(c.stdout, "acts for: %s\n", strings.Join(out.Ent, ", "))
			}
			if out.Service || len(out.Scopes) > 0 {
				fmt.Fprintf(c.stdout, "scopes: %s\n", strings.Join(out.Scopes, ", "))
			}
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}

func (c *cli) logoutCommand() *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "End the session rigger login kept for a server (revoked on the server, removed here)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			api, err := c.anonymousClient(&rf)
			if err != nil {
				return err
			}
			creds, path, err := c.loadCredentials()
			if err != nil {
				return err
			}
			if _, ok := creds.Servers[api.base]; !ok {
				fmt.Fprintf(c.stdout, "Not signed in to %s.\n", api.base)
				return nil
			}
			unlock, err := lockCredentials(cmd.Context(), path)
			if err != nil {
				return err
			}
			defer unlock()
			if creds, _, err = c.loadCredentials(); err != nil {
				return err
			}
			login := creds.Servers[api.base]
			revokeErr := api.doContext(cmd.Context(), "POST", "/api/auth/logout", map[string]string{"refreshToken": login.RefreshToken}, nil)
			delete(creds.Servers, api.base)
			if err := saveCredentials(path, creds); err != nil {
				return err
			}
			if revokeErr != nil {
				return fmt.Errorf("removed the sign-in kept here, but the server did not confirm it revoked the session: %w", revokeErr)
			}
			fmt.Fprintf(c.stdout, "Signed out of %s.\n", api.base)
			return nil
		},
	}
	rf.registerServer(cmd)
	return cmd
}
