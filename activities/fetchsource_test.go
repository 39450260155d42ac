package activities

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/store"
)

func TestResolveSkeleton(t *testing.T) {
	gh := "https://github.com/acme/templates/blob/main/go/template.yaml"
	cases := []struct {
		base, ref string
		// want is "file", "remote <url>", "repo <repo> <branch> <path>" or "error <text>".
		want string
	}{
		{"file:///srv/t/template.yaml", "./skeleton", "file"},
		{"file:///srv/t/template.yaml", "https://github.com/acme/skel/tree/v2/service", "repo https://github.com/acme/skel.git v2 service"},
		{"file:///srv/t/template.yaml", "https://gitlab.example.com/grp/skel/-/tree/main/a/b", "repo https://gitlab.example.com/grp/skel.git main a/b"},
		{"file:///srv/t/template.yaml", "https://github.com/acme/skel/tree/main/../../x", "error leaves the repository"},
		{"file:///srv/t/template.yaml", "https://github.com/acme/skel/tree/main", "repo https://github.com/acme/skel.git main ."},
		{"file:///srv/t/template.yaml", "https://example.com/skel.tar.gz", "remote https://example.com/skel.tar.gz"},
		{"file:///srv/t/template.yaml", "http://github.com/acme/skel/tree/main/x", "remote http://github.com/acme/skel/tree/main/x"},
		{"file:///srv/t/template.yaml", "ftp://example.com/x", "error only http(s) URLs"},
		{"file:///srv/t/template.yaml", "", "error input url is required"},
		// A template registered by its GitHub URL: its siblings are in its
		// repository, at its branch.
		{gh, "./skeleton", "repo https://github.com/acme/templates.git main go/skeleton"},
		{gh, "../shared/ci", "repo https://github.com/acme/templates.git main shared/ci"},
		{gh, "../../..", "error leaves the template's repository"},
		// A template read from a git location: anywhere in its repository.
		{"git:https://git.example.com/acme/t.git#templates/go/template.yaml", "../../skeletons/catalog-info/", "repo https://git.example.com/acme/t.git  skeletons/catalog-info"},
		{"git:/srv/repo#templates/go/template.yaml", "./skeleton", "repo /srv/repo  templates/go/skeleton"},
		{"git:/srv/repo#template.yaml", "../etc", "error leaves the template's repository"},
		{"git:/srv/repo#template.yaml", "/etc", "error leaves the template's repository"},
		// Any other http(s) template: relative archives.
		{"https://example.com/t/template.yaml", "./skel.tgz", "remote https://example.com/t/skel.tgz"},
		{"", "./skeleton", "error has no base location"},
	}
	for _, c := range cases {
		r, err := resolveSkeleton(c.base, c.ref)
		var got string
		switch {
		case err != nil:
			got = "error " + err.Error()
		case r.file != "":
			got = "file"
		case r.remote != nil:
			got = "remote " + r.remote.String()
		case r.repo != nil:
			got = "repo " + r.repo.repo + " " + r.repo.branch + " " + r.repo.path
		}
		if strings.HasPrefix(c.want, "error ") && strings.HasPrefix(got, "error ") {
			if !strings.Contains(got, strings.TrimPrefix(c.want, "error ")) {
				t.Errorf("%s + %q: %s, want it to say %q", c.base, c.ref, got, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s + %q: %s, want %s", c.base, c.ref, got, c.want)
		}
	}
}

// TestFetchFromGitRepository: a template read from a git location fetches
// its skeleton from a clone of that repository (real git), anywhere in it
// but never outside it.
func TestFetchFromGitRepository(t *testing.T) {
	s, _ := newScaffold(t)
	repo := t.TempDir()
	run(t, repo, "git", "init", "-q", "-b", "main")
	for file, content := range map[string]string{
		"templates/go/template.yaml":          "kind: Template\n",
		"templates/go/skeleton/README.md":     "# ${{ values.name }}\n",
		"skeletons/catalog-info/catalog.yaml": "name: ${{ values.name }}\n",
	} {
		os.MkdirAll(filepath.Join(repo, filepath.Dir(file)), 0o755)
		os.WriteFile(filepath.Join(repo, file), []byte(content), 0o644)
	}
	run(t, repo, "git", "add", "-A")
	run(t, repo, "git", "commit", "-q", "-m", "templates")
	base := "git:" + repo + "#templates/go/template.yaml"
	values := map[string]any{"name": "pay"}
	for ref, want := range map[string]string{
		"./skeleton":                    "out/README.md=# pay\n",
		"../../skeletons/catalog-info/": "out/catalog.yaml=name: pay\n",
	} {
		in := contract.ActionInput{TaskID: "g", TemplateBaseURL: base, Input: map[string]any{"url": ref, "targetPath": "out", "values": values, "replace": true}}
		if _, err := s.FetchTemplate(context.Background(), in); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		file, content, _ := strings.Cut(want, "=")
		if got, err := os.ReadFile(filepath.Join(s.Workspaces.Dir, "g", file)); err != nil || string(got) != content {
			t.Errorf("%s: %s = %q, %v; want %q", ref, file, got, err, content)
		}
	}
	in := contract.ActionInput{TaskID: "g", TemplateBaseURL: base, Input: map[string]any{"url": "../../skeletons/catalog-info/catalog.yaml", "targetPath": "single.yaml"}}
	if _, err := s.FetchPlainFile(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(s.Workspaces.Dir, "g", "single.yaml")); string(got) != "name: ${{ values.name }}\n" {
		t.Errorf("fetch:plain:file from the repository: %q", got)
	}
	// The repository's root: its files, never its .git.
	in = contract.ActionInput{TaskID: "root", TemplateBaseURL: base, Input: map[string]any{"url": "../..", "targetPath": "all"}}
	if _, err := s.FetchPlain(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, "root", "all", "templates", "go", "template.yaml")); err != nil {
		t.Errorf("root fetch lacks the template: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, "root", "all", ".git")); err == nil {
		t.Error("the clone's .git was copied into the workspace")
	}
	for ref, want := range map[string]string{
		"../../../outside": "leaves the template's repository",
		"./missing":        "no such file",
	} {
		in := contract.ActionInput{TaskID: "g", TemplateBaseURL: base, Input: map[string]any{"url": ref, "targetPath": "x"}}
		if _, err := s.FetchPlain(context.Background(), in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", ref, err, want)
		}
	}
}

// TestGitTreeURLPolicy: a tree URL is cloned only from scaffolder.allowedHosts,
// and a local repository only when the template itself came from one.
func TestGitTreeURLPolicy(t *testing.T) {
	s, _ := newScaffold(t)
	s.Git = GitSource{Policy: netguard.Policy{AllowedHosts: []string{"github.com"}}}
	in := contract.ActionInput{TaskID: "p", TemplateBaseURL: "file:///nonexistent/template.yaml", Input: map[string]any{"url": "https://gitlab.example.com/a/b/tree/main/dir", "targetPath": "x"}}
	if _, err := s.FetchPlain(context.Background(), in); err == nil || !strings.Contains(err.Error(), "gitlab.example.com") {
		t.Errorf("clone from a host not allowed: %v", err)
	}
	var app *temporal.ApplicationError
	if _, err := s.FetchPlain(context.Background(), in); !errors.As(err, &app) || !app.NonRetryable() {
		t.Errorf("a refused host is retryable: %v", err)
	}
	in.TemplateBaseURL, in.Input["url"] = "git:https://gitlab.example.com/a/b.git#t.yaml", "./x"
	if _, err := s.FetchPlain(context.Background(), in); err == nil || !strings.Contains(err.Error(), "gitlab.example.com") {
		t.Errorf("clone of a git base on a host not allowed: %v", err)
	}
	// git failing (here: no such repository) may be the network: the
	// step's retry policy decides.
	in.TemplateBaseURL = "git:" + filepath.Join(t.TempDir(), "gone") + "#t.yaml"
	_, err := s.FetchPlain(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "git clone") || (errors.As(err, &app) && app.NonRetryable()) {
		t.Errorf("failed clone: %v (want a retryable git clone error)", err)
	}
}

// TestBrowseURLLocations: a url location registered by a repository browse
// URL is read from a clone at its branch, and its files keep the browse URL
// form in backstage.io/managed-by-location.
func TestBrowseURLLocations(t *testing.T) {
	for target, want := range map[string]source{
		"https://github.com/acme/svc/blob/main/catalog-info.yaml":        {typ: "git", target: "https://github.com/acme/svc.git#catalog-info.yaml", branch: "main"},
		"https://ghe.example.com/acme/svc/tree/release/catalog/all.yaml": {typ: "git", target: "https://ghe.example.com/acme/svc.git#catalog/all.yaml", branch: "release"},
		"https://example.com/catalog-info.yaml":                          {typ: "url", target: "https://example.com/catalog-info.yaml"},
		"https://github.com/acme/svc/blob/main":                          {typ: "url", target: "https://github.com/acme/svc/blob/main"},
		"https://github.com/acme/svc/blob/main/../../x.yaml":             {typ: "url", target: "https://github.com/acme/svc/blob/main/../../x.yaml"},
	} {
		if got := rootSource(store.Location{Type: "url", Target: target}); got != want {
			t.Errorf("%s: %+v, want %+v", target, got, want)
		}
	}
	for name, want := range map[string]string{
		"https://github.com/acme/svc.git?ref=main#more/api.yaml": "url:https://github.com/acme/svc/blob/main/more/api.yaml",
		"https://github.com/acme/svc.git#catalog-info.yaml":      "git:https://github.com/acme/svc.git#catalog-info.yaml",
		"/srv/repo#catalog-info.yaml":                            "git:/srv/repo#catalog-info.yaml",
	} {
		if got := fileRef(source{typ: "gitfile"}, name); got != want {
			t.Errorf("fileRef(%s) = %s, want %s", name, got, want)
		}
	}
	// A repository's all.yaml may point at files of the same clone and at
	// other repositories or hosts by absolute URL.
	all := catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Location", "metadata": map[string]any{"name": "all"},
		"spec": map[string]any{"targets": []any{"./teams/a.yaml", "https://github.com/acme/other/blob/main/catalog-info.yaml", "https://example.com/x.yaml"}}}
	got := nestedTargets(source{typ: "git"}, "https://github.com/acme/svc.git?ref=main#catalog/all.yaml", all)
	want := []source{
		{typ: "gitfile", target: "catalog/teams/a.yaml"},
		{typ: "git", target: "https://github.com/acme/other.git#catalog-info.yaml", branch: "main"},
		{typ: "url", target: "https://example.com/x.yaml"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("nested targets of a clone's all.yaml:\n got %+v\nwant %+v", got, want)
	}
	// Such an annotation is a base a template's skeleton resolves against,
	// in the same repository and branch.
	r, err := resolveSkeleton("https://github.com/acme/svc/blob/main/more/api.yaml", "./skeleton")
	if err != nil || r.repo == nil || r.repo.repo != "https://github.com/acme/svc.git" || r.repo.branch != "main" || r.repo.path != "more/skeleton" {
		t.Errorf("skeleton of a browse-URL template: %+v %+v, %v", r, r.repo, err)
	}
}

// TestCloneBranch: a clone at a branch reads that branch's files.
func TestCloneBranch(t *testing.T) {
	repo := t.TempDir()
	run(t, repo, "git", "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(repo, "which.txt"), []byte("main"), 0o644)
	run(t, repo, "git", "add", "-A")
	run(t, repo, "git", "commit", "-q", "-m", "main")
	run(t, repo, "git", "checkout", "-q", "-b", "release")
	os.WriteFile(filepath.Join(repo, "which.txt"), []byte("release"), 0o644)
	run(t, repo, "git", "commit", "-q", "-am", "release")
	run(t, repo, "git", "checkout", "-q", "main")
	for branch, want := range map[string]string{"": "main", "release": "release"} {
		root, cleanup, err := GitSource{AllowLocal: true}.clone(context.Background(), repo, branch)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := root.ReadFile("which.txt")
		cleanup()
		if string(got) != want {
			t.Errorf("branch %q: which.txt = %q", branch, got)
		}
	}
	if _, _, err := (GitSource{AllowLocal: true}).clone(context.Background(), repo, "--upload-pack=touch /tmp/x"); err == nil || !strings.Contains(err.Error(), "bad branch") {
		t.Errorf("option-like branch: %v", err)
	}
}
