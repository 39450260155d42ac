package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A component's docs under rigger dev: built when the entity is ingested
// (no 404 waiting for a first view), rebuilt by a sync after an edit with
// Backstage's event stream, a failed build keeps the last good site and
// says why, and an unchanged source is not built again.
func TestDocsInDev(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "svc")
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("catalog-info.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: documented\n  annotations: {backstage.io/techdocs-ref: dir:.}\nspec: {type: service, lifecycle: production, owner: team-a}\n")
	write("mkdocs.yml", "site_name: Documented\nnav:\n  - Home: index.md\n  - Setup: setup.md\n")
	write("docs/index.md", "# Documented\n\nFirst words.\n")
	write("docs/setup.md", "# Setup\n\n## Install the agent\n\nRun it.\n")
	cfg := filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(cfg, []byte("scaffolder: {templates: []}\ncatalog: {examples: ["+filepath.Join(src, "catalog-info.yaml")+"]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startDevOn(t, dir, cfg, freePorts(t))
	base := p.api + "/api/techdocs"
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get("/metadata/techdocs/default/component/documented")
		if code == http.StatusOK && strings.Contains(body, `"site_name":"Documented"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("docs not built on ingestion within 30 s: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, page := get("/static/docs/default/component/documented/setup/"); !strings.Contains(page, `id="install-the-agent"`) {
		t.Fatalf("setup page: %s", page)
	}
	sync := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/sync/default/component/documented", nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("sync: %d %s", resp.StatusCode, b)
		}
		return string(b)
	}
	// A sync that joins the ingestion's build while it finishes may report
	// that build's update; the next one has nothing new.
	sync()
	if out := sync(); !strings.Contains(out, "event: finish\ndata: {\"updated\":false}") {
		t.Fatalf("sync of an unchanged source: %s", out)
	}
	write("docs/index.md", "# Documented\n\nSecond words.\n")
	// Pages enough for the build to take a while: the sync streams its
	// log as it goes (each page's "rendering" line), then finishes.
	code := strings.Repeat("```go\nfunc f(a, b int) (int, error) { return a + b, nil }\n```\n\n", 40)
	for i := range 400 {
		write(fmt.Sprintf("docs/more/p%03d.md", i), fmt.Sprintf("# Page %d\n\n%s| a | b |\n|---|---|\n| %d | x |\n", i, code, i))
	}
	out := sync()
	if !strings.Contains(out, "event: finish\ndata: {\"updated\":true}") {
		t.Fatalf("sync after an edit: %s", out)
	}
	if live, fin := strings.Index(out, "data: \"rendering "), strings.Index(out, "event: finish"); live < 0 || live > fin {
		t.Fatalf("the sync streamed no progress before finishing: %.2000s", out)
	}
	if _, page := get("/static/docs/default/component/documented/"); !strings.Contains(page, "Second words.") {
		t.Fatalf("page after the sync: %s", page)
	}
	write("mkdocs.yml", "site_name: Documented\ndocs_dir: ../../\n")
	if out := sync(); !strings.Contains(out, "event: error\n") || !strings.Contains(out, "docs_dir") {
		t.Fatalf("sync of a hostile mkdocs.yml: %s", out)
	}
	if _, page := get("/static/docs/default/component/documented/"); !strings.Contains(page, "Second words.") {
		t.Fatalf("the last good site was lost: %s", page)
	}
	if _, st := get("/build/default/component/documented"); !strings.Contains(st, `"status":"failed"`) || !strings.Contains(st, "docs_dir") {
		t.Fatalf("build status: %s", st)
	}

	// A GET never forces a build, and starts at most the entity's budget
	// of them: past it, it only watches (nothing runs: it finishes at
	// once, and no build is attempted), and a POST is refused.
	if code, body := get("/sync/default/component/documented?force=true"); code != http.StatusBadRequest || !strings.Contains(body, "POST") {
		t.Fatalf("GET sync with force: %d %s", code, body)
	}
	watched := ""
	for range 10 {
		if out := sync(); strings.Contains(out, "no build started") {
			watched = out
			break
		}
	}
	if !strings.Contains(watched, "event: finish\ndata: {\"updated\":false}") {
		t.Fatalf("GET syncs past the entity's budget still build: %s", watched)
	}
	_, before := get("/build/default/component/documented")
	if out := sync(); !strings.Contains(out, "no build started") {
		t.Fatalf("a GET past the budget: %s", out)
	}
	if _, after := get("/build/default/component/documented"); after != before {
		t.Fatalf("a GET past the budget built:\n%s\n%s", before, after)
	}
	resp, err := http.Post(base+"/sync/default/component/documented?force=true", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("POST sync past the budget: %d %s", resp.StatusCode, b)
	}
}
