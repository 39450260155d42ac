package github

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/githubfake"
)

// TestDispatchIsNotSentTwice runs github:actions:dispatch as a Temporal
// activity: the retry of an attempt that dispatched (its heartbeat
// details say so) does not send again; different inputs do.
func TestDispatchIsNotSentTwice(t *testing.T) {
	f := newFixture(t)
	f.fake.SeedRepo(t, "acme", "payments", "main", map[string]string{"README.md": "x\n"})
	act := func(ctx context.Context, in contract.ActionInput) (contract.ActionOutput, error) {
		return f.actions[ActionDispatch](step.WithEnv(ctx, step.Env{Run: alice, StepID: "dispatch", Workspace: f.ws}), in)
	}
	in := contract.ActionInput{StepID: "dispatch", Input: map[string]any{"repoUrl": "github.com?owner=acme&repo=payments",
		"workflowId": "deploy.yaml", "branchOrTagName": "main", "workflowInputs": map[string]any{"environment": "staging"}}}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))

	var mu sync.Mutex
	var recorded *dispatched
	first := suite.NewTestActivityEnvironment()
	first.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: ActionDispatch})
	first.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var d dispatched
		if details.HasValues() && details.Get(&d) == nil {
			mu.Lock()
			recorded = &d
			mu.Unlock()
		}
	})
	if _, err := first.ExecuteActivity(ActionDispatch, in); err != nil {
		t.Fatal(err)
	}
	if got := f.fake.Dispatches("acme", "payments"); len(got) != 1 || got[0].Workflow != "deploy.yaml" || got[0].Ref != "main" || got[0].Inputs["environment"] != "staging" {
		t.Fatalf("dispatches %+v", got)
	}
	mu.Lock()
	rec := recorded
	mu.Unlock()
	if rec == nil || rec.Sent == "" {
		t.Fatal("the dispatch recorded no heartbeat details")
	}

	retry := suite.NewTestActivityEnvironment()
	retry.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: ActionDispatch})
	retry.SetHeartbeatDetails(*rec)
	if _, err := retry.ExecuteActivity(ActionDispatch, in); err != nil {
		t.Fatal(err)
	}
	if n := len(f.fake.Dispatches("acme", "payments")); n != 1 {
		t.Fatalf("%d dispatches after the retry, want 1", n)
	}

	other := suite.NewTestActivityEnvironment()
	other.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: ActionDispatch})
	other.SetHeartbeatDetails(*rec)
	in.Input["workflowInputs"] = map[string]any{"environment": "production"}
	if _, err := other.ExecuteActivity(ActionDispatch, in); err != nil {
		t.Fatal(err)
	}
	if n := len(f.fake.Dispatches("acme", "payments")); n != 2 {
		t.Fatalf("%d dispatches, want 2 (other inputs are another dispatch)", n)
	}
	f.assertNoLeak(t)
}

// TestRetryAfterAFailedPush: the first attempt creates the repository and
// dies at the push; the retry reuses the repository and pushes once.
func TestRetryAfterAFailedPush(t *testing.T) {
	f := newFixture(t)
	writeFiles(t, f.ws, workspaceFiles)
	g, err := NewGit()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	failPush := true
	var argvs [][]string
	g.Command = func(ctx context.Context, name string, args ...string) (*exec.Cmd, error) {
		mu.Lock()
		defer mu.Unlock()
		argvs = append(argvs, append([]string{name}, args...))
		if failPush && slices.Contains(args, "push") {
			return nil, errors.New("worker killed")
		}
		cmd := exec.CommandContext(ctx, name, args...)
		return cmd, nil
	}
	acts, err := Actions(f.broker, f.cfg, Options{Git: g, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	f.actions = acts
	if _, err := f.run(f.ctx(false), t, ActionPublish, publishInput()); err == nil || !strings.Contains(err.Error(), "worker killed") {
		t.Fatalf("first attempt: %v", err)
	}
	mu.Lock()
	failPush = false
	mu.Unlock()
	out, err := f.run(f.ctx(false), t, ActionPublish, publishInput())
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if repos := f.fake.Repos(); len(repos) != 1 || f.fake.GitPushes() != 1 || out.Output["commitHash"] == "" {
		t.Fatalf("repos %v, pushes %d, output %v", repos, f.fake.GitPushes(), out.Output)
	}
	// git's argv never holds a token.
	for _, a := range argvs {
		if strings.Contains(strings.Join(a, " "), planted) || strings.Contains(strings.Join(a, " "), "Authorization") {
			t.Fatalf("a token in git's argv: %v", a)
		}
		if !strings.HasPrefix(a[0], "/") {
			t.Fatalf("git started by a relative path: %v", a)
		}
	}
	f.assertNoLeak(t)
}

// TestGitEnvironmentAndScrub: git's environment is the allow-list plus
// the auth variables, and output that shows the header is scrubbed.
func TestGitEnvironmentAndScrub(t *testing.T) {
	requireGit(t)
	g, err := NewGit()
	if err != nil {
		t.Fatal(err)
	}
	tok := credentials.NewSecret(planted + "scrubme")
	sess, err := newSession(g, t.TempDir(), tok)
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := sess.cmd(context.Background(), t.TempDir(), "version")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, kv := range cmd.Env {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
	}
	want := []string{"PATH", "HOME", "GIT_TERMINAL_PROMPT", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "LANG", "GIT_CONFIG_COUNT",
		"GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0", "GIT_CONFIG_KEY_1", "GIT_CONFIG_VALUE_1", "GIT_CONFIG_KEY_2", "GIT_CONFIG_VALUE_2", "GIT_CONFIG_KEY_3", "GIT_CONFIG_VALUE_3"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("git env %v, want %v", names, want)
	}
	if strings.Contains(strings.Join(cmd.Args, " "), planted) {
		t.Fatal("token in argv")
	}
	// git itself shows the header it was given: the output must not.
	out, err := sess.run(context.Background(), t.TempDir(), "config", "--get", "http.extraHeader")
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + tok.Reveal()))
	if strings.Contains(out, b64) || strings.Contains(out, tok.Reveal()) || !strings.Contains(out, credentials.Redacted) {
		t.Fatalf("git output not scrubbed: %q", out)
	}
	// And an error carrying it is scrubbed too.
	_, err = sess.run(context.Background(), t.TempDir(), "config", "--get", "http.extraHeader", "--no-such-flag-"+tok.Reveal())
	if err == nil || strings.Contains(err.Error(), tok.Reveal()) {
		t.Fatalf("git error not scrubbed: %v", err)
	}
}

func TestMinterScopesCachesAndRefuses(t *testing.T) {
	requireGit(t)
	fake := githubfake.New(t, planted)
	key := fake.AddApp(t, 7)
	fake.AddInstallation(7, "acme", "Organization", nil, nil)
	fake.AddInstallation(7, "alice", "User", nil, map[string]string{"contents": "read", "metadata": "read"})
	fake.SeedRepo(t, "acme", "payments", "main", map[string]string{"a": "a"})
	cfg := Config{Hosts: []Host{{Host: "github.com", APIBaseURL: fake.APIURL(), Apps: []App{{AppID: 7, PrivateKey: credentials.NewSecret(key)}}}}}
	m := NewAppMinter(cfg, nil, nil)
	need := credentials.Need{Integration: "github", Action: "publish:github", Target: "github.com/acme/payments",
		Permissions: map[string]string{"contents": "write", "pull_requests": "read"}, Run: alice}
	ctx := context.Background()
	c1, err := m.Mint(ctx, need)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := m.Mint(ctx, need)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Token.Reveal() != c2.Token.Reveal() || len(fake.TokenRequests()) != 1 {
		t.Fatalf("the second mint should come from the cache (%d requests)", len(fake.TokenRequests()))
	}
	// A token within five minutes of its expiry is not reused.
	fake.SetTokenTTL(4 * time.Minute)
	short := need
	short.Permissions = map[string]string{"contents": "read"}
	for range 2 {
		if _, err := m.Mint(ctx, short); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.TokenRequests()); n != 3 {
		t.Fatalf("%d token requests, want 3 (an expiring token is not reused)", n)
	}
	fake.SetTokenTTL(time.Hour)
	req := fake.TokenRequests()[0]
	if !reflect.DeepEqual(req.Repositories, []string{"payments"}) || !reflect.DeepEqual(req.Permissions, need.Permissions) {
		t.Fatalf("token request %+v", req)
	}
	// Concurrent mints are safe (run with -race).
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.Mint(ctx, need); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()

	for _, tc := range []struct {
		name string
		n    credentials.Need
		want error
	}{
		{"unknown permission", credentials.Need{Target: "github.com/acme/payments", Permissions: map[string]string{"contnets": "write"}}, errs.ErrInvalid},
		{"bad level", credentials.Need{Target: "github.com/acme/payments", Permissions: map[string]string{"contents": "all"}}, errs.ErrInvalid},
		{"no permissions", credentials.Need{Target: "github.com/acme/payments"}, errs.ErrInvalid},
		{"bad target", credentials.Need{Target: "acme/payments", Permissions: map[string]string{"contents": "read"}}, errs.ErrInvalid},
		{"unknown host", credentials.Need{Target: "ghe.example.com/acme/payments", Permissions: map[string]string{"contents": "read"}}, credentials.ErrNoIntegration},
		{"not installed", credentials.Need{Target: "github.com/evil/x", Permissions: map[string]string{"contents": "read"}}, errs.ErrForbidden},
	} {
		if _, err := m.Mint(ctx, tc.n); !errors.Is(err, tc.want) {
			t.Errorf("%s: want %v, got %v", tc.name, tc.want, err)
		}
	}
	// More than the installation grants: GitHub refuses, and the error
	// holds no token.
	_, err = m.Mint(ctx, credentials.Need{Target: "github.com/alice/x", Permissions: map[string]string{"administration": "write"}})
	if err == nil || strings.Contains(err.Error(), planted) || strings.Contains(err.Error(), "eyJ") {
		t.Fatalf("over-asking: %v", err)
	}

	// A personal access token is handed out as configured, and says so.
	pat := Config{Hosts: []Host{{Host: "github.com", Token: credentials.NewSecret("ghp_patvalue123")}}}
	c, err := NewAppMinter(pat, nil, nil).Mint(ctx, need)
	if err != nil || c.Token.Reveal() != "ghp_patvalue123" || !strings.Contains(c.Source, "personal access token") {
		t.Fatalf("PAT: %v %v", c, err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"pat", Config{Hosts: []Host{{Host: "github.com", Token: credentials.NewSecret("x")}}}, true},
		{"nothing", Config{Hosts: []Host{{Host: "github.com"}}}, false},
		{"bad key", Config{Hosts: []Host{{Host: "github.com", Apps: []App{{AppID: 1, PrivateKey: credentials.NewSecret("not pem")}}}}}, false},
		{"bad url", Config{Hosts: []Host{{Host: "github.com", APIBaseURL: "ftp://x", Token: credentials.NewSecret("x")}}}, false},
		{"twice", Config{Hosts: []Host{{Host: "a", Token: credentials.NewSecret("x")}, {Host: "a", Token: credentials.NewSecret("x")}}}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok || (err != nil && !errors.Is(err, errs.ErrInvalid)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if h := (Host{Host: "ghe.example.com"}); h.apiBase() != "https://ghe.example.com/api/v3/" || h.gitBase() != "https://ghe.example.com" {
		t.Errorf("GHES defaults: %s %s", h.apiBase(), h.gitBase())
	}
	if h := (Host{Host: "github.com"}); h.apiBase() != "https://api.github.com/" {
		t.Errorf("github.com default: %s", h.apiBase())
	}
}

func TestParseRepoURL(t *testing.T) {
	r, err := parseRepoURL("github.com?owner=acme&repo=payments")
	if err != nil || r != (repoRef{"github.com", "acme", "payments"}) {
		t.Fatalf("%v %v", r, err)
	}
	for _, bad := range []string{"", "github.com", "github.com?owner=acme", "github.com/x?owner=a&repo=b", "github.com?owner=..&repo=b",
		"github.com?owner=a&repo=b/c", "github.com?owner=a&repo=.."} {
		if _, err := parseRepoURL(bad); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestFakeEnforcesTokens: the fake refuses what an installation token
// does not allow, so the other tests' passing means the actions asked
// for enough, and no more than the fake let through.
func TestFakeEnforcesTokens(t *testing.T) {
	f := newFixture(t)
	f.fake.SeedRepo(t, "acme", "a", "main", map[string]string{"x": "x\n"})
	f.fake.SeedRepo(t, "acme", "b", "main", map[string]string{"y": "y\n"})
	m := NewAppMinter(f.cfg, nil, nil)
	read, err := m.Mint(context.Background(), credentials.Need{Target: "github.com/acme/a", Permissions: map[string]string{"contents": "read"}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := newClient(nil, f.cfg.Hosts[0], read.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, resp, err := client.Repositories.Get(context.Background(), "acme", "b"); err == nil || resp.StatusCode != 404 {
		t.Fatalf("a token for acme/a read acme/b: %v", err)
	}
	if _, resp, err := client.Repositories.ReplaceAllTopics(context.Background(), "acme", "a", []string{"x"}); err == nil || resp.StatusCode != 403 {
		t.Fatalf("contents:read changed topics: %v", err)
	}
	// git: contents:read clones but cannot push.
	tmp := t.TempDir()
	g, err := NewGit()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := newSession(g, tmp, read.Token)
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	writeFiles(t, ws, map[string]string{"z": "z\n"})
	_, _, err = pushBranchWith(context.Background(), sess, tmp, ws, ".", "main", commitSpec{remote: f.fake.GitURL() + "/acme/a.git", branch: "feature", message: "m", authorName: "a", authorEmail: "a@x"})
	if err == nil || !strings.Contains(err.Error(), "push") || strings.Contains(err.Error(), planted) {
		t.Fatalf("contents:read pushed, or the error shows the token: %v", err)
	}
	if f.fake.GitPushes() != 0 {
		t.Fatal("the fake let a read token push")
	}
}
