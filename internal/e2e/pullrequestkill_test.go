package e2e

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/githubfake"
)

// prTemplate opens a pull request adding docs to an existing repository
// of acme (parameter repo).
const prTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: gh-pr}
spec:
  owner: group:default/platform
  type: service
  parameters:
    - properties:
        repo: {type: string}
  steps:
    - id: docs
      name: Docs
      action: fs:write
      input: {path: docs/index.md, content: "# Docs\n"}
    - id: pr
      name: Pull request
      action: publish:github:pull-request
      input: {repoUrl: "github.com?owner=acme&repo=${{ parameters.repo }}", branchName: add-docs, title: Add docs, description: Docs for the service, sourcePath: docs, targetPath: docs}
  output:
    links:
      - {title: Pull request, url: "${{ steps.pr.output.remoteUrl }}"}
`

// TestPullRequestSurvivesKill: rigger dev, against the GitHub fake (real
// git http-backend), is SIGKILLed while publish:github:pull-request waits
// between its push and its pull request (the fake holds the creation
// call), then restarted; the retried step ends with one branch, one
// commit on it and one pull request in both cases of that window: the
// creation request was lost (the retry opens the pull request and pushes
// nothing again) and the creation request was acted on though its answer
// was never read (the retry finds the open pull request of its branch and
// updates it). No installation token is in the logs, the task's events
// or any file of the data directory (Temporal's history included).
func TestPullRequestSurvivesKill(t *testing.T) {
	needBinary(t)
	const planted = "ghs_e2ePRkillTOKEN_"
	fake := githubfake.New(t, planted)
	key := fake.AddApp(t, 7)
	fake.AddInstallation(7, "acme", "Organization", nil, nil)
	fake.SeedRepo(t, "acme", "lost", "main", map[string]string{"README.md": "# lost\n"})
	fake.SeedRepo(t, "acme", "acted", "main", map[string]string{"README.md": "# acted\n"})
	dir := t.TempDir()
	cfg := templateConfig(t, dir, prTemplate, "integrations:\n"+githubAppYAML(fake, 7, key))
	ps := freePorts(t)
	dev := func() *proc { return startDevOn(t, dir, cfg, ps) }
	p := dev()
	waitTotal(t, p.api, "kind=template", 1)
	var logs []string

	for _, c := range []struct {
		repo    string
		applied bool // the held creation goes through after the kill
		retry   string
	}{
		{"lost", false, "opened pull request #1"},
		{"acted", true, "updated pull request #1"},
	} {
		reached, release := fake.HoldPullCreate(c.applied)
		var created struct{ ID string }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/gh-pr", "values": map[string]any{"repo": c.repo}}, &created); code != http.StatusCreated {
			t.Fatalf("%s: create: %d", c.repo, code)
		}
		select {
		case <-reached:
		case <-time.After(90 * time.Second):
			release()
			t.Fatalf("%s: publish:github:pull-request never asked for its pull request; stderr:\n%s", c.repo, tail(p.stderr.String(), 4096))
		}
		// The window: the branch is pushed, the pull request not answered.
		if b := fake.Branches(t, "acme", c.repo); !slices.Equal(b, []string{"add-docs", "main"}) {
			t.Fatalf("%s: branches while the pull request is held: %v", c.repo, b)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.wait(t, 10*time.Second)
		logs = append(logs, p.stdout.String(), p.stderr.String())
		release()
		if c.applied {
			deadline := time.Now().Add(10 * time.Second)
			for fake.PullRequests("acme", c.repo) != 1 {
				if time.Now().After(deadline) {
					t.Fatalf("%s: the held creation did not go through", c.repo)
				}
				time.Sleep(20 * time.Millisecond)
			}
		} else if n := fake.PullRequests("acme", c.repo); n != 0 {
			t.Fatalf("%s: %d pull requests after a lost creation", c.repo, n)
		}
		pushes := fake.GitPushes()
		p = dev()
		tr := waitTask(t, p.api, created.ID)
		events := eventText(t, p.api, created.ID)
		logs = append(logs, events)
		if tr.Status != "completed" {
			t.Fatalf("%s: task after the restart: %+v\n%s", c.repo, tr, events)
		}
		if n := fake.PullRequests("acme", c.repo); n != 1 {
			t.Errorf("%s: pull requests: %d, want 1", c.repo, n)
		}
		if b := fake.Branches(t, "acme", c.repo); !slices.Equal(b, []string{"add-docs", "main"}) {
			t.Errorf("%s: branches: %v, want add-docs and main", c.repo, b)
		}
		if n := fake.CommitsBetween(t, "acme", c.repo, "main", "add-docs"); n != 1 {
			t.Errorf("%s: commits on add-docs: %d, want 1", c.repo, n)
		}
		if n := fake.GitPushes(); n != pushes {
			t.Errorf("%s: the retry pushed again (%d pushes, %d before the restart)", c.repo, n, pushes)
		}
		if !strings.Contains(events, "branch add-docs of acme/"+c.repo+" already holds these files") || !strings.Contains(events, c.retry) {
			t.Errorf("%s: the retry's log does not say it found its branch and %q:\n%s", c.repo, c.retry, events)
		}
	}

	// No installation token in the logs, the events or the data directory
	// (Temporal's history and rigger's database), after a clean stop.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 30*time.Second)
	logs = append(logs, p.stdout.String(), p.stderr.String())
	tokens := fake.InstallationTokens()
	if len(tokens) == 0 {
		t.Fatal("the fake issued no installation token: the search proves nothing")
	}
	check := func(where, text string) {
		t.Helper()
		if strings.Contains(text, planted) {
			t.Errorf("%s holds an installation token", where)
			return
		}
		for _, tok := range tokens {
			for _, form := range secretForms(tok) {
				if strings.Contains(text, form) {
					t.Errorf("%s holds an installation token (encoded)", where)
					return
				}
			}
		}
	}
	for i, l := range logs {
		check("output or events #"+strconv.Itoa(i), l)
	}
	_, temporalDB := scanDataDir(t, dir, check)
	if !strings.Contains(temporalDB, "gh-pr") && !strings.Contains(temporalDB, "rigger-github") {
		t.Fatal("Temporal's database files hold neither the template nor the queue: the scan proves nothing")
	}
}
