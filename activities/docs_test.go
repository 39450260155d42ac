package activities

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/techdocs"
)

// docsRig is a catalog whose refreshes record the docs builds they start,
// and a builder keeping sites in the store.
type docsRig struct {
	c       *Catalog
	st      store.Store
	b       *DocsBuilder
	mu      sync.Mutex
	started []string
}

func newDocsRig(t *testing.T) *docsRig {
	t.Helper()
	c, st := newCatalog(t)
	r := &docsRig{c: c, st: st}
	c.StartDocs = func(_ context.Context, ref string) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.started = append(r.started, ref)
		return nil
	}
	r.b = &DocsBuilder{Catalog: c, Sites: &techdocs.Sites{Store: st, Files: techdocs.Database{}}}
	return r
}

func (r *docsRig) build(t *testing.T, ref string) contract.DocsBuildResult {
	t.Helper()
	res, err := r.b.Build(context.Background(), contract.DocsBuildInput{Ref: ref})
	if err != nil {
		t.Fatalf("build %s: %v", ref, err)
	}
	return res
}

func (r *docsRig) page(t *testing.T, ref, path string) string {
	t.Helper()
	data, _, err := r.b.Sites.File(context.Background(), ref, path)
	if err != nil {
		t.Fatalf("%s %s: %v", ref, path, err)
	}
	return string(data)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const docsComponent = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: %s\n  annotations: {backstage.io/techdocs-ref: \"%s\"}\nspec: {type: service, lifecycle: production, owner: team-a}\n"

func component(name, ref string) string {
	return strings.Replace(strings.Replace(docsComponent, "%s", name, 1), "%s", ref, 1)
}

func TestDocsBuiltFromFileLocation(t *testing.T) {
	r := newDocsRig(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"catalog-info.yaml": component("svc", "dir:.") + "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: plain}\nspec: {type: service, lifecycle: production, owner: team-a}\n",
		"mkdocs.yml":        "site_name: Svc\nnav:\n  - Home: index.md\n",
		"docs/index.md":     "# Svc\n\nFirst version.\n",
	})
	loc, _ := r.st.AddLocation(ctx, store.Location{Type: "file", Target: filepath.Join(dir, "catalog-info.yaml")})
	if _, err := r.c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.started, ",") != "component:default/svc" {
		t.Fatalf("builds started on ingestion: %v (only svc names its docs)", r.started)
	}
	ref := "component:default/svc"
	if res := r.build(t, ref); !res.Updated || res.Failed != "" {
		t.Fatalf("first build: %+v", res)
	}
	if p := r.page(t, ref, ""); !strings.Contains(p, "First version.") {
		t.Fatalf("index page: %s", p)
	}
	if res := r.build(t, ref); res.Updated {
		t.Fatalf("an unchanged source was built again: %+v", res)
	}
	writeFiles(t, dir, map[string]string{"docs/index.md": "# Svc\n\nSecond version.\n"})
	if res := r.build(t, ref); !res.Updated {
		t.Fatalf("a changed source was not built: %+v", res)
	}
	if p := r.page(t, ref, ""); !strings.Contains(p, "Second version.") {
		t.Fatalf("index page after the change: %s", p)
	}

	// A hostile change fails the build; the last good site stays served
	// and the failure is on record.
	writeFiles(t, dir, map[string]string{"mkdocs.yml": "site_name: Svc\ndocs_dir: ../../\n"})
	res := r.build(t, ref)
	if res.Updated || !strings.Contains(res.Failed, "docs_dir") {
		t.Fatalf("docs_dir escaping the source: %+v", res)
	}
	if p := r.page(t, ref, ""); !strings.Contains(p, "Second version.") {
		t.Fatalf("last good site lost: %s", p)
	}
	site, err := r.st.DocsSite(ctx, ref)
	if err != nil || site.Status != "failed" || !strings.Contains(site.LastError, "docs_dir") {
		t.Fatalf("failure record: %+v %v", site, err)
	}
}

func TestDocsBuiltFromGitLocation(t *testing.T) {
	r := newDocsRig(t)
	ctx := context.Background()
	repo := t.TempDir()
	run(t, repo, "git", "init", "-q", "-b", "main")
	writeFiles(t, repo, map[string]string{
		"catalog-info.yaml":      component("from-git", "dir:./site"),
		"site/mkdocs.yml":        "site_name: From git\n",
		"site/docs/index.md":     "# From git\n\nSee [the guide](guide.md).\n",
		"site/docs/guide.md":     "# Guide\n\n## Install\n\nRun it.\n",
		"site/docs/img/logo.png": "\x89PNG\r\n\x1a\n",
	})
	run(t, repo, "git", "add", "-A")
	run(t, repo, "git", "commit", "-q", "-m", "docs")
	loc, _ := r.st.AddLocation(ctx, store.Location{Type: "git", Target: "file://" + repo + "#catalog-info.yaml", Static: true})
	r.c.Git.AllowLocal = true
	if _, err := r.c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil {
		t.Fatal(err)
	}
	ref := "component:default/from-git"
	if strings.Join(r.started, ",") != ref {
		t.Fatalf("builds started: %v", r.started)
	}
	if res := r.build(t, ref); !res.Updated {
		t.Fatalf("build from git: %+v", res)
	}
	if p := r.page(t, ref, "guide/"); !strings.Contains(p, `id="install"`) {
		t.Fatalf("guide page from the clone: %s", p)
	}
	if p := r.page(t, ref, ""); !strings.Contains(p, `href="guide/"`) {
		t.Fatalf("relative link not rewritten: %s", p)
	}
	// A git location refreshed again with nothing changed starts no build
	// (the clone is not made again for unchanged entities).
	r.started = nil
	if _, err := r.c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil {
		t.Fatal(err)
	}
	if len(r.started) != 0 {
		t.Fatalf("unchanged git entity started builds: %v", r.started)
	}
}

// techdocs-ref values that point outside the source, at another scheme or
// at a host the catalog may not read fail the build with a reason, and
// read nothing.
func TestDocsRefsRefused(t *testing.T) {
	r := newDocsRig(t)
	ctx := context.Background()
	dir := t.TempDir()
	refs := map[string]string{
		"up":       "dir:../../",
		"absolute": "dir:/etc",
		"scheme":   "s3:bucket/docs",
		"host":     "url:https://evil.example.net/acme/docs/tree/main/docs",
		"nothing":  "dir:./missing",
	}
	refusals := map[string]string{
		"up": "leaves the entity's directory", "absolute": "leaves the entity's directory",
		"scheme": "only dir:<path> and url:<repository tree URL> are supported",
		"host":   `host "evil.example.net" is not in the allowed hosts`, "nothing": "there is no such folder",
	}
	var body []string
	for name, ref := range refs {
		body = append(body, component(name, ref))
	}
	writeFiles(t, dir, map[string]string{"catalog-info.yaml": strings.Join(body, "---\n")})
	loc, _ := r.st.AddLocation(ctx, store.Location{Type: "file", Target: filepath.Join(dir, "catalog-info.yaml")})
	if _, err := r.c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil {
		t.Fatal(err)
	}
	for name, ref := range refs {
		res := r.build(t, "component:default/"+name)
		if res.Updated || res.Failed == "" {
			t.Errorf("%s (%s): %+v, want a failed build", name, ref, res)
			continue
		}
		if want := refusals[name]; !strings.Contains(res.Failed, want) {
			t.Errorf("%s (%s): %q, want it to say %q", name, ref, res.Failed, want)
		}
		if strings.Contains(res.Failed, "root:") {
			t.Errorf("%s: the failure shows file contents: %s", name, res.Failed)
		}
	}
}
