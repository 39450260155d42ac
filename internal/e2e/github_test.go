package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/githubfake"
)

// githubTemplate publishes a new repository, then opens a pull request
// adding docs to it.
const githubTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: gh-publish}
spec:
  owner: group:default/platform
  type: service
  steps:
    - id: files
      name: Files
      action: fs:write
      input: {path: svc/README.md, content: "# svc\n"}
    - id: publish
      name: Publish
      action: publish:github
      input: {repoUrl: "github.com?owner=acme&repo=svc", sourcePath: svc, description: The svc service, protectDefaultBranch: false}
    - id: docs
      name: Docs
      action: fs:write
      input: {path: docs/index.md, content: "# Docs\n"}
    - id: pr
      name: Pull request
      action: publish:github:pull-request
      input: {repoUrl: "github.com?owner=acme&repo=svc", branchName: add-docs, title: Add docs, description: Docs for svc, sourcePath: docs, targetPath: docs}
  output:
    links:
      - {title: Repository, url: "${{ steps.publish.output.repoContentsUrl }}"}
      - {title: Pull request, url: "${{ steps.pr.output.remoteUrl }}"}
`

// githubAppYAML is integrations.github for the fake, with one App
// (appID, its PEM key), as lines under "integrations:".
func githubAppYAML(fake *githubfake.Server, appID int64, key string) string {
	indented := "            " + strings.ReplaceAll(strings.TrimSpace(key), "\n", "\n            ")
	return fmt.Sprintf(`  github:
    - host: github.com
      apiBaseUrl: %s
      gitBaseUrl: %s
      apps:
        - appId: %d
          privateKey: |
%s
`, fake.APIURL(), fake.GitURL(), appID, indented)
}

// TestPublishGitHubSurvivesKill: rigger dev against a fake of GitHub's
// REST API (with real git http-backend) publishes a repository and opens
// a pull request with installation tokens limited to that repository;
// killed (SIGKILL) while its push hangs, the restarted platform retries
// and ends with one repository and one pull request, the pushed tree the
// workspace's, and no token anywhere in its logs or the task's events.
func TestPublishGitHubSurvivesKill(t *testing.T) {
	needBinary(t)
	const planted = "ghs_e2ePLANTEDtoken_"
	fake := githubfake.New(t, planted)
	key := fake.AddApp(t, 7)
	fake.AddInstallation(7, "acme", "Organization", nil, nil)
	dir := t.TempDir()
	cfg := templateConfig(t, dir, githubTemplate, "integrations:\n"+githubAppYAML(fake, 7, key))
	ps := freePorts(t)
	var logs []string
	dev := func() *proc { return startDevOn(t, dir, cfg, ps) }
	reached, release := fake.HoldPush()
	defer release()
	p := dev()
	waitTotal(t, p.api, "kind=template", 1)
	var created struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/gh-publish", "values": map[string]any{}}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	select {
	case <-reached:
	case <-time.After(90 * time.Second):
		t.Fatalf("publish:github never pushed; stderr:\n%s", tail(p.stderr.String(), 4096))
	}
	// Killed mid-push: the repository exists, its push never landed.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 10*time.Second)
	logs = append(logs, p.stdout.String(), p.stderr.String())
	release()
	p = dev()
	tr := waitTask(t, p.api, created.ID)
	logs = append(logs, p.stdout.String(), p.stderr.String(), eventText(t, p.api, created.ID))
	if tr.Status != "completed" {
		t.Fatalf("task after the restart: %+v\n%s", tr, logs[len(logs)-1])
	}
	if repos := fake.Repos(); len(repos) != 1 || repos[0] != "acme/svc" {
		t.Fatalf("repositories: %v, want just acme/svc", repos)
	}
	if n := fake.PullRequests("acme", "svc"); n != 1 {
		t.Fatalf("pull requests: %d, want 1", n)
	}
	// Every token was limited to the repository, but the one that created it.
	for _, r := range fake.TokenRequests() {
		if len(r.Repositories) == 0 && (len(r.Permissions) != 1 || r.Permissions["administration"] != "write") {
			t.Errorf("an installation-wide token with %v", r.Permissions)
		}
		if len(r.Repositories) > 0 && (len(r.Repositories) != 1 || r.Repositories[0] != "svc") {
			t.Errorf("a token for %v", r.Repositories)
		}
	}
	// The pushed tree is the workspace's svc folder.
	pat := "ghp_e2eClone0123456789"
	fake.AddPAT(pat, "tester")
	clone := filepath.Join(t.TempDir(), "svc")
	cmd := exec.Command("git", "clone", "-q", fake.GitURL()+"/acme/svc.git", clone)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0=Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+pat))}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clone: %v %s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(clone, "README.md")); err != nil || string(b) != "# svc\n" {
		t.Fatalf("pushed README.md: %q %v", b, err)
	}
	for _, l := range logs {
		if strings.Contains(l, planted) || strings.Contains(l, base64.StdEncoding.EncodeToString([]byte("x-access-token:" + planted))[:20]) {
			t.Fatalf("a GitHub token is in rigger's output or the task's events")
		}
	}
}
