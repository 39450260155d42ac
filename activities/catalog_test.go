package activities

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

func newCatalog(t *testing.T) (*Catalog, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &Catalog{
		Store: st, Rules: catalog.DefaultRules(), Limits: catalog.DefaultLimits(), Orphans: store.OrphanDelete,
		HTTP:   netguard.NewClient(netguard.Policy{AllowedHosts: []string{"example.com"}}),
		Git:    GitSource{Policy: netguard.Policy{AllowedHosts: []string{"example.com"}}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, st
}

func run(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// gitRepo makes a real repository with an entity, a nested Location, and a
// symlink that points outside the repository.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	run(t, dir, "git", "init", "-q", "-b", "main")
	os.MkdirAll(filepath.Join(dir, "more"), 0o755)
	os.WriteFile(filepath.Join(dir, "catalog-info.yaml"), []byte(`apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: root}
spec:
  targets: [./more/svc.yaml, ./escape.yaml, ../../outside.yaml]
`), 0o644)
	os.WriteFile(filepath.Join(dir, "more", "svc.yaml"), []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: from-git}\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "escape.yaml"))
	run(t, dir, "git", "add", "-A")
	run(t, dir, "git", "commit", "-q", "-m", "catalog")
	return dir
}

func TestGitLocation(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required")
	}
	repo := gitRepo(t)
	c, st := newCatalog(t)
	ctx := context.Background()

	// A local repository from a registered (non-static) location is refused.
	loc, _ := st.AddLocation(ctx, store.Location{Type: "git", Target: "file://" + repo})
	res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
	if err != nil || res.Entities != 0 || !strings.Contains(strings.Join(res.Errors, "\n"), "local repositories are only allowed") {
		t.Fatalf("local clone from a registered location: %+v %v", res, err)
	}

	// From a static location it is read, nested targets included; the
	// symlink and the ../ target are refused, nothing outside is read.
	static, _ := st.AddLocation(ctx, store.Location{Type: "git", Target: "file://" + repo + "#catalog-info.yaml", Static: true})
	res, err = c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: static.ID})
	if err != nil {
		t.Fatal(err)
	}
	if res.Entities != 2 { // the root Location and the component
		t.Fatalf("entities %d, errors %v", res.Entities, res.Errors)
	}
	errs := strings.Join(res.Errors, "\n")
	if !strings.Contains(errs, "escape.yaml") || strings.Contains(errs, "root:x:0:0") {
		t.Errorf("symlink to /etc/passwd not refused cleanly: %s", errs)
	}
	if !strings.Contains(errs, "outside.yaml") {
		t.Errorf("../ target not reported: %s", errs)
	}
	if _, err := st.EntityByRef(ctx, "component:default/from-git"); err != nil {
		t.Fatal(err)
	}
}

func TestGitRemotesRefused(t *testing.T) {
	g := GitSource{Policy: netguard.Policy{AllowedHosts: []string{"example.com", "localhost"}}}
	for remote, want := range map[string]string{
		"http://example.com/r.git":       "only https",
		"ssh://git@example.com/r.git":    "only https",
		"git@example.com:r.git":          "only https",
		"https://evil.com/r.git":         "not in the allowed hosts",
		"https://localhost/r.git":        "loopback",
		"/srv/repos/r.git":               "local repositories",
		"file:///srv/repos/r.git":        "local repositories",
		"https://user:pw@example.com/r":  "credentials",
		"ext::sh -c touch% /tmp/pwned":   "only https",
		"--upload-pack=touch /tmp/pwned": "only https",
	} {
		_, err := g.checkRemote(context.Background(), remote)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want %q, got %v", remote, want, err)
		}
	}
}

func TestGitCommandIsLockedDown(t *testing.T) {
	cmd := gitCommand(context.Background(), "https://example.com/r.git", "/tmp/x", false)
	argv := strings.Join(cmd.Args, " ")
	for _, want := range []string{"protocol.allow=never", "protocol.https.allow=always", "http.followRedirects=false", "--depth 1", "-- https://example.com/r.git /tmp/x"} {
		if !strings.Contains(argv, want) {
			t.Errorf("argv %q lacks %q", argv, want)
		}
	}
	if strings.Contains(argv, "protocol.file.allow") {
		t.Error("file protocol allowed for a remote clone")
	}
	for _, e := range cmd.Env {
		if strings.HasPrefix(e, "RIGGER_") || strings.HasPrefix(e, "AWS_") || strings.HasPrefix(e, "GITHUB_") {
			t.Errorf("environment leaks %s", e)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "openapi.yaml"), []byte("openapi: 3.0.0\ninfo: {title: Pets}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "extra.json"), []byte(`{"tier": 1}`), 0o644)
	os.WriteFile(filepath.Join(dir, "api.yaml"), []byte(`apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: pets}
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition:
    $text: ./openapi.yaml
  extra:
    $json: ./extra.json
`), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(`apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: broken}
spec: {type: openapi, lifecycle: production, owner: team-a, definition: {$text: ./missing.yaml}}
`), 0o644)
	c, st := newCatalog(t)
	ctx := context.Background()
	loc, _ := st.AddLocation(ctx, store.Location{Type: "file", Target: filepath.Join(dir, "*.yaml"), Static: true})
	res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Errors, "\n"), "$text ./missing.yaml") {
		t.Errorf("missing placeholder target not reported: %v", res.Errors)
	}
	e, err := st.EntityByRef(ctx, "api:default/pets")
	if err != nil {
		t.Fatal(err)
	}
	body := string(e.Body)
	if !strings.Contains(body, `"definition":"openapi: 3.0.0\ninfo: {title: Pets}\n"`) || !strings.Contains(body, `"extra":{"tier":1}`) {
		t.Fatalf("placeholders not substituted: %s", body)
	}
}
