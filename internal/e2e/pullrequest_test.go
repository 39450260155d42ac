package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCatalogPullRequestExample runs examples/templates/component-pull-request
// under a real rigger dev: a new repository on the dev git host (cloned
// with real git) and one pull request to platform/catalog adding its
// entry, still one after the template runs again; merged through the
// host's page, the component appears in the catalog; after a restart the
// pull request is still there, merged, and the catalog still reads the
// repository.
func TestCatalogPullRequestExample(t *testing.T) {
	needBinary(t)
	examples, err := filepath.Abs("../../examples/templates/component-pull-request/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("scaffolder:\n  templates: [%s]\ncatalog: {examples: []}\nauth: {devGuestGroups: [group:default/platform]}\n", examples)), 0o600); err != nil {
		t.Fatal(err)
	}
	ps := freePorts(t)
	p := startDevOn(t, dir, cfg, ps)
	waitTotal(t, p.api, "kind=template", 1)

	// The shared catalog repository exists from the first start.
	gitEnv := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}
	clone := func(repo string) string {
		t.Helper()
		to := filepath.Join(t.TempDir(), "c")
		cmd := exec.Command("git", "clone", "-q", p.api+"/git/"+repo+".git", to)
		cmd.Env = gitEnv
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git clone %s: %v %s", repo, err, b)
		}
		return to
	}
	if b, err := os.ReadFile(filepath.Join(clone("platform/catalog"), "catalog-info.yaml")); err != nil || !strings.Contains(string(b), "./components/*.yaml") {
		t.Fatalf("the seeded catalog repository: %v %s", err, b)
	}

	values := map[string]any{"name": "ledger", "owner": "group:default/team-a", "description": "Keeps the books",
		"repoUrl": "localhost?owner=acme&repo=ledger"}
	run := func() string {
		t.Helper()
		var created struct{ ID string }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/component-pull-request", "values": values}, &created); code != http.StatusCreated {
			t.Fatalf("create: %d", code)
		}
		if tr := waitTask(t, p.api, created.ID); tr.Status != "completed" {
			t.Fatalf("task: %+v\n%s", tr, eventText(t, p.api, created.ID))
		}
		return created.ID
	}
	pulls := func() []map[string]any {
		t.Helper()
		var list []map[string]any
		if code := doJSON(t, "GET", p.api+"/git/api/v3/repos/platform/catalog/pulls?state=all", nil, &list); code != http.StatusOK {
			t.Fatalf("list pull requests: %d", code)
		}
		return list
	}

	first := run()
	prPage := p.api + "/git/platform/catalog/pulls/1"
	out := fmt.Sprint(taskOutput(t, p.api, first))
	for _, want := range []string{prPage, "git clone " + p.api + "/git/acme/ledger.git", "Catalog pull request #1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q: %s", want, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(clone("acme/ledger"), "README.md")); err != nil || !strings.Contains(string(b), "Keeps the books") {
		t.Fatalf("the new repository's README: %v %s", err, b)
	}
	// The output's repository link is the repository's page.
	if !regexp.MustCompile(`url:` + regexp.QuoteMeta(p.api+"/git/acme/ledger") + `[\] ]`).MatchString(out) {
		t.Errorf("output lacks the repository page: %s", out)
	}
	if resp, err := http.Get(p.api + "/git/acme/ledger"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the repository page: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
	// Running it again (as a retry would) gives no second pull request.
	second := run()
	if events := eventText(t, p.api, second); !strings.Contains(events, "updated pull request #1") || !strings.Contains(events, "nothing pushed") {
		t.Errorf("the second run's log: %s", events)
	}
	list := pulls()
	if len(list) != 1 || list[0]["number"] != float64(1) || list[0]["state"] != "open" || list[0]["head"].(map[string]any)["ref"] != "add-ledger" {
		t.Fatalf("pull requests after two runs: %v", list)
	}
	// The branch holds the entry, and nothing is in the catalog yet.
	waitTotal(t, p.api, "kind=component,metadata.name=ledger", 0)

	// Merge on the pull request's page, as a person would.
	resp, err := http.Get(prPage)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="token" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(string(page), "components/ledger.yaml") {
		t.Fatalf("pull request page: %d\n%s", resp.StatusCode, page)
	}
	sha := regexp.MustCompile(`name="sha" value="([0-9a-f]+)"`).FindSubmatch(page)
	if sha == nil {
		t.Fatalf("the merge form names no head commit:\n%s", page)
	}
	req, _ := http.NewRequest(http.MethodPost, prPage+"/merge", strings.NewReader(url.Values{"token": {string(m[1])}, "sha": {string(sha[1])}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", p.api)
	resp, err = (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("merge: %d", resp.StatusCode)
	}
	if b, err := os.ReadFile(filepath.Join(clone("platform/catalog"), "components", "ledger.yaml")); err != nil || !strings.Contains(string(b), "name: ledger") {
		t.Fatalf("main after the merge: %v %s", err, b)
	}
	// The merge registered platform/catalog as a location and refreshed it.
	waitTotal(t, p.api, "kind=component,metadata.name=ledger,spec.owner=group:default/team-a", 1)

	// A restart keeps the pull request, merged, and the location.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 30*time.Second)
	p = startDevOn(t, dir, cfg, ps)
	if list := pulls(); len(list) != 1 || list[0]["merged"] != true || list[0]["merged_by"].(map[string]any)["login"] != "guest" {
		t.Fatalf("pull requests after a restart: %v", list)
	}
	var loc struct{ Type, Target string }
	if code := doJSON(t, "GET", p.api+"/api/catalog/locations/by-entity/component/default/ledger", nil, &loc); code != http.StatusOK || loc.Type != "git" ||
		!strings.HasSuffix(loc.Target, "platform/catalog.git#catalog-info.yaml") {
		t.Fatalf("the component's location after a restart: %d %+v", code, loc)
	}
}
