package github

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/githost"
)

type allowEverything struct{}

func (allowEverything) MayUse(context.Context, credentials.Need) error { return nil }

// TestPullRequestOnTheDevHost runs publish:github:pull-request, unchanged,
// against rigger dev's real git host (internal/githost: git http-backend
// and its REST subset): a branch pushed with a token for that repository
// only, one pull request after two runs, and its page as the output.
func TestPullRequestOnTheDevHost(t *testing.T) {
	requireGit(t)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h, err := githost.New(t.TempDir(), "localhost", strings.TrimPrefix(srv.URL, "http://"), []byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(githost.Prefix, h)
	if _, err := h.Seed("platform", "catalog", "start", map[string]string{"README.md": "# catalog\n"}); err != nil {
		t.Fatal(err)
	}
	actions := func(host Host) map[string]func(context.Context, map[string]any) (contract.ActionOutput, error) {
		cfg := Config{Hosts: []Host{host}}
		acts, err := Actions(credentials.NewBroker(allowEverything{}, nil, h), cfg, Options{TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]func(context.Context, map[string]any) (contract.ActionOutput, error){}
		for id, a := range acts {
			out[id] = func(ctx context.Context, in map[string]any) (contract.ActionOutput, error) {
				return a(ctx, contract.ActionInput{StepID: "pr", Input: in})
			}
		}
		return out
	}
	dev := Host{Host: "localhost", GitURL: h.BaseURL(), APIBaseURL: h.APIBaseURL(), Dev: true}
	pr := actions(dev)[ActionPullRequest]
	ws := t.TempDir()
	writeFiles(t, ws, map[string]string{"entry/components/ledger.yaml": "name: ledger\n"})
	ctx := step.WithEnv(context.Background(), step.Env{Run: alice, StepID: "pr", Workspace: ws})
	in := map[string]any{"repoUrl": "localhost?owner=platform&repo=catalog", "branchName": "add-ledger", "title": "Add ledger",
		"description": "Its entry.", "sourcePath": "entry"}
	for i := range 2 {
		out, err := pr(ctx, in)
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if out.Output["remoteUrl"] != h.PullURL("platform", "catalog", 1) || out.Output["pullRequestNumber"] != 1 || out.Output["targetBranchName"] != "main" {
			t.Fatalf("run %d output: %v", i+1, out.Output)
		}
	}
	pulls, err := h.Pulls("platform", "catalog")
	if err != nil || len(pulls) != 1 || pulls[0].Head != "add-ledger" || pulls[0].User != "rigger-task-task-1" {
		t.Fatalf("pull requests after two runs: %v %+v", err, pulls)
	}
	p, err := h.MergePull("platform", "catalog", 1, githost.MergedBy, "")
	if err != nil || !p.Merged {
		t.Fatalf("merge: %v", err)
	}
	// A hostile branch name is refused before anything is pushed.
	for _, b := range []string{"../main", "-x", "refs/heads/main"} {
		bad := map[string]any{"repoUrl": in["repoUrl"], "branchName": b, "title": "x", "sourcePath": "entry"}
		if _, err := pr(ctx, bad); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("branch %q: %v", b, err)
		}
	}
	// publish:github's repoContentsUrl there is the repository's page.
	pub, err := actions(dev)[ActionPublish](ctx, map[string]any{"repoUrl": "localhost?owner=acme&repo=ledger", "sourcePath": "entry"})
	if err != nil || pub.Output["repoContentsUrl"] != h.BaseURL()+"/acme/ledger" {
		t.Fatalf("publish: %v %v", err, pub.Output)
	}
	if resp, err := http.Get(h.BaseURL() + "/acme/ledger"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the repository page: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	// A dry run names the page; a dev host without the API refuses.
	dry, err := pr(step.WithEnv(context.Background(), step.Env{Run: alice, StepID: "pr", Workspace: ws, DryRun: true}), in)
	if err != nil || dry.Output["remoteUrl"] != h.PullsURL("platform", "catalog") {
		t.Fatalf("dry run: %v %v", err, dry.Output)
	}
	// The user's own GitHub token is never sent to the dev host.
	withUser := map[string]any{"token": credentials.UserCredentialMarker("USER_OAUTH_TOKEN")}
	for k, v := range in {
		withUser[k] = v
	}
	if _, err := pr(ctx, withUser); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "takes no GitHub token") {
		t.Fatalf("the user's own credentials on the dev host: %v", err)
	}
	dev.APIBaseURL = ""
	if _, err := actions(dev)[ActionPullRequest](ctx, in); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), "needs GitHub's API") {
		t.Fatalf("a dev host without its API: %v", err)
	}
}
