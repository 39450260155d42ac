package activities

import (
	"context"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

func newCatalog(t testing.TB) (*Catalog, store.Store) {
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

// gitRepo makes a real repository whose root Location points at targets.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	run(t, dir, "git", "init", "-q", "-b", "main")
	os.MkdirAll(filepath.Join(dir, "more"), 0o755)
	os.WriteFile(filepath.Join(dir, "more", "svc.yaml"), []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: from-git}\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "escape.yaml"))
	commitTargets(t, dir, "./more/svc.yaml")
	return dir
}

func commitTargets(t *testing.T, dir string, targets ...string) {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "catalog-info.yaml"), []byte("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\nspec:\n  targets: ["+strings.Join(targets, ", ")+"]\n"), 0o644)
	run(t, dir, "git", "add", "-A")
	run(t, dir, "git", "commit", "-q", "-m", "catalog")
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
	_, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
	if err == nil || !strings.Contains(err.Error(), "local repositories are only allowed") {
		t.Fatalf("local clone from a registered location: %v", err)
	}
	if l, _ := st.GetLocation(ctx, loc.ID); !strings.Contains(l.LastError, "local repositories") {
		t.Errorf("refusal not recorded on the location: %q", l.LastError)
	}

	// From a static location it is read, nested targets included.
	static, _ := st.AddLocation(ctx, store.Location{Type: "git", Target: "file://" + repo + "#catalog-info.yaml", Static: true})
	res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: static.ID})
	if err != nil || res.Entities != 2 { // the root Location and the component
		t.Fatalf("entities %d, errors %v, %v", res.Entities, res.Errors, err)
	}
	// A symlink to /etc/passwd is checked out as a plain file holding the
	// link text (core.symlinks=false): it is refused as a non-entity and
	// nothing outside the clone is read.
	commitTargets(t, repo, "./more/svc.yaml", "./escape.yaml")
	res, err = c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: static.ID})
	all := strings.Join(res.Errors, "\n")
	if err != nil || !strings.Contains(all, "escape.yaml: document 1") || strings.Contains(all, "root:") {
		t.Fatalf("symlink target: %v %s", err, all)
	}
	// A target climbing out with ../ is looked up inside the clone, not
	// found, and fails the refresh; what was stored stays.
	commitTargets(t, repo, "./more/svc.yaml", "../../outside.yaml")
	if _, err = c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: static.ID}); err == nil || !strings.Contains(err.Error(), "outside.yaml") {
		t.Fatalf("../ target: %v", err)
	}
	if _, err := st.EntityByRef(ctx, "component:default/from-git"); err != nil {
		t.Fatalf("stored entity lost: %v", err)
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
		_, _, err := g.checkRemote(context.Background(), remote)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want %q, got %v", remote, want, err)
		}
	}
	// An allowed remote is pinned to the address that was checked.
	lo := GitSource{Policy: netguard.Policy{AllowedHosts: []string{"localhost"}, AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}
	if _, pin, err := lo.checkRemote(context.Background(), "https://localhost:8443/r.git"); err != nil || pin != "localhost:8443:127.0.0.1" {
		t.Errorf("pin = %q, %v", pin, err)
	}
}

// TestCloneStallIsKilled: a remote that accepts the connection and never
// answers cannot hold a clone (and git's https helper) past its context.
func TestCloneStallIsKilled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent
		}
	}()
	g := GitSource{Policy: netguard.Policy{AllowedHosts: []string{"localhost"}, AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, _, err := g.clone(ctx, "https://localhost:"+strconv.Itoa(l.Addr().(*net.TCPAddr).Port)+"/r.git", "")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a silent remote was cloned")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the clone outlived its context by 13 s (git's https helper kept it waiting)")
	}
}

func TestGitCommandIsLockedDown(t *testing.T) {
	cmd := gitCommand(context.Background(), "https://example.com/r.git", "", "/tmp/x", "example.com:443:192.0.2.7", false)
	argv := strings.Join(cmd.Args, " ")
	for _, want := range []string{"protocol.allow=never", "protocol.https.allow=always", "http.followRedirects=false", "--depth 1", "-- https://example.com/r.git /tmp/x",
		"http.curloptResolve=example.com:443:192.0.2.7", "http.lowSpeedTime=30"} {
		if !strings.Contains(argv, want) {
			t.Errorf("argv %q lacks %q", argv, want)
		}
	}
	if strings.Contains(argv, "protocol.file.allow") {
		t.Error("file protocol allowed for a remote clone")
	}
	if cmd.SysProcAttr == nil || !cmd.SysProcAttr.Setpgid || cmd.Cancel == nil || cmd.WaitDelay == 0 {
		t.Error("git does not run in a process group killed on cancel")
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

func TestLocationOverLimitKeepsStoredEntities(t *testing.T) {
	dir := t.TempDir()
	one := "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc-%d}\nspec: {type: service, lifecycle: production, owner: team-a}\n---\n"
	write := func(n int) {
		var b strings.Builder
		for i := range n {
			b.WriteString(strings.ReplaceAll(one, "%d", string(rune('a'+i))))
		}
		os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(b.String()), 0o644)
	}
	c, st := newCatalog(t)
	c.Limits.MaxEntities = 3
	ctx := context.Background()
	loc, _ := st.AddLocation(ctx, store.Location{Type: "file", Target: filepath.Join(dir, "c.yaml")})
	write(2)
	if _, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil {
		t.Fatal(err)
	}
	write(5)
	_, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
	if err == nil || !strings.Contains(err.Error(), "more than 3 entities") {
		t.Fatalf("want a limit error, got %v", err)
	}
	l, _ := st.GetLocation(ctx, loc.ID)
	if !strings.Contains(l.LastError, "more than 3 entities") {
		t.Errorf("location status %q does not record the failure", l.LastError)
	}
	p, _ := st.Query(ctx, store.Query{Limit: 10})
	if p.TotalItems != 2 {
		t.Errorf("a rejected refresh changed stored entities: %d", p.TotalItems)
	}
}

func TestInvalidEntityKeepsLastGoodVersion(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "c.yaml")
	good := "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\nspec: {type: service, lifecycle: production, owner: team-a}\n"
	c, st := newCatalog(t)
	ctx := context.Background()
	loc, _ := st.AddLocation(ctx, store.Location{Type: "file", Target: f})
	os.WriteFile(f, []byte(good), 0o644)
	if _, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil {
		t.Fatal(err)
	}
	// The owner is removed by mistake: the entity is reported, not deleted.
	os.WriteFile(f, []byte(strings.Replace(good, ", owner: team-a", "", 1)), 0o644)
	res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
	if err != nil || res.Removed != 0 || !strings.Contains(strings.Join(res.Errors, "\n"), "spec.owner: required field is missing") {
		t.Fatalf("invalid update: %+v %v", res, err)
	}
	e, err := st.EntityByRef(ctx, "component:default/svc")
	if err != nil || !strings.Contains(string(e.Body), `"owner":"team-a"`) {
		t.Fatalf("last good version not kept: %v", err)
	}
	// Removing the document for real removes the entity.
	os.WriteFile(f, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: other}\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o644)
	if res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil || res.Removed != 1 {
		t.Fatalf("removal: %+v %v", res, err)
	}
}

// TestDirectoryLocation: a file location naming a directory reads its
// catalog-info.yaml; without one, or a glob matching only directories, the
// refresh fails saying what to name instead (it used to succeed with no
// entities).
func TestDirectoryLocation(t *testing.T) {
	c, st := newCatalog(t)
	ctx := context.Background()
	dir := t.TempDir()
	svc := filepath.Join(dir, "svc")
	empty := filepath.Join(dir, "empty")
	for _, d := range []string{svc, empty} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(svc, "catalog-info.yaml"), []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loc, _ := st.AddLocation(ctx, store.Location{Type: "file", Target: svc})
	if res, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil || res.Entities != 1 {
		t.Errorf("directory with catalog-info.yaml: %+v %v", res, err)
	}
	for target, want := range map[string]string{
		empty:                   "is a directory without a catalog-info.yaml",
		filepath.Join(dir, "*"): "matches only directories",
	} {
		loc, _ := st.AddLocation(ctx, store.Location{Type: "file", Target: target})
		if _, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", target, err, want)
		}
	}
}

// replaceCounter counts the write transactions a refresh opens.
type replaceCounter struct {
	store.Store
	writes int
}

func (r *replaceCounter) ReplaceLocationStream(ctx context.Context, id string, es iter.Seq2[store.Entity, error], o store.ReplaceOptions) (store.ReplaceResult, error) {
	r.writes++
	return r.Store.ReplaceLocationStream(ctx, id, es, o)
}

// TestFailedNetworkReadOpensNoWrite: a git (or url) location is read
// whole before its write; when the read fails the write is not opened at
// all (it would fail at its end, after holding the catalog's tables), and
// what was stored stays.
func TestFailedNetworkReadOpensNoWrite(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required")
	}
	repo := gitRepo(t)
	c, st := newCatalog(t)
	counter := &replaceCounter{Store: st}
	c.Store = counter
	ctx := context.Background()
	loc, _ := st.AddLocation(ctx, store.Location{Type: "git", Target: "file://" + repo + "#catalog-info.yaml", Static: true})
	if _, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil || counter.writes != 1 {
		t.Fatalf("first refresh: %v, %d writes", err, counter.writes)
	}
	commitTargets(t, repo, "./more/svc.yaml", "./missing.yaml")
	_, err := c.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID})
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("a missing target: %v", err)
	}
	if counter.writes != 1 {
		t.Errorf("a failed read opened a write (%d writes)", counter.writes)
	}
	if _, err := st.EntityByRef(ctx, "component:default/from-git"); err != nil {
		t.Fatalf("stored entity lost: %v", err)
	}
	if l, _ := st.GetLocation(ctx, loc.ID); !strings.Contains(l.LastError, "missing.yaml") {
		t.Errorf("failure not recorded on the location: %q", l.LastError)
	}
}
