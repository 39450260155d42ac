package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/techdocs"
)

// docsServer is policyServer with built docs for svc-a and for team-b's
// sensitive secret-b.
func docsServer(t *testing.T) *Server {
	t.Helper()
	base, st := policyServer(t)
	sites := &techdocs.Sites{Store: st, Files: techdocs.Database{}}
	for _, name := range []string{"svc-a", "secret-b"} {
		meta := `{"site_name":"` + name + ` docs","nav":[]}`
		if err := sites.Publish(context.Background(), techdocs.Build{Ref: "component:default/" + name, SourceHash: "h",
			Files: map[string][]byte{techdocs.MetadataFile: []byte(meta), "index.html": []byte("<article>" + name + "</article>"),
				"guide/index.html": []byte("<article>guide</article>"), "img/logo.svg": []byte("<svg xmlns='http://www.w3.org/2000/svg'/>")},
			Log: []string{"rendered index.md"}}); err != nil {
			t.Fatal(err)
		}
	}
	d := base.deps
	d.Catalog.Docs = sites
	return New(d)
}

func TestTechDocsRoutes(t *testing.T) {
	srv := docsServer(t)
	get := func(user, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := loopbackRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Test-User", user)
		srv.engine.ServeHTTP(rec, req)
		return rec
	}
	t.Run("metadata", func(t *testing.T) {
		rec := get("alice", "/api/techdocs/metadata/techdocs/default/component/svc-a")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"site_name":"svc-a docs"`) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
	t.Run("pages by directory URL", func(t *testing.T) {
		for path, want := range map[string]string{"/": "<article>svc-a</article>", "/guide/": "<article>guide</article>", "/guide/index.html": "<article>guide</article>"} {
			rec := get("alice", "/api/techdocs/static/docs/default/component/svc-a"+path)
			if rec.Code != http.StatusOK || rec.Body.String() != want {
				t.Errorf("%q: %d %s", path, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("%q: content type %q", path, ct)
			}
		}
	})
	t.Run("files are confined by a sandboxing CSP", func(t *testing.T) {
		rec := get("alice", "/api/techdocs/static/docs/default/component/svc-a/img/logo.svg")
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/svg+xml" {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("CSP %q", csp)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Error("no nosniff")
		}
	})
	t.Run("paths that leave the site are refused", func(t *testing.T) {
		for _, p := range []string{"/guide/../../x", "/..%2f..%2fx", "/a%5cb", "/img/%00"} {
			rec := get("alice", "/api/techdocs/static/docs/default/component/svc-a"+p)
			if rec.Code != http.StatusBadRequest && rec.Code != http.StatusNotFound {
				t.Errorf("%q: %d %s", p, rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "<article>") {
				t.Errorf("%q served a page", p)
			}
		}
	})
	t.Run("a missing file is not found", func(t *testing.T) {
		rec := get("alice", "/api/techdocs/static/docs/default/component/svc-a/nope/")
		if rec.Code != http.StatusNotFound {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
	t.Run("a sensitive entity's docs are hidden like the entity", func(t *testing.T) {
		for _, p := range []string{"/api/techdocs/metadata/techdocs/default/component/secret-b", "/api/techdocs/static/docs/default/component/secret-b/",
			"/api/techdocs/metadata/entity/default/component/secret-b", "/api/techdocs/build/default/component/secret-b"} {
			rec := get("alice", p)
			if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "secret-b docs") || strings.Contains(rec.Body.String(), "<article>") {
				t.Errorf("alice %s: %d %s", p, rec.Code, rec.Body)
			}
			if rec := get("carol", p); rec.Code != http.StatusOK {
				t.Errorf("carol (platform team) %s: %d %s", p, rec.Code, rec.Body)
			}
		}
	})
	t.Run("the guest reads docs but cannot start builds", func(t *testing.T) {
		if rec := get("guest", "/api/techdocs/static/docs/default/component/svc-a/"); rec.Code != http.StatusOK {
			t.Errorf("guest read: %d %s", rec.Code, rec.Body)
		}
		if rec := get("guest", "/api/techdocs/sync/default/component/svc-a"); rec.Code != http.StatusUnauthorized {
			t.Errorf("guest sync: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("build status", func(t *testing.T) {
		var st docsBuildStatus
		if code := call(t, srv, "alice", http.MethodGet, "/api/techdocs/build/default/component/svc-a", "", &st); code != http.StatusOK {
			t.Fatalf("%d", code)
		}
		if st.Status != "ok" || st.Storage != "database" || len(st.Log) != 1 || time.Since(st.BuiltAt) > time.Minute {
			t.Fatalf("%+v", st)
		}
	})
	t.Run("never built", func(t *testing.T) {
		var body string
		code := call(t, srv, "alice", http.MethodGet, "/api/techdocs/metadata/techdocs/default/component/svc-a2", "", &body)
		if code != http.StatusNotFound || !strings.Contains(body, "no backstage.io/techdocs-ref annotation") {
			t.Fatalf("%d %s", code, body)
		}
	})
}

// A failed build keeps the last good site: it is still served, and the
// build status says what failed.
func TestTechDocsFailedBuildKeepsSite(t *testing.T) {
	srv := docsServer(t)
	sites := srv.deps.Catalog.Docs.(*techdocs.Sites)
	if err := sites.Store.RecordDocsFailure(context.Background(), "component:default/svc-a", "mkdocs.yml: docs_dir \"../..\" leaves the source", []string{"refused docs_dir"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var page string
	rec := httptest.NewRecorder()
	req := loopbackRequest(http.MethodGet, "/api/techdocs/static/docs/default/component/svc-a/", nil)
	req.Header.Set("X-Test-User", "alice")
	srv.engine.ServeHTTP(rec, req)
	if page = rec.Body.String(); rec.Code != http.StatusOK || page != "<article>svc-a</article>" {
		t.Fatalf("last good page: %d %s", rec.Code, page)
	}
	var st docsBuildStatus
	call(t, srv, "alice", http.MethodGet, "/api/techdocs/build/default/component/svc-a", "", &st)
	if st.Status != "failed" || !strings.Contains(st.LastError, "docs_dir") || st.BuiltAt.IsZero() {
		t.Fatalf("%+v", st)
	}
}

// An external builder publishes a docs source; the server renders it again
// (a page's script never reaches the site) and refuses what it cannot take.
func TestTechDocsPublish(t *testing.T) {
	local := docsServer(t)
	d := local.deps
	d.Catalog.DocsExternal = true
	srv := New(d)
	put := func(user, entity string, files map[string]string) (int, string) {
		t.Helper()
		enc := map[string][]byte{}
		for k, v := range files {
			enc[k] = []byte(v)
		}
		body, _ := json.Marshal(map[string]any{"files": enc})
		rec := httptest.NewRecorder()
		req := loopbackRequest(http.MethodPut, "/api/techdocs/publish/default/component/"+entity, strings.NewReader(string(body)))
		req.Header.Set("X-Test-User", user)
		req.Header.Set("Content-Type", "application/json")
		srv.engine.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	get := func(user, path string) string {
		rec := httptest.NewRecorder()
		req := loopbackRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Test-User", user)
		srv.engine.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	code, out := put("alice", "svc-a", map[string]string{
		"mkdocs.yml":    "site_name: Published\nnav:\n  - Home: index.md\n  - Guide: guide.md\n",
		"docs/index.md": "# Published\n\nHello <script>alert(1)</script> world.\n",
		"docs/guide.md": "# Guide\n",
	})
	if code != http.StatusOK || !strings.Contains(out, `"pages":["index.md","guide.md"]`) {
		t.Fatalf("publish: %d %s", code, out)
	}
	page := get("alice", "/api/techdocs/static/docs/default/component/svc-a/")
	if !strings.Contains(page, "Hello") || strings.Contains(page, "<script") || strings.Contains(page, "alert(1)</script>") {
		t.Fatalf("published page: %s", page)
	}
	if meta := get("alice", "/api/techdocs/metadata/techdocs/default/component/svc-a"); !strings.Contains(meta, `"site_name":"Published"`) {
		t.Fatalf("metadata: %s", meta)
	}
	for name, files := range map[string]map[string]string{
		"a path out of the source": {"mkdocs.yml": "site_name: x\n", "../../etc/cron.d/x": "boom"},
		"an absolute path":         {"mkdocs.yml": "site_name: x\n", "/tmp/x": "boom"},
		"docs_dir leaving":         {"mkdocs.yml": "site_name: x\ndocs_dir: ../../\n", "docs/index.md": "# x\n"},
		"nothing":                  {},
	} {
		code, out := put("alice", "svc-a", files)
		if code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, code, out)
		}
	}
	if page := get("alice", "/api/techdocs/static/docs/default/component/svc-a/"); !strings.Contains(page, "Hello") {
		t.Fatalf("a refused publish replaced the site: %s", page)
	}
	// Another team cannot replace team-a's docs (review: any signed-in
	// user could); and a server that builds docs itself takes none.
	if code, out := put("carol", "svc-a", map[string]string{"mkdocs.yml": "site_name: x\n", "docs/index.md": "# x\n"}); code != http.StatusForbidden {
		t.Errorf("carol publishing team-a's docs: %d %s", code, out)
	}
	rec := httptest.NewRecorder()
	req := loopbackRequest(http.MethodPut, "/api/techdocs/publish/default/component/svc-a", strings.NewReader(`{"files":{"mkdocs.yml":"c2l0ZV9uYW1lOiB4Cg=="}}`))
	req.Header.Set("X-Test-User", "alice")
	req.Header.Set("Content-Type", "application/json")
	local.engine.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "docs.builder: external") {
		t.Errorf("publish with docs.builder local: %d %s", rec.Code, rec.Body)
	}
	if code, _ := put("alice", "secret-b", map[string]string{"mkdocs.yml": "site_name: x\n", "docs/index.md": "# x\n"}); code != http.StatusNotFound {
		t.Errorf("alice publishing team-b's sensitive docs: %d", code)
	}
	if code, _ := put("guest", "svc-a", map[string]string{"mkdocs.yml": "site_name: x\n", "docs/index.md": "# x\n"}); code != http.StatusUnauthorized {
		t.Errorf("guest publishing: %d", code)
	}
}

// TestTechDocsSyncBudget: starting a docs build spends a caller's own
// budget for the entity before the entity's shared one, so one reader
// cannot keep it empty for everyone; a request for an entity without docs
// spends nothing; force=true needs catalog.entity.refresh, not only read.
// (docs.builder: external, so a sync starts no workflow: the budget and
// the checks before it are what is tested.)
func TestTechDocsSyncBudget(t *testing.T) {
	base := docsServer(t)
	d := base.deps
	d.Catalog.DocsExternal = true
	users := fakeSignIn{}
	for k, v := range d.Auth.(fakeSignIn) {
		users[k] = v
	}
	users["bob"] = auth.Identity{Ref: "user:default/bob", Ent: []string{"user:default/bob"}}
	users["ci"] = auth.Identity{Ref: "service:ci", Service: true, Scopes: []string{"catalog.read"}}
	d.Auth = users
	srv := New(d)
	sync := func(user, method, entity, query string) (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		req := loopbackRequest(method, "/api/techdocs/sync/default/component/"+entity+query, nil)
		req.Header.Set("X-Test-User", user)
		srv.engine.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}

	for i := range docsSyncCallerBurst + 1 { // (the caller stays under fetchBurst)
		if code, body := sync("alice", http.MethodPost, "svc-a2", ""); code != http.StatusBadRequest || !strings.Contains(body, "no backstage.io/techdocs-ref annotation") {
			t.Fatalf("POST %d for an entity without docs: %d %s; want 400 saying so, never 429 (it starts nothing)", i+1, code, body)
		}
	}
	srv = New(d) // alice's requests stay under fetchBurst
	for i := range docsSyncCallerBurst {
		if code, body := sync("alice", http.MethodPost, "svc-a", ""); code != http.StatusOK {
			t.Fatalf("alice's POST %d within her budget: %d %s", i+1, code, body)
		}
	}
	code, body := sync("alice", http.MethodPost, "svc-a", "")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "docs builds are rate limited per caller and entity") {
		t.Fatalf("alice past her own budget: %d %s; want 429 per caller and entity", code, body)
	}
	if code, body := sync("alice", http.MethodGet, "svc-a", ""); code != http.StatusOK || !strings.Contains(body, "no build started") {
		t.Errorf("alice's GET past her budget: %d %s; want the last build's site, nothing started", code, body)
	}
	if code, body := sync("bob", http.MethodPost, "svc-a", ""); code != http.StatusOK {
		t.Errorf("bob after alice spent her budget: %d %s; want his own build", code, body)
	}

	// The permission checks on a fresh server: the budgets above are
	// spent.
	srv = New(d)
	code, body = sync("ci", http.MethodPost, "svc-a", "?force=true")
	if code != http.StatusForbidden || !strings.Contains(body, "needs catalog.entity.refresh") {
		t.Errorf("force=true by a read-only service token: %d %s; want 403 naming catalog.entity.refresh", code, body)
	}
	if code, body := sync("ci", http.MethodPost, "svc-a", ""); code != http.StatusOK {
		t.Errorf("an unforced sync by a read-only service token: %d %s", code, body)
	}
	if code, body := sync("carol", http.MethodPost, "svc-a", "?force=true"); code != http.StatusOK {
		t.Errorf("force=true by carol, who may refresh: %d %s", code, body)
	}
}
