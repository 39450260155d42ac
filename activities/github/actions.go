package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	gh "github.com/google/go-github/v60/github"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
)

// Options are the actions' optional dependencies.
type Options struct {
	// HTTPClient calls GitHub's API (nil: http.DefaultClient).
	HTTPClient *http.Client
	// Git runs git (nil: NewGit).
	Git *Git
	// Logger gets one line per side effect (nil: discard).
	Logger *slog.Logger
	// TempDir is where clones are made (""; os.TempDir).
	TempDir string
}

// service holds what every action uses.
type service struct {
	broker *credentials.Broker
	cfg    Config
	http   *http.Client
	git    *Git
	log    *slog.Logger
	tmp    string
}

// Actions returns the GitHub actions by id, for
// activities.Scaffold.CheckedIntegration. Each asks broker for a token
// of integration "github" limited to its target repository and the
// permissions it declares. It validates cfg, looks git up on PATH when
// opts.Git is nil and does no other I/O.
func Actions(broker *credentials.Broker, cfg Config, opts Options) (map[string]activities.ActionFunc, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &service{broker: broker, cfg: cfg, http: opts.HTTPClient, git: opts.Git, log: opts.Logger, tmp: opts.TempDir}
	if s.http == nil {
		s.http = http.DefaultClient
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.git == nil {
		g, err := NewGit()
		if err != nil {
			return nil, err
		}
		s.git = g
	}
	return map[string]activities.ActionFunc{
		ActionPublish:     s.publish,
		ActionPullRequest: s.pullRequest,
		ActionRepoCreate:  s.repoCreate,
		ActionRepoPush:    s.repoPush,
		ActionIssuesLabel: s.issuesLabel,
		ActionDispatch:    s.dispatch,
		ActionWebhook:     s.webhook,
	}, nil
}

// The action ids.
const (
	ActionPublish     = "publish:github"
	ActionPullRequest = "publish:github:pull-request"
	ActionRepoCreate  = "github:repo:create"
	ActionRepoPush    = "github:repo:push"
	ActionIssuesLabel = "github:issues:label"
	ActionDispatch    = "github:actions:dispatch"
	ActionWebhook     = "github:webhook"
)

// repoRef is a parsed repoUrl.
type repoRef struct{ host, owner, repo string }

// target is the repository as the policy sees it: lower case, as GitHub
// compares names (a forbid on github.com/acme/secret* must hold for
// Acme/Secrets too).
func (r repoRef) target() string { return strings.ToLower(r.host + "/" + r.owner + "/" + r.repo) }

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// parseRepoURL reads Backstage's repoUrl form:
// github.com?owner=acme&repo=payments.
func parseRepoURL(s string) (repoRef, error) {
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil || u.Fragment != "" {
		return repoRef{}, fmt.Errorf("%w: repoUrl %q is not host?owner=…&repo=…", errs.ErrInvalid, s)
	}
	q := u.Query()
	r := repoRef{host: u.Host, owner: q.Get("owner"), repo: q.Get("repo")}
	for _, p := range []struct{ name, v string }{{"owner", r.owner}, {"repo", r.repo}} {
		if !namePattern.MatchString(p.v) || p.v == "." || p.v == ".." {
			return repoRef{}, fmt.Errorf("%w: repoUrl %q: %s %q is missing or not a GitHub name", errs.ErrInvalid, s, p.name, p.v)
		}
	}
	return r, nil
}

// call is one action's run: its step, input and log.
type call struct {
	s      *service
	action string
	env    step.Env
	in     map[string]any
	logs   []string
	repo   repoRef
	host   Host
	// userKey is the secretsKey of the user's own token the step asks
	// for (requestUserCredentials), if any.
	userKey string
}

// begin reads the step and the repoUrl every action has.
func (s *service) begin(ctx context.Context, action string, in contract.ActionInput) (*call, error) {
	env, err := step.From(ctx)
	if err != nil {
		return nil, fail(err)
	}
	c := &call{s: s, action: action, env: env, in: in.Input}
	raw, err := c.str("repoUrl", "")
	if err != nil {
		return nil, fail(err)
	}
	if c.repo, err = parseRepoURL(raw); err != nil {
		return nil, fail(err)
	}
	allowed, err := c.strings("allowedHosts")
	if err != nil {
		return nil, fail(err)
	}
	if len(allowed) > 0 && !slices.Contains(allowed, c.repo.host) {
		return nil, fail(fmt.Errorf("%w: repoUrl's host %s is not in allowedHosts %v", errs.ErrInvalid, c.repo.host, allowed))
	}
	if t, _ := in.Input["token"].(string); credentials.UserCredentialKey(t) != "" {
		// ${{ secrets.<key> }} of a template asking for the user's own
		// credentials: a marker, the broker holds the token.
		c.userKey = credentials.UserCredentialKey(t)
	} else if t != "" {
		c.logf("input token ignored: the credential comes from rigger's broker, limited to %s", c.repo.target())
	}
	h, ok := s.cfg.host(c.repo.host)
	if !ok {
		return nil, fail(fmt.Errorf("%s: %w for github host %s (integrations.github)", action, credentials.ErrNoIntegration, c.repo.host))
	}
	c.host = h
	if h.Dev && c.userKey != "" {
		// The user's token is GitHub's: it is never sent to another host,
		// least of all rigger dev's plain-HTTP one (review 31b).
		return nil, fail(fmt.Errorf("%w: the template asks for the user's own GitHub credentials (secretsKey %s), and %s is rigger dev's own git host, which takes no GitHub token: point repoUrl at a GitHub host", errs.ErrInvalid, c.userKey, h.Host))
	}
	if h.Dev && action != ActionPublish && action != ActionRepoPush && (action != ActionPullRequest || h.APIBaseURL == "") {
		return nil, fail(fmt.Errorf("%w: %s needs GitHub's API, and %s is rigger dev's own git host, which serves pushes and pull requests only: configure integrations.github for a real GitHub", errs.ErrInvalid, action, h.Host))
	}
	return c, nil
}

// logf adds a line to the step's log and the worker's log.
func (c *call) logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	c.logs = append(c.logs, line)
	c.s.log.Info(line, "action", c.action, "task", c.env.Run.TaskID, "step", c.env.StepID)
}

// token asks the broker for a token on the call's repository.
func (c *call) token(ctx context.Context, perms map[string]string) (credentials.Credential, error) {
	integration := Integration
	if c.host.Dev {
		integration = DevIntegration
	}
	cred, err := c.s.broker.Get(ctx, credentials.Need{Integration: integration, Action: c.action, Target: c.repo.target(),
		Permissions: perms, Run: c.env.Run, UserSecretsKey: c.userKey})
	if err != nil {
		return credentials.Credential{}, fail(err)
	}
	c.logf("credential: %s", cred.Source)
	return cred, nil
}

// client is a REST client with a token for perms.
func (c *call) client(ctx context.Context, perms map[string]string) (*gh.Client, credentials.Credential, error) {
	cred, err := c.token(ctx, perms)
	if err != nil {
		return nil, cred, err
	}
	cl, err := newClient(c.s.http, c.host, cred.Token)
	return cl, cred, err
}

// apiError makes a GitHub API error safe and categorised: no token in
// it, and a 4xx that a retry cannot fix is not retried.
func apiError(what string, err error, resp *gh.Response, cred credentials.Credential) error {
	err = credentials.ScrubError(fmt.Errorf("%s: %w", what, err), cred.Secrets()...)
	if resp != nil {
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fail(fmt.Errorf("%w: %w", errs.ErrForbidden, err))
		case http.StatusNotFound:
			return fail(fmt.Errorf("%w: %w", errs.ErrNotFound, err))
		case http.StatusUnprocessableEntity:
			return fail(fmt.Errorf("%w: %w", errs.ErrInvalid, err))
		}
	}
	return err
}

// fail marks errors a retry cannot fix (invalid input, a refusal, a
// conflict, a missing integration) as non-retryable, keeping the
// category for errors.Is.
func fail(err error) error {
	var app *temporal.ApplicationError
	if err == nil || errors.As(err, &app) {
		return err
	}
	for _, k := range []struct {
		cat  error
		name string
	}{{errs.ErrInvalid, "InvalidInput"}, {errs.ErrForbidden, "Forbidden"}, {errs.ErrConflict, "Conflict"},
		{errs.ErrNotFound, "NotFound"}, {credentials.ErrNoIntegration, "NoIntegration"}, {step.ErrNoEnv, "NoStep"}} {
		if errors.Is(err, k.cat) {
			// The cause is the category alone: errors.Is still finds it,
			// and the message is not printed twice.
			return temporal.NewNonRetryableApplicationError(err.Error(), k.name, k.cat)
		}
	}
	return err
}

// output is the ActionOutput of a call.
func (c *call) output(out map[string]any) contract.ActionOutput {
	return contract.ActionOutput{Output: out, Logs: c.logs}
}

// Input readers: a wrong type is an invalid input.

func (c *call) str(key, def string) (string, error) {
	v, ok := c.in[key]
	if !ok || v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: input %s must be a string", errs.ErrInvalid, key)
	}
	if s == "" {
		return def, nil
	}
	return s, nil
}

func (c *call) boolean(key string, def bool) (bool, error) {
	v, ok := c.in[key]
	if !ok || v == nil {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%w: input %s must be a boolean", errs.ErrInvalid, key)
	}
	return b, nil
}

func (c *call) strings(key string) ([]string, error) {
	v, ok := c.in[key]
	if !ok || v == nil {
		return nil, nil
	}
	var out []string
	switch l := v.(type) {
	case []string:
		out = append(out, l...)
	case []any:
		for _, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%w: input %s must be a list of strings", errs.ErrInvalid, key)
			}
			out = append(out, s)
		}
	default:
		return nil, fmt.Errorf("%w: input %s must be a list of strings", errs.ErrInvalid, key)
	}
	return out, nil
}

func (c *call) integer(key string) (int, bool, error) {
	v, ok := c.in[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	switch n := v.(type) {
	case int:
		return n, true, nil
	case int64:
		return int(n), true, nil
	case float64:
		if n == float64(int(n)) {
			return int(n), true, nil
		}
	}
	return 0, false, fmt.Errorf("%w: input %s must be an integer", errs.ErrInvalid, key)
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// webURL is the repository's web page: on rigger dev's git host, its page
// beside the clone URL.
func webURL(h Host, r repoRef) string {
	if h.Dev {
		return h.gitBase() + "/" + r.owner + "/" + r.repo
	}
	return "https://" + h.Host + "/" + r.owner + "/" + r.repo
}

// branchPattern is a conservative branch name: no "..", no leading "-".
var branchPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}$`)
