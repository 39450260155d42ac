package github

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/sandbox"
)

// Git runs git. Every git process of this package starts through
// Command, so a sandbox can take its place.
type Git struct {
	// Command builds the process for name (an absolute path) and args;
	// the caller sets Dir, Stdout and Stderr, and appends git's
	// environment to whatever Env Command set (a sandbox's own
	// variables; nothing by default). Default: exec.CommandContext.
	Command func(ctx context.Context, name string, args ...string) (*exec.Cmd, error)
	// Path is git's absolute path.
	Path string
	// PathEnv is the PATH git's processes get (git runs its helpers,
	// e.g. git-remote-https, from its exec path, not from PATH).
	PathEnv string
	// Sandbox, when set, confines every git process (internal/sandbox):
	// it writes only its own clone and HOME, reads the task's workspace
	// and the system, and keeps the network (it pushes). Command is not
	// used then.
	Sandbox *sandbox.Runner
}

// NewGit finds git on PATH (the only look-up it does) and runs it with
// exec.CommandContext.
func NewGit() (*Git, error) {
	p, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git is required for the github actions: %w", err)
	}
	p, err = filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	return &Git{Path: p, PathEnv: "/usr/local/bin:/usr/bin:/bin",
		Command: func(ctx context.Context, name string, args ...string) (*exec.Cmd, error) {
			return exec.CommandContext(ctx, name, args...), nil
		}}, nil
}

// gitSession is git for one action: a private HOME and the credential
// its remote commands authenticate with.
type gitSession struct {
	git   *Git
	home  string
	token credentials.Secret
	// readOnly are what git may read besides its clone (the workspace).
	readOnly []string
}

// maxGitOutput bounds what is kept of one git command's output.
const maxGitOutput = 1 << 20

// env is git's whole environment: nothing of the worker's, no user or
// system git config, no prompts, and the token as an http.extraHeader
// given through GIT_CONFIG_* (never argv, never a URL).
func (s gitSession) env() []string {
	env := []string{
		"PATH=" + s.git.PathEnv,
		"HOME=" + s.home,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"LANG=C",
	}
	// No hooks, no fsmonitor, whatever a repository's config says
	// (GIT_CONFIG_* weigh like -c, over any config file).
	cfg := [][2]string{{"core.hooksPath", "/dev/null"}, {"core.fsmonitor", "false"}, {"protocol.file.allow", "never"}}
	if !s.token.Empty() {
		basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + s.token.Reveal()))
		cfg = append(cfg, [2]string{"http.extraHeader", "Authorization: Basic " + basic})
	}
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(cfg)))
	for i, kv := range cfg {
		n := strconv.Itoa(i)
		env = append(env, "GIT_CONFIG_KEY_"+n+"="+kv[0], "GIT_CONFIG_VALUE_"+n+"="+kv[1])
	}
	return env
}

// secrets are the values git's output must not show: the token and its
// basic-auth form.
func (s gitSession) secrets() []credentials.Secret {
	if s.token.Empty() {
		return nil
	}
	return []credentials.Secret{s.token, credentials.NewSecret(base64.StdEncoding.EncodeToString([]byte("x-access-token:" + s.token.Reveal())))}
}

// cmd builds one git process in dir; the single place a git process is
// made.
func (s gitSession) cmd(ctx context.Context, dir string, args ...string) (*exec.Cmd, error) {
	if s.git.Sandbox != nil {
		c, _, err := s.git.Sandbox.Command(ctx, sandbox.Spec{Path: s.git.Path, Args: append([]string{"git"}, args...), Dir: dir,
			Env: s.env(), ReadOnly: s.readOnly, Writable: []string{filepath.Dir(s.home)}, Network: true})
		return c, err
	}
	c, err := s.git.Command(ctx, s.git.Path, args...)
	if err != nil {
		return nil, err
	}
	c.Dir = dir
	c.Env = append(c.Env, s.env()...)
	return c, nil
}

// run runs git in dir and returns its trimmed stdout. An error carries
// git's stderr, scrubbed of the token.
func (s gitSession) run(ctx context.Context, dir string, args ...string) (string, error) {
	name := subcommand(args)
	c, err := s.cmd(ctx, dir, args...)
	if err != nil {
		return "", fmt.Errorf("git %s: %w", name, err)
	}
	var out, errOut limitedBuffer
	c.Stdout, c.Stderr = &out, &errOut
	err = c.Run()
	for _, f := range c.ExtraFiles { // the sandbox's spec, read at start
		_ = f.Close()
	}
	if err != nil {
		msg := credentials.Scrub(strings.TrimSpace(errOut.String()), s.secrets()...)
		return "", credentials.ScrubError(fmt.Errorf("git %s: %w: %s", name, err, msg), s.secrets()...)
	}
	return strings.TrimSpace(credentials.Scrub(out.String(), s.secrets()...)), nil
}

// limitedBuffer keeps the first maxGitOutput bytes written to it.
type limitedBuffer struct{ b bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxGitOutput - l.b.Len(); room > 0 {
		if len(p) > room {
			l.b.Write(p[:room])
		} else {
			l.b.Write(p)
		}
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return l.b.String() }

// newSession makes a session with a fresh HOME under tmp.
// readOnly are the paths git may read besides tmp (the workspace).
func newSession(g *Git, tmp string, token credentials.Secret, readOnly ...string) (gitSession, error) {
	home := filepath.Join(tmp, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return gitSession{}, err
	}
	return gitSession{git: g, home: home, token: token, readOnly: readOnly}, nil
}

// subcommand is git's command among args (after --git-dir=…, -c k=v).
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-c":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return "?"
}
