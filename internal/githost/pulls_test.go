package githost

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"

	"github.com/riggerdev/rigger/internal/credentials"
)

// mintPerms mints a token for target with exactly perms.
func mintPerms(t testing.TB, h *Host, target string, perms map[string]string) string {
	t.Helper()
	c, err := h.Mint(context.Background(), credentials.Need{Integration: Integration, Action: "publish:github:pull-request", Target: target,
		Permissions: perms, Run: credentials.Run{TaskID: "task-7", UserRef: "user:default/alice"}})
	if err != nil {
		t.Fatal(err)
	}
	return c.Token.Reveal()
}

// client is go-github, the client publish:github:pull-request uses,
// pointed at the host's API with tok.
func client(t testing.TB, h *Host, tok string) *gh.Client {
	t.Helper()
	c := gh.NewClient(nil)
	if tok != "" {
		c = c.WithAuthToken(tok)
	}
	u, err := url.Parse(h.APIBaseURL())
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

// pushBranch clones owner/repo, commits files on branch (from its
// current tip, else from start) and pushes it with tok.
func pushBranch(t testing.TB, h *Host, tok, owner, repo, start, branch string, files map[string]string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "w")
	url := h.CloneURL(owner, repo)
	if out, err := git(t, filepath.Dir(dir), "", "clone", "-q", url, dir); err != nil {
		t.Fatalf("clone: %v %s", err, out)
	}
	if _, err := git(t, dir, "", "checkout", "-q", branch); err != nil {
		if out, err := git(t, dir, "", "checkout", "-q", "-b", branch, "origin/"+start); err != nil {
			t.Fatalf("checkout: %v %s", err, out)
		}
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"add", "."}, {"commit", "-qm", "change " + branch}, {"push", "-q", url, branch}} {
		if out, err := git(t, dir, tok, args...); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
}

func seedCatalog(t testing.TB, h *Host) {
	t.Helper()
	created, err := h.Seed("platform", "catalog", "Start the catalog", map[string]string{
		"README.md": "# Catalog\n", "catalog-info.yaml": "kind: Location\n", "components/.keep": ""})
	if err != nil || !created {
		t.Fatalf("seed: %v %v", created, err)
	}
	if again, err := h.Seed("platform", "catalog", "Again", map[string]string{"other": "x"}); err != nil || again {
		t.Fatalf("a second seed changed the repository: %v %v", again, err)
	}
}

func TestPullRequestAPI(t *testing.T) {
	h, srv := newHost(t)
	ctx := context.Background()
	seedCatalog(t, h)
	target := h.Name() + "/platform/catalog"
	tok := mintPerms(t, h, target, map[string]string{"contents": "write", "pull_requests": "write"})
	pushBranch(t, h, tok, "platform", "catalog", "main", "add-payments", map[string]string{"components/payments.yaml": "name: payments\n"})

	c := client(t, h, tok)
	repo, _, err := c.Repositories.Get(ctx, "platform", "catalog")
	if err != nil || repo.GetDefaultBranch() != "main" || repo.GetFullName() != "platform/catalog" {
		t.Fatalf("repository: %v %+v", err, repo)
	}
	newPR := &gh.NewPullRequest{Title: gh.String("Add payments <b>"), Body: gh.String("Adds its entry."), Head: gh.String("add-payments"), Base: gh.String("main")}
	pr, resp, err := c.PullRequests.Create(ctx, "platform", "catalog", newPR)
	if err != nil || resp.StatusCode != http.StatusCreated || pr.GetNumber() != 1 || pr.GetState() != "open" ||
		pr.GetHTMLURL() != srv.URL+"/git/platform/catalog/pulls/1" || pr.GetHead().GetRef() != "add-payments" || pr.GetHead().GetSHA() == "" {
		t.Fatalf("create: %v %+v", err, pr)
	}
	// Idempotence is the action's (list, then edit): a second create is
	// GitHub's 422, and the list finds the first.
	if _, resp, err := c.PullRequests.Create(ctx, "platform", "catalog", newPR); err == nil || resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second create: %v", err)
	}
	open, _, err := c.PullRequests.List(ctx, "platform", "catalog", &gh.PullRequestListOptions{State: "open", Head: "platform:add-payments", Base: "main"})
	if err != nil || len(open) != 1 || open[0].GetNumber() != 1 {
		t.Fatalf("list: %v %d", err, len(open))
	}
	if other, _, err := c.PullRequests.List(ctx, "platform", "catalog", &gh.PullRequestListOptions{Head: "platform:elsewhere"}); err != nil || len(other) != 0 {
		t.Fatalf("list of another head: %v %d", err, len(other))
	}
	edited, _, err := c.PullRequests.Edit(ctx, "platform", "catalog", 1, &gh.PullRequest{Title: gh.String("Add payments"), Body: gh.String("Second run.")})
	if err != nil || edited.GetTitle() != "Add payments" || edited.GetBody() != "Second run." {
		t.Fatalf("edit: %v %+v", err, edited)
	}

	// Who may change pull requests: a token for this repository with
	// pull_requests:write, nobody else.
	otherRepo := mintPerms(t, h, h.Name()+"/platform/other", map[string]string{"contents": "write", "pull_requests": "write"})
	pushOnly := mintPerms(t, h, target, map[string]string{"contents": "write"})
	for name, tc := range map[string]struct {
		tok  string
		code int
	}{"no token": {"", 401}, "a forged token": {tok[:len(tok)-4] + "AAAA", 401}, "another repository's token": {otherRepo, 403}, "a push-only token": {pushOnly, 403}} {
		_, resp, err := client(t, h, tc.tok).PullRequests.Edit(ctx, "platform", "catalog", 1, &gh.PullRequest{Title: gh.String("hijacked")})
		if err == nil || resp.StatusCode != tc.code {
			t.Errorf("edit with %s: %v (want %d)", name, err, tc.code)
		}
	}
	if _, _, err := client(t, h, pushOnly).PullRequests.Merge(ctx, "platform", "catalog", 1, "", nil); err == nil {
		t.Error("a push-only token merged")
	}

	// Merge with real git: a fast-forward here.
	head := edited.GetHead().GetSHA()
	if _, resp, err := c.PullRequests.Merge(ctx, "platform", "catalog", 1, "", &gh.PullRequestOptions{SHA: "0000000000000000000000000000000000000000"}); err == nil || resp.StatusCode != http.StatusConflict {
		t.Fatalf("merge with a stale sha: %v", err)
	}
	res, _, err := c.PullRequests.Merge(ctx, "platform", "catalog", 1, "", &gh.PullRequestOptions{SHA: head})
	if err != nil || !res.GetMerged() || res.GetSHA() != head {
		t.Fatalf("merge: %v %+v", err, res)
	}
	if _, resp, err := c.PullRequests.Merge(ctx, "platform", "catalog", 1, "", nil); err == nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("second merge: %v", err)
	}
	if got := h.branchSHA(h.repoDir("platform", "catalog"), "main"); got != head {
		t.Fatalf("main is at %s, want %s", got, head)
	}
	// Merged: nothing between main and the branch any more.
	if _, resp, err := c.PullRequests.Create(ctx, "platform", "catalog", newPR); err == nil || resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(err.Error(), "no commits") {
		t.Fatalf("create after the merge: %v", err)
	}

	// A merge commit when main moved on, and a conflict that changes nothing.
	pushBranch(t, h, tok, "platform", "catalog", "main", "add-orders", map[string]string{"components/orders.yaml": "name: orders\n"})
	pushBranch(t, h, tok, "platform", "catalog", "main", "clash", map[string]string{"README.md": "# Clash\n"})
	pushBranch(t, h, tok, "platform", "catalog", "main", "main", map[string]string{"README.md": "# Catalog of platform\n"})
	for _, b := range []string{"add-orders", "clash"} {
		if _, _, err := c.PullRequests.Create(ctx, "platform", "catalog", &gh.NewPullRequest{Title: gh.String(b), Head: gh.String(b), Base: gh.String("main")}); err != nil {
			t.Fatalf("create %s: %v", b, err)
		}
	}
	before := h.branchSHA(h.repoDir("platform", "catalog"), "main")
	if _, resp, err := c.PullRequests.Merge(ctx, "platform", "catalog", 3, "", nil); err == nil || resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(err.Error(), "does not merge cleanly") {
		t.Fatalf("conflicting merge: %v", err)
	}
	if h.branchSHA(h.repoDir("platform", "catalog"), "main") != before {
		t.Fatal("a refused merge moved main")
	}
	res, _, err = c.PullRequests.Merge(ctx, "platform", "catalog", 2, "", nil)
	if err != nil || !res.GetMerged() {
		t.Fatalf("merge commit: %v", err)
	}
	parents, err := h.git(h.repoDir("platform", "catalog"), nil, nil, "rev-list", "--parents", "-n", "1", res.GetSHA())
	if err != nil || len(strings.Fields(parents)) != 3 || !strings.Contains(parents, before) {
		t.Fatalf("merge commit's parents: %v %q", err, parents)
	}
	clone := filepath.Join(t.TempDir(), "c")
	if out, err := git(t, filepath.Dir(clone), "", "clone", "-q", h.CloneURL("platform", "catalog"), clone); err != nil {
		t.Fatalf("clone: %v %s", err, out)
	}
	for f, want := range map[string]string{"components/payments.yaml": "name: payments\n", "components/orders.yaml": "name: orders\n", "README.md": "# Catalog of platform\n"} {
		if b, err := os.ReadFile(filepath.Join(clone, f)); err != nil || string(b) != want {
			t.Errorf("%s after the merges: %q %v", f, b, err)
		}
	}

	// The records survive a restart (a new Host on the same directory).
	h2, err := New(h.dir, h.name, h.addr, h.key)
	if err != nil {
		t.Fatal(err)
	}
	all, err := h2.Pulls("platform", "catalog")
	if err != nil || len(all) != 3 || !all[0].Merged || all[0].MergedBy != "rigger-task-task-7" || all[2].State != "open" {
		t.Fatalf("after a restart: %v %+v", err, all)
	}
	closed, _, err := c.PullRequests.List(ctx, "platform", "catalog", &gh.PullRequestListOptions{State: "closed"})
	if err != nil || len(closed) != 2 || closed[0].GetNumber() != 2 || !closed[0].GetMerged() || closed[0].GetMergeCommitSHA() != res.GetSHA() {
		t.Fatalf("closed list: %v %+v", err, closed)
	}
}

func TestPullRequestPages(t *testing.T) {
	h, srv := newHost(t)
	seedCatalog(t, h)
	tok := mintPerms(t, h, h.Name()+"/platform/catalog", map[string]string{"contents": "write", "pull_requests": "write"})
	pushBranch(t, h, tok, "platform", "catalog", "main", "add-web", map[string]string{"components/web.yaml": "name: <web>\n"})
	if _, _, err := client(t, h, tok).PullRequests.Create(context.Background(), "platform", "catalog",
		&gh.NewPullRequest{Title: gh.String(`<script>alert(1)</script>`), Head: gh.String("add-web"), Base: gh.String("main")}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/git/platform/catalog/pulls", "/git/platform/catalog/pulls/1"} {
		code, body := get(path)
		if code != http.StatusOK || strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: %d\n%s", path, code, body)
		}
	}
	for _, path := range []string{"/git/platform/catalog", "/git/platform/catalog/"} {
		code, body := get(path)
		if code != http.StatusOK || !strings.Contains(body, "<code>catalog-info.yaml</code>") || !strings.Contains(body, "# Catalog") || !strings.Contains(body, "(1 open)") {
			t.Errorf("repository page %s: %d\n%s", path, code, body)
		}
	}
	if code, _ := get("/git/platform/nothing"); code != http.StatusNotFound {
		t.Errorf("page of a missing repository: %d", code)
	}
	_, page := get("/git/platform/catalog/pulls/1")
	if !strings.Contains(page, "&#43;name: &lt;web&gt;") || !strings.Contains(page, `action="/git/platform/catalog/pulls/1/merge"`) {
		t.Fatalf("the page lacks the diff or the merge button:\n%s", page)
	}
	var merged []string
	h.OnMerge = func(owner, repo string, p Pull) { merged = append(merged, owner+"/"+repo+"#"+p.Head) }
	head := regexp.MustCompile(`name="sha" value="([0-9a-f]{40})"`).FindStringSubmatch(page)
	if head == nil {
		t.Fatalf("the merge form names no head commit:\n%s", page)
	}
	formToken := h.mergeToken("platform", "catalog", 1, head[1])
	post := func(form url.Values, origin string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/git/platform/catalog/pulls/1/merge", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(url.Values{}, ""); code != http.StatusForbidden {
		t.Errorf("merge without the page's token: %d", code)
	}
	// A head other than the page's (a push after it was read) is not
	// merged: its token does not match.
	stale := strings.Repeat("0", 40)
	if code := post(url.Values{"token": {h.mergeToken("platform", "catalog", 1, stale)}, "sha": {head[1][:39] + "f"}}, ""); code != http.StatusForbidden {
		t.Errorf("merge of another head with a token for it: %d", code)
	}
	if code := post(url.Values{"token": {h.mergeToken("platform", "catalog", 1, stale)}, "sha": {stale}}, ""); code != http.StatusConflict {
		t.Errorf("merge of a head the branch no longer has: %d", code)
	}
	if code := post(url.Values{"token": {formToken}, "sha": {head[1]}}, "http://evil.example"); code != http.StatusForbidden {
		t.Errorf("merge from another origin: %d", code)
	}
	if p, _ := h.GetPull("platform", "catalog", 1); p.Merged {
		t.Fatal("a refused merge merged")
	}
	if code := post(url.Values{"token": {formToken}, "sha": {head[1]}}, srv.URL); code != http.StatusSeeOther {
		t.Fatalf("merge from the page: %d", code)
	}
	if p, _ := h.GetPull("platform", "catalog", 1); !p.Merged || p.MergedBy != MergedBy {
		t.Fatalf("after the merge: %+v", p)
	}
	if len(merged) != 1 || merged[0] != "platform/catalog#add-web" || !h.HasMerged("platform", "catalog") {
		t.Fatalf("OnMerge calls %v, HasMerged %v", merged, h.HasMerged("platform", "catalog"))
	}
	if _, page := get("/git/platform/catalog/pulls/1"); !strings.Contains(page, "Merged") || strings.Contains(page, "<form") {
		t.Fatalf("merged page:\n%s", page)
	}
}

func TestHostileNamesRefused(t *testing.T) {
	for _, b := range []string{"../main", "refs/heads/main", "-b", "--upload-pack=x", "a..b", "a//b", "a/", "x.lock", ".hidden", "a/.b", "HEAD", "a b", "a~1", "a:b", ""} {
		if err := CheckBranch(b); err == nil || !strings.Contains(err.Error(), "is not a plain branch name") {
			t.Errorf("branch %q: %v", b, err)
		}
	}
	for _, b := range []string{"main", "add-payments", "feature/x.y_z"} {
		if err := CheckBranch(b); err != nil {
			t.Errorf("branch %q refused: %v", b, err)
		}
	}
	h, srv := newHost(t)
	seedCatalog(t, h)
	tok := mintPerms(t, h, h.Name()+"/platform/catalog", map[string]string{"contents": "write", "pull_requests": "write"})
	c := client(t, h, tok)
	for _, head := range []string{"../main", "refs/heads/main", "-x", "platform:../../x"} {
		_, resp, err := c.PullRequests.Create(context.Background(), "platform", "catalog", &gh.NewPullRequest{Title: gh.String("x"), Head: gh.String(head), Base: gh.String("main")})
		var ge *gh.ErrorResponse
		if err == nil || resp.StatusCode != http.StatusUnprocessableEntity || !errors.As(err, &ge) || !strings.Contains(ge.Message, "not a plain branch name") {
			t.Errorf("head %q: %v", head, err)
		}
	}
	// Owner and repository names that leave the host's directory.
	for _, path := range []string{
		"/git/api/v3/repos/..%2F..%2Fetc/catalog/pulls", "/git/api/v3/repos/platform/..%2Fcatalog/pulls", "/git/api/v3/repos/platform/catalog.git/pulls",
		"/git/api/v3/repos/.git/x", "/git/api/v3/repos/platform/catalog/pulls/..%2F1", "/git/api/v3/repos/platform/catalog/pulls/01",
		"/git/..%2F..%2Fetc/catalog/pulls", "/git/platform/..%2Fcatalog/pulls", "/git/platform/catalog/pulls/1%2F..%2F2", "/git/nobody/nothing/pulls",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	// A token for repository A pushes no branch to B.
	pushBranch(t, h, tok, "platform", "catalog", "main", "feature", map[string]string{"a": "a"})
	if _, err := h.Seed("platform", "other", "b", map[string]string{"b": "b"}); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "w")
	if out, err := git(t, filepath.Dir(work), "", "clone", "-q", h.CloneURL("platform", "catalog"), work); err != nil {
		t.Fatalf("clone: %v %s", err, out)
	}
	if out, err := git(t, work, tok, "push", h.CloneURL("platform", "other"), "origin/feature:refs/heads/feature"); err == nil {
		t.Fatalf("repository A's token pushed a branch to B: %s", out)
	}
	if h.branchSHA(h.repoDir("platform", "other"), "feature") != "" {
		t.Fatal("the branch is in B")
	}
}
