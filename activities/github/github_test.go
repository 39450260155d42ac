package github

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/githubfake"
	"github.com/riggerdev/rigger/internal/permission"
)

// planted starts every token the fake mints: no output, log or error may
// contain it.
const planted = "ghs_PLANTEDtok3nVALUE_"

const teamPolicy = `
permit (principal is Rigger::User, action == Rigger::Action::"scaffolder.action.execute", resource is Rigger::ScaffolderAction)
when { resource.integration == "github" && resource.target like "github.com/acme/*" && principal.ent.contains("group:default/team-a") };
forbid (principal, action, resource is Rigger::ScaffolderAction) when { resource.target like "github.com/acme/secret*" };
`

type fixture struct {
	fake    *githubfake.Server
	cfg     Config
	broker  *credentials.Broker
	actions map[string]activities.ActionFunc
	logs    *bytes.Buffer
	ws      string
	// seen collects everything the actions produced, for the leak check.
	seen []string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	requireGit(t)
	fake := githubfake.New(t, planted)
	key := fake.AddApp(t, 42)
	fake.AddInstallation(42, "acme", "Organization", nil, nil)
	cfg := Config{Hosts: []Host{{Host: "github.com", APIBaseURL: fake.APIURL(), GitURL: fake.GitURL(),
		Apps: []App{{AppID: 42, PrivateKey: credentials.NewSecret(key)}}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	broker := credentials.NewBroker(credentials.PolicyDecider{Policy: loadPolicy(t, teamPolicy)}, logger, NewAppMinter(cfg, nil, nil))
	acts, err := Actions(broker, cfg, Options{Logger: logger, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{fake: fake, cfg: cfg, broker: broker, actions: acts, logs: logs, ws: t.TempDir()}
}

// requireGit fails under CI and skips loudly elsewhere when git or its
// http-backend is missing.
func requireGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git is required: %v", err)
		}
		t.Skipf("SKIPPED: git is not installed (%v); these tests need real git", err)
	}
}

func loadPolicy(t testing.TB, text string) *permission.Policy {
	t.Helper()
	p, err := permission.Parse("test.cedar", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var alice = credentials.Run{TaskID: "task-1", UserRef: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}

func (f *fixture) ctx(dry bool) context.Context {
	return step.WithEnv(context.Background(), step.Env{Run: alice, StepID: "step-1", Workspace: f.ws, DryRun: dry})
}

// run runs action and records what it produced.
func (f *fixture) run(ctx context.Context, t *testing.T, action string, input map[string]any) (contract.ActionOutput, error) {
	t.Helper()
	out, err := f.actions[action](ctx, contract.ActionInput{StepID: "step-1", Input: input})
	j, _ := json.Marshal(out)
	f.seen = append(f.seen, string(j), fmt.Sprint(err), fmt.Sprintf("%+v %#v", err, err))
	return out, err
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// clone clones owner/name's branch over the fake's smart HTTP with a
// personal access token (through git's environment, like the actions).
func (f *fixture) clone(t *testing.T, owner, name, branch string) string {
	t.Helper()
	pat := "ghp_testCloneToken0123"
	f.fake.AddPAT(pat, "rigger-test")
	dir := filepath.Join(t.TempDir(), "clone")
	cmd := exec.Command("git", "clone", "-q", "-b", branch, "--", f.fake.GitURL()+"/"+owner+"/"+name+".git", dir)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader",
		"GIT_CONFIG_VALUE_0=Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+pat))}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clone %s/%s: %v: %s", owner, name, err, out)
	}
	return dir
}

// tree lists a directory's files (not .git) with content and exec bit.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		if d.Type()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			out[filepath.ToSlash(rel)] = "link:" + l
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = fmt.Sprintf("%s|x=%v", b, info.Mode()&0o111 != 0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var workspaceFiles = map[string]string{
	"README.md":         "# payments\n",
	"catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: payments\n",
	"src/main.go":       "package main\n\nfunc main() {}\n",
	"scripts/build.sh":  "#!/bin/sh\necho build\n",
	"docs/deep/x/y.txt": "deep\n",
}

func publishInput() map[string]any {
	return map[string]any{
		"repoUrl": "github.com?owner=acme&repo=payments", "description": "Payments service", "repoVisibility": "internal",
		"topics": []any{"go", "payments"}, "defaultBranch": "main", "gitCommitMessage": "initial commit from rigger",
		"gitAuthorName": "Alice", "gitAuthorEmail": "alice@example.com", "protectDefaultBranch": true, "requireCodeOwnerReviews": true,
	}
}

func TestPublishGitHubCreatesPushesAndIsIdempotent(t *testing.T) {
	f := newFixture(t)
	writeFiles(t, f.ws, workspaceFiles)
	if err := os.Symlink("README.md", filepath.Join(f.ws, "readme-link")); err != nil {
		t.Fatal(err)
	}
	// A link to a file outside the workspace is pushed as a link, never
	// as the file it points to.
	outside := filepath.Join(t.TempDir(), "worker-secret.txt")
	if err := os.WriteFile(outside, []byte("WORKER-SECRET-CONTENT"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(f.ws, "outside-link")); err != nil {
		t.Fatal(err)
	}
	out, err := f.run(f.ctx(false), t, ActionPublish, publishInput())
	if err != nil {
		t.Fatalf("publish:github: %v", err)
	}
	wantRemote := f.fake.GitURL() + "/acme/payments.git"
	if out.Output["remoteUrl"] != wantRemote || out.Output["repoContentsUrl"] != f.fake.URL+"/acme/payments/blob/main" {
		t.Fatalf("output %v", out.Output)
	}
	commit, _ := out.Output["commitHash"].(string)
	if len(commit) != 40 {
		t.Fatalf("commitHash %q", commit)
	}

	// The tokens: repository creation is the one installation-wide
	// token, and only administration:write; everything after it is
	// limited to the new repository with exactly the declared permissions.
	want := []githubfake.TokenRequest{
		{Repositories: nil, Permissions: map[string]string{"administration": "write"}},
		{Repositories: []string{"payments"}, Permissions: map[string]string{"administration": "write"}},
		{Repositories: []string{"payments"}, Permissions: map[string]string{"contents": "write"}},
	}
	got := f.fake.TokenRequests()
	for i := range got {
		got[i].Installation = 0
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("token requests\n got %+v\nwant %+v", got, want)
	}

	// The pushed tree is the workspace.
	clone := f.clone(t, "acme", "payments", "main")
	if g, w := tree(t, clone), tree(t, f.ws); !reflect.DeepEqual(g, w) {
		t.Fatalf("pushed tree differs from the workspace\n got %v\nwant %v", g, w)
	}
	grep := exec.Command("git", "grep", "-q", "WORKER-SECRET-CONTENT", "HEAD")
	grep.Dir = clone
	if err := grep.Run(); err == nil {
		t.Fatal("the content of a file outside the workspace was pushed")
	}
	if mode := gitOut(t, clone, "ls-tree", "HEAD", "outside-link"); !strings.HasPrefix(mode, "120000 ") {
		t.Fatalf("outside-link was not pushed as a link: %s", mode)
	}
	if head := gitOut(t, clone, "rev-parse", "HEAD"); head != commit {
		t.Fatalf("clone HEAD %s, output commit %s", head, commit)
	}
	if msg := gitOut(t, clone, "log", "-1", "--format=%an <%ae> %s"); msg != "Alice <alice@example.com> initial commit from rigger" {
		t.Fatalf("commit: %s", msg)
	}
	r, _ := f.fake.Repo("acme", "payments")
	if !r.Private || r.Visibility != "internal" || r.Description != "Payments service" || r.DefaultBranch != "main" ||
		!reflect.DeepEqual(r.Topics, []string{"go", "payments"}) {
		t.Fatalf("repository settings: %+v", r)
	}
	reviews, _ := r.Protection["main"]["required_pull_request_reviews"].(map[string]any)
	if reviews["require_code_owner_reviews"] != true {
		t.Fatalf("branch protection: %+v", r.Protection)
	}

	// A retry (the worker died after the push) reuses the repository and
	// the commit.
	out2, err := f.run(f.ctx(false), t, ActionPublish, publishInput())
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if out2.Output["commitHash"] != commit {
		t.Fatalf("retry made commit %v, first %s", out2.Output["commitHash"], commit)
	}
	if repos := f.fake.Repos(); !reflect.DeepEqual(repos, []string{"acme/payments"}) {
		t.Fatalf("repositories after a retry: %v", repos)
	}
	if n := f.fake.GitPushes(); n != 1 {
		t.Fatalf("%d pushes, want 1", n)
	}
	f.assertNoLeak(t)
}

func TestPublishRefusesToOverwriteOtherContent(t *testing.T) {
	f := newFixture(t)
	f.fake.SeedRepo(t, "acme", "taken", "main", map[string]string{"OTHER.md": "someone else's\n"})
	writeFiles(t, f.ws, workspaceFiles)
	in := publishInput()
	in["repoUrl"] = "github.com?owner=acme&repo=taken"
	_, err := f.run(f.ctx(false), t, ActionPublish, in)
	if !errors.Is(err, errs.ErrConflict) || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("want a conflict, got %v", err)
	}
	if f.fake.GitPushes() != 0 {
		t.Fatal("pushed over another repository's branch")
	}
	f.assertNoLeak(t)
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

func TestRepoCreateThenPush(t *testing.T) {
	f := newFixture(t)
	writeFiles(t, f.ws, map[string]string{"site/index.html": "<h1>hi</h1>\n", "other.txt": "not pushed\n"})
	in := map[string]any{"repoUrl": "github.com?owner=acme&repo=site", "repoVisibility": "public"}
	if _, err := f.run(f.ctx(false), t, ActionRepoCreate, in); err != nil {
		t.Fatal(err)
	}
	out, err := f.run(f.ctx(false), t, ActionRepoPush, map[string]any{"repoUrl": "github.com?owner=acme&repo=site",
		"sourcePath": "site", "defaultBranch": "pages", "protectDefaultBranch": false})
	if err != nil {
		t.Fatal(err)
	}
	clone := f.clone(t, "acme", "site", "pages")
	if g := tree(t, clone); !reflect.DeepEqual(g, map[string]string{"index.html": "<h1>hi</h1>\n|x=false"}) {
		t.Fatalf("pushed %v", g)
	}
	r, _ := f.fake.Repo("acme", "site")
	if r.Private || r.DefaultBranch != "pages" || len(r.Protection) != 0 || out.Output["repoContentsUrl"] != f.fake.URL+"/acme/site/blob/pages" {
		t.Fatalf("repo %+v, output %v", r, out.Output)
	}
	f.assertNoLeak(t)
}

func TestPullRequestTwiceGivesOnePR(t *testing.T) {
	f := newFixture(t)
	f.fake.SeedRepo(t, "acme", "catalog", "main", map[string]string{"README.md": "catalog\n", "components/old.yaml": "old\n"})
	writeFiles(t, f.ws, map[string]string{"entity/catalog-info.yaml": "kind: Component\n", "entity/docs/index.md": "# docs\n"})
	in := map[string]any{"repoUrl": "github.com?owner=acme&repo=catalog", "branchName": "add-payments", "title": "Add payments",
		"description": "Registers payments", "sourcePath": "entity", "targetPath": "components/payments"}
	out, err := f.run(f.ctx(false), t, ActionPullRequest, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.Output["pullRequestNumber"] != 1 || out.Output["targetBranchName"] != "main" || out.Output["remoteUrl"] != f.fake.URL+"/acme/catalog/pull/1" {
		t.Fatalf("output %v", out.Output)
	}
	in["title"] = "Add payments (again)"
	out2, err := f.run(f.ctx(false), t, ActionPullRequest, in)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := f.fake.PullRequests("acme", "catalog"); n != 1 || out2.Output["pullRequestNumber"] != 1 {
		t.Fatalf("%d pull requests (output %v), want 1", n, out2.Output)
	}
	if n := f.fake.GitPushes(); n != 1 {
		t.Fatalf("%d pushes, want 1 (the retry had nothing new)", n)
	}
	clone := f.clone(t, "acme", "catalog", "add-payments")
	want := map[string]string{"README.md": "catalog\n|x=false", "components/old.yaml": "old\n|x=false",
		"components/payments/catalog-info.yaml": "kind: Component\n|x=false", "components/payments/docs/index.md": "# docs\n|x=false"}
	if g := tree(t, clone); !reflect.DeepEqual(g, want) {
		t.Fatalf("branch holds %v", g)
	}
	reqs := f.fake.TokenRequests()
	if len(reqs) != 1 || !reflect.DeepEqual(reqs[0].Repositories, []string{"catalog"}) ||
		!reflect.DeepEqual(reqs[0].Permissions, map[string]string{"contents": "write", "pull_requests": "write"}) {
		t.Fatalf("token requests %+v (want one, cached for the retry)", reqs)
	}
	f.assertNoLeak(t)
}

func TestPolicyRefusalNamesActionAndTarget(t *testing.T) {
	f := newFixture(t)
	writeFiles(t, f.ws, workspaceFiles)
	for _, tc := range []struct {
		name   string
		run    credentials.Run
		repo   string
		target string
	}{
		{"forbidden repository", alice, "secrets", "github.com/acme/secrets"},
		// GitHub ignores case; so does the policy's target (review M1).
		{"forbidden repository in other case", alice, "Secrets", "github.com/acme/secrets"},
		{"another team", credentials.Run{TaskID: "t2", UserRef: "user:default/bob", Ent: []string{"user:default/bob", "group:default/team-b"}}, "payments", "github.com/acme/payments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := step.WithEnv(context.Background(), step.Env{Run: tc.run, StepID: "s", Workspace: f.ws})
			in := publishInput()
			in["repoUrl"] = "github.com?owner=acme&repo=" + tc.repo
			if tc.name == "forbidden repository in other case" {
				in["repoUrl"] = "GitHub.com?owner=ACME&repo=" + tc.repo
			}
			_, err := f.run(ctx, t, ActionPublish, in)
			var app *temporal.ApplicationError
			if !errors.Is(err, errs.ErrForbidden) || !errors.As(err, &app) || !app.NonRetryable() {
				t.Fatalf("want a non-retryable refusal, got %v", err)
			}
			if !strings.Contains(err.Error(), ActionPublish) || !strings.Contains(err.Error(), tc.target) {
				t.Fatalf("the refusal should name the action and target: %v", err)
			}
		})
	}
	if n := f.fake.APICalls(); n != 0 {
		t.Fatalf("%d GitHub calls for refused steps", n)
	}
}

func TestSourcePathConfined(t *testing.T) {
	f := newFixture(t)
	writeFiles(t, f.ws, workspaceFiles)
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.txt": "not yours\n"})
	if err := os.Symlink(outside, filepath.Join(f.ws, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../..", filepath.Join(f.ws, "src", "up")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"..", "../x", "/etc", outside, "src/../../x", "escape", "escape/", "src/up", "missing"} {
		for _, action := range []string{ActionPublish, ActionRepoPush, ActionPullRequest} {
			in := publishInput()
			in["sourcePath"] = p
			in["branchName"], in["title"] = "b", "t"
			_, err := f.run(f.ctx(false), t, action, in)
			if !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("%s sourcePath %q: want invalid, got %v", action, p, err)
			}
		}
	}
	in := map[string]any{"repoUrl": "github.com?owner=acme&repo=x", "branchName": "b", "title": "t", "targetPath": "../x"}
	if _, err := f.run(f.ctx(false), t, ActionPullRequest, in); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("targetPath ..: %v", err)
	}
	in["targetPath"] = ".git/hooks"
	if _, err := f.run(f.ctx(false), t, ActionPullRequest, in); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("targetPath .git: %v", err)
	}
	if n := f.fake.APICalls(); n != 0 {
		t.Fatalf("%d GitHub calls for refused paths", n)
	}
}

func TestDryRunCallsNothing(t *testing.T) {
	f := newFixture(t)
	writeFiles(t, f.ws, workspaceFiles)
	inputs := map[string]map[string]any{
		ActionPublish:     publishInput(),
		ActionRepoCreate:  publishInput(),
		ActionRepoPush:    publishInput(),
		ActionPullRequest: {"repoUrl": "github.com?owner=acme&repo=payments", "branchName": "b", "title": "t"},
		ActionIssuesLabel: {"repoUrl": "github.com?owner=acme&repo=payments", "number": 3, "labels": []any{"x"}},
		ActionDispatch:    {"repoUrl": "github.com?owner=acme&repo=payments", "workflowId": "ci.yaml", "branchOrTagName": "main"},
		ActionWebhook:     {"repoUrl": "github.com?owner=acme&repo=payments", "webhookUrl": "https://hooks.example.com/x"},
	}
	for action, in := range inputs {
		out, err := f.run(f.ctx(true), t, action, in)
		if err != nil {
			t.Fatalf("%s dry run: %v", action, err)
		}
		if len(out.Logs) == 0 || !strings.Contains(out.Logs[0], "dry run") {
			t.Errorf("%s: the dry run should say what it would do: %v", action, out.Logs)
		}
	}
	out, _ := f.run(f.ctx(true), t, ActionPublish, publishInput())
	if out.Output["remoteUrl"] != f.fake.GitURL()+"/acme/payments.git" {
		t.Errorf("dry-run remoteUrl %v", out.Output["remoteUrl"])
	}
	if f.fake.APICalls() != 0 || len(f.fake.TokenRequests()) != 0 || f.fake.GitPushes() != 0 || len(f.fake.Repos()) != 0 {
		t.Fatalf("a dry run reached GitHub: %d calls, %d tokens, %d pushes", f.fake.APICalls(), len(f.fake.TokenRequests()), f.fake.GitPushes())
	}
}

func TestLabelsAndWebhookAreIdempotent(t *testing.T) {
	f := newFixture(t)
	f.fake.SeedRepo(t, "acme", "payments", "main", map[string]string{"README.md": "x\n"})
	for range 2 {
		if _, err := f.run(f.ctx(false), t, ActionIssuesLabel, map[string]any{"repoUrl": "github.com?owner=acme&repo=payments",
			"number": 7, "labels": []any{"needs-review", "rigger"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.run(f.ctx(false), t, ActionWebhook, map[string]any{"repoUrl": "github.com?owner=acme&repo=payments",
			"webhookUrl": "https://hooks.example.com/rigger", "webhookSecret": "whsec-do-not-print", "events": []any{"push", "pull_request"}, "contentType": "json"}); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := f.fake.Repo("acme", "payments")
	if !reflect.DeepEqual(r.Labels[7], []string{"needs-review", "rigger"}) || !reflect.DeepEqual(r.Hooks, []string{"https://hooks.example.com/rigger"}) {
		t.Fatalf("labels %v hooks %v", r.Labels, r.Hooks)
	}
	for _, s := range append(f.seen, f.logs.String()) {
		if strings.Contains(s, "whsec-do-not-print") {
			t.Fatalf("the webhook secret leaked: %s", s)
		}
	}
	perms := map[string]bool{}
	for _, req := range f.fake.TokenRequests() {
		if !reflect.DeepEqual(req.Repositories, []string{"payments"}) {
			t.Fatalf("token for %v", req.Repositories)
		}
		for p := range req.Permissions {
			perms[p] = true
		}
	}
	if !reflect.DeepEqual(perms, map[string]bool{"issues": true, "pull_requests": true, "repository_hooks": true}) {
		t.Fatalf("permissions asked: %v", perms)
	}
	f.assertNoLeak(t)
}

// assertNoLeak greps everything the actions produced and the worker's
// log for the planted token prefix and its basic-auth form.
func (f *fixture) assertNoLeak(t *testing.T) {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + planted))
	b64 = b64[:len(b64)-4] // the stable part, whatever follows the prefix
	for _, s := range append(f.seen, f.logs.String()) {
		if strings.Contains(s, planted) || strings.Contains(s, b64) {
			t.Fatalf("a token leaked: %s", s)
		}
	}
	if len(f.fake.TokenRequests()) > 0 && !strings.Contains(f.logs.String(), "credential minted") {
		t.Fatalf("the broker's log is missing: %s", f.logs.String())
	}
}

// TestPullRequestCannotReachTheCloneConfig: a branch holding a link to
// .git (or into it) cannot make publish:github:pull-request write git's
// config or hooks: a planted fsmonitor or hook never runs, and the
// token cannot be redirected elsewhere.
func TestPullRequestCannotReachTheCloneConfig(t *testing.T) {
	f := newFixture(t)
	marker := filepath.Join(t.TempDir(), "ran")
	// The branch, as an earlier publish pushed it: links into .git.
	writeFiles(t, f.ws, map[string]string{"svc/README.md": "svc\n"})
	for link, to := range map[string]string{"svc/docs": ".git", "svc/hooks": ".git/hooks"} {
		if err := os.Symlink(to, filepath.Join(f.ws, link)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.run(f.ctx(false), t, ActionPublish, map[string]any{"repoUrl": "github.com?owner=acme&repo=evil", "sourcePath": "svc", "protectDefaultBranch": false}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	evil := "[core]\n\tfsmonitor = \"touch " + marker + "\"\n\thooksPath = .git/hooks\n[url \"http://127.0.0.1:1/\"]\n\tinsteadOf = " + f.fake.GitURL() + "/\n"
	writeFiles(t, f.ws, map[string]string{"payload/config": evil, "hook/pre-push": "#!/bin/sh\ntouch " + marker + "\n"})
	if err := os.Chmod(filepath.Join(f.ws, "hook/pre-push"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, in := range []map[string]any{
		{"repoUrl": "github.com?owner=acme&repo=evil", "branchName": "b1", "title": "t", "description": "d", "sourcePath": "payload", "targetPath": "docs"},
		{"repoUrl": "github.com?owner=acme&repo=evil", "branchName": "b2", "title": "t", "description": "d", "sourcePath": "hook", "targetPath": "hooks"},
	} {
		_, _ = f.run(f.ctx(false), t, ActionPullRequest, in)
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("a file written through a link ran as git config or a hook (%v)", in["targetPath"])
		}
	}
	f.assertNoLeak(t)
}
