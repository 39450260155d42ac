package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store/storetest"

	"github.com/riggerdev/rigger/api"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/auth/oidctest"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/internal/testtools"
)

// loginCatalog: alice, in team-a.
const loginCatalog = `
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {profile: {email: alice@example.com}, memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
`

// signInAPI starts a real API server on 127.0.0.1, wired from a
// configuration whose auth.providers.oidc is a real OpenID provider
// (oidctest), with the catalog's users in a real SQLite store; it returns
// the server's URL and the provider.
func signInAPI(t *testing.T) (string, *oidctest.OP) {
	t.Helper()
	ctx := context.Background()
	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	op := oidctest.Start(t, base+"/api/auth/oidc/handler/frame")

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	storetest.Seed(t, st, loginCatalog)

	// The server is wired from its configuration as rigger server does.
	cfg := config.Default()
	cfg.Server.BaseURL = base
	cfg.Scaffolder.SecretKey = config.Secret(base64.StdEncoding.EncodeToString(testSecretKey))
	cfg.Auth.Session.Secret = "a-session-secret-of-at-least-32-characters"
	cfg.Auth.Providers.OIDC = config.OIDCAuth{IssuerURL: op.Issuer, ClientID: "web", ClientSecret: config.Secret(oidctest.ClientSecret)}
	logger := newLogger(os.Stderr, "error", "text")
	authn, err := authenticator(cfg, modeServer)
	if err != nil {
		t.Fatal(err)
	}
	authn, tokens, signIn, err := tokenAuth(ctx, cfg, st, modeServer, authn, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{Logger: logger, Auth: authn, BaseURL: base, Tokens: tokens, SignIn: signIn})
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(hs.Close)
	return base, op
}

// syncBuffer is a command's output the test reads while it runs.
type syncBuffer = testtools.SyncBuffer

// startCLI runs rigger in-process in the background, reading stdin.
func startCLI(t *testing.T, env map[string]string, stdin io.Reader, args ...string) (*syncBuffer, *syncBuffer, <-chan error) {
	t.Helper()
	var out, errb syncBuffer
	c := &cli{stdout: &out, stderr: &errb, stdin: stdin, env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	root := c.rootCommand()
	root.SetArgs(args)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(context.Background()) }()
	return &out, &errb, done
}

// waitFor polls the command's output until re matches it (or the command
// ends, or 30 s pass) and returns the first submatch.
func waitFor(t *testing.T, out, errb *syncBuffer, done <-chan error, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("the command ended (%v) before printing %s:\n%s\n%s", err, re, out, errb)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %s in 30 s:\n%s\n%s", re, out, errb)
	return ""
}

func waitDone(t *testing.T, errb *syncBuffer, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the command failed: %v\n%s", err, errb)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not end within 30 s")
	}
}

// browse plays the user's browser on link (rigger's start URL): the
// pending sign-in cookie (Secure, so kept by hand over plain http), the
// provider's login as alice, the callback. It returns rigger's answer to
// the callback.
func browse(t *testing.T, op *oidctest.OP, link string) *http.Response {
	t.Helper()
	noFollow := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || len(resp.Cookies()) != 1 {
		t.Fatalf("start: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	pending := resp.Cookies()[0]
	cb := op.SignIn(t, resp.Header.Get("Location"), oidctest.Alice, oidctest.Password(oidctest.Alice))
	req, _ := http.NewRequest("GET", cb.String(), nil)
	req.AddCookie(&http.Cookie{Name: pending.Name, Value: pending.Value})
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// readCredentials checks the file's and its folder's modes and returns
// the kept sign-ins.
func readCredentials(t *testing.T, home string) credentials {
	t.Helper()
	path := filepath.Join(home, "rigger", "credentials.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("credentials file %v in a folder %v, want 0600 in 0700", fi.Mode(), di.Mode())
	}
	b, _ := os.ReadFile(path)
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLoginNoBrowser: rigger login --no-browser prints a link; the user
// signs in at the real provider, pastes the code the page shows; then
// whoami uses the kept session, and logout revokes it on the server.
func TestLoginNoBrowser(t *testing.T) {
	base, op := signInAPI(t)
	home := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": home}
	stdin, typed := io.Pipe()
	defer typed.Close()
	out, errb, done := startCLI(t, env, stdin, "login", "--no-browser", "--server", base)
	link := waitFor(t, out, errb, done, regexp.MustCompile(`(?m)^  (http://\S+cli_oob=1)$`))
	if !strings.Contains(out.String(), "code: ") {
		t.Fatalf("no prompt for the code:\n%s", out)
	}

	resp := browse(t, op, link)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`<textarea[^>]*>([A-Za-z0-9_-]+)</textarea>`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("the page to copy the code from: %d\n%s", resp.StatusCode, page)
	}
	if _, err := io.WriteString(typed, "  "+string(m[1])+"\n"); err != nil {
		t.Fatal(err)
	}
	waitDone(t, errb, done)
	if !strings.Contains(out.String(), "Signed in to "+base+" as user:default/alice") {
		t.Fatalf("login printed:\n%s", out)
	}
	kept := readCredentials(t, home).Servers[base]
	if kept.User != "user:default/alice" || !strings.HasPrefix(kept.RefreshToken, auth.RefreshPrefix) {
		t.Fatalf("kept sign-in %+v", kept)
	}

	// whoami signs in with the kept session (and keeps the rotated token).
	who, errOut, err := runCLI(t, env, "whoami", "--server", base)
	if err != nil || !strings.Contains(who, "user:default/alice (rigger-token) on "+base) || !strings.Contains(who, "group:default/team-a") {
		t.Fatalf("whoami: %q %v %s", who, err, errOut)
	}
	rotated := readCredentials(t, home).Servers[base]
	if rotated.RefreshToken == kept.RefreshToken || !strings.HasPrefix(rotated.RefreshToken, auth.RefreshPrefix) {
		t.Fatalf("the refresh token was not rotated: %+v", rotated)
	}
	copyOf, err := os.ReadFile(filepath.Join(home, "rigger", "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}

	if out, _, err := runCLI(t, env, "logout", "--server", base); err != nil || !strings.Contains(out, "Signed out of "+base) {
		t.Fatalf("logout: %q %v", out, err)
	}
	if _, ok := readCredentials(t, home).Servers[base]; ok {
		t.Fatal("logout left the sign-in in the credentials file")
	}
	if _, _, err := runCLI(t, env, "whoami", "--server", base); err == nil || !strings.Contains(err.Error(), "rigger login") {
		t.Fatalf("whoami after logout: %v", err)
	}
	// The session is revoked on the server too: a copy of the file kept
	// from before logout no longer works.
	if err := os.WriteFile(filepath.Join(home, "rigger", "credentials.json"), copyOf, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = runCLI(t, env, "whoami", "--server", base)
	if err == nil || !strings.Contains(err.Error(), "expired or was revoked: run rigger login --server "+base) || !strings.Contains(err.Error(), "AuthenticationError") {
		t.Fatalf("whoami with the revoked session: %v", err)
	}
}

// TestLoginLoopback: rigger login opens the browser ($BROWSER, here a
// command that does nothing: the test is the browser, on the printed
// link); the server sends the browser back to the command's port on
// 127.0.0.1 with the grant.
func TestLoginLoopback(t *testing.T) {
	base, op := signInAPI(t)
	home := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": home, "BROWSER": "true"}
	out, errb, done := startCLI(t, env, nil, "login", "--server", base)
	link := waitFor(t, out, errb, done, regexp.MustCompile(`(?m)^  (http://\S+cli_port=\d+)$`))
	port := regexp.MustCompile(`cli_port=(\d+)`).FindStringSubmatch(link)[1]

	resp := browse(t, op, link)
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || back.Host != "127.0.0.1:"+port || back.Path != "/callback" {
		t.Fatalf("the callback sent the browser to %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Get(back.String()) // the browser follows to the command's port
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Signed in") {
		t.Fatalf("the command's loopback page: %d %s", resp.StatusCode, body)
	}
	waitDone(t, errb, done)
	if strings.Contains(errb.String(), "could not open a browser") {
		t.Fatalf("$BROWSER was not used: %s", errb)
	}
	if readCredentials(t, home).Servers[base].User != "user:default/alice" {
		t.Fatalf("login did not keep the sign-in:\n%s", out)
	}
	who, _, err := runCLI(t, env, "whoami", "--server", base)
	if err != nil || !strings.Contains(who, "user:default/alice (rigger-token)") {
		t.Fatalf("whoami: %q %v", who, err)
	}
}

// TestKeptSessionConcurrentCommands: commands run at the same time with
// the kept sign-in (a script following a task while listing the catalog)
// all work, and the sign-in survives them: they must not present the same
// refresh token twice, which the server takes for a stolen token and
// answers by revoking the session.
func TestKeptSessionConcurrentCommands(t *testing.T) {
	base, op := signInAPI(t)
	home := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": home, "BROWSER": "true"}
	out, errb, done := startCLI(t, env, nil, "login", "--server", base)
	link := waitFor(t, out, errb, done, regexp.MustCompile(`(?m)^  (http://\S+cli_port=\d+)$`))
	resp := browse(t, op, link)
	resp.Body.Close()
	resp, err := http.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitDone(t, errb, done)

	const n = 6
	errsc := make(chan error, n)
	for range n {
		go func() {
			who, _, err := runCLI(t, env, "whoami", "--server", base)
			if err == nil && !strings.Contains(who, "user:default/alice") {
				err = fmt.Errorf("whoami printed %q", who)
			}
			errsc <- err
		}()
	}
	for range n {
		if err := <-errsc; err != nil {
			t.Errorf("a concurrent command: %v", err)
		}
	}
	if who, _, err := runCLI(t, env, "whoami", "--server", base); err != nil || !strings.Contains(who, "user:default/alice") {
		t.Fatalf("whoami after the concurrent commands: %q %v", who, err)
	}
	// A lock left by a command that died does not block the next ones.
	lock := filepath.Join(home, "rigger", "credentials.json.lock")
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * lockStale)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	if who, _, err := runCLI(t, env, "whoami", "--server", base); err != nil || !strings.Contains(who, "user:default/alice") {
		t.Fatalf("whoami with a stale lock: %q %v", who, err)
	}
	if _, err := os.Stat(lock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lock is left behind: %v", err)
	}
}
