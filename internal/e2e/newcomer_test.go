package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the repository this test runs in (internal/e2e is two levels
// down).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startDevWith starts `rigger dev` in dir with extra arguments on fresh
// ports and waits for /readyz.
func startDevWith(t testing.TB, dir string, env []string, extra ...string) *proc {
	t.Helper()
	ps := freePorts(t)
	args := append([]string{"dev",
		"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api),
		"--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend),
		"--temporal-ui-listen", fmt.Sprintf("127.0.0.1:%d", ps.ui),
	}, extra...)
	p := start(t, dir, env, args...)
	p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
	p.waitReady(t, 90*time.Second)
	return p
}

// waitStatus polls url until it answers want.
func waitStatus(t testing.TB, token, url string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code := doJSONAs(t, token, "GET", url, nil, nil)
		if code == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: status %d, want %d within %s", url, code, want, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDevFromAnywhere: `rigger dev` started in an empty directory with
// --config pointing into the repository loads the example templates (paths
// in the file resolve against its folder); without a config it says that
// the default templates glob matches nothing instead of staying silent.
func TestDevFromAnywhere(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	p := startDevWith(t, dir, cleanEnv(), "--config", filepath.Join(repoRoot(t), "examples", "rigger.yaml"), "--data-dir", filepath.Join(dir, "data"))
	waitStatus(t, "", p.api+"/api/catalog/entities/by-name/template/default/go-service", http.StatusOK, 60*time.Second)
	if strings.Contains(p.stdout.String(), "warning:") {
		t.Errorf("warnings with the examples' config:\n%s", p.stdout.String())
	}

	bare := startDevWith(t, t.TempDir(), cleanEnv(), "--data-dir", filepath.Join(dir, "data2"))
	want := `warning: scaffolder.templates[0]: "examples/templates/*/template.yaml" matches no file, so no template is loaded from it (a default or flag value, so relative to the current directory)`
	if !strings.Contains(bare.stdout.String(), want) {
		t.Errorf("dev without templates: stdout lacks\n%s\ngot:\n%s", want, bare.stdout.String())
	}
}

// TestServerWorkerOneDataDir: rigger server and rigger worker started in
// different directories share the catalog through one --data-dir (and
// RIGGER_DATA_DIR); a server on another store says its catalog is empty in
// /readyz.
func TestServerWorkerOneDataDir(t *testing.T) {
	needBinary(t)
	_, addr := startTemporalOnly(t, t.TempDir())
	shared := t.TempDir()
	catalogFile := filepath.Join(shared, "catalog-info.yaml")
	if err := os.WriteFile(catalogFile, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: billing}\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(shared, "rigger.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("catalog:\n  locations:\n    - {type: file, target: %s}\nauth:\n  serviceTokens:\n    - {name: sw, token: %s, scopes: [\"*\"]}\n", catalogFile, benchToken)), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(shared, "data")
	env := cleanEnv("RIGGER_CONFIG="+cfg, "RIGGER_TEMPORAL_ADDRESS="+addr)

	// A server alone on its own store: ready, but it says why it is empty.
	lonelyPort := freePorts(t).api
	lonely := start(t, t.TempDir(), env, "server", "--listen", fmt.Sprintf("127.0.0.1:%d", lonelyPort))
	lonely.api = fmt.Sprintf("http://127.0.0.1:%d", lonelyPort)
	lonely.waitReady(t, 60*time.Second)
	var ready struct{ Checks map[string]string }
	if code := doJSON(t, "GET", lonely.api+"/readyz", nil, &ready); code != http.StatusOK || !strings.Contains(ready.Checks["catalog"], "the catalog is empty") {
		t.Errorf("readyz of a server without a worker: %d %+v", code, ready)
	}
	if !strings.Contains(lonely.stdout.String(), "Connecting to Temporal at "+addr) {
		t.Errorf("server did not say where it connects:\n%s", lonely.stdout.String())
	}

	w := start(t, t.TempDir(), append(env, "RIGGER_DATA_DIR="+dataDir), "worker", "--queue", "rigger-default")
	w.waitStdout(t, "Rigger worker is ready", 60*time.Second)
	api := freePorts(t).api
	s := start(t, t.TempDir(), env, "server", "--data-dir", dataDir, "--listen", fmt.Sprintf("127.0.0.1:%d", api))
	s.api = fmt.Sprintf("http://127.0.0.1:%d", api)
	s.waitReady(t, 60*time.Second)
	waitStatus(t, benchToken, s.api+"/api/catalog/entities/by-name/component/default/billing", http.StatusOK, 60*time.Second)
	if code := doJSON(t, "GET", s.api+"/readyz", nil, &ready); code != http.StatusOK || ready.Checks["catalog"] != "ok" {
		t.Errorf("readyz of a server sharing the worker's store: %d %+v", code, ready)
	}
}

// TestRunWaitInterruptAndOutput: SIGINT ends `rigger run --wait` within a
// second, printing the task id and how to follow it; a run that completes
// prints its output; --set converts a boolean parameter.
func TestRunWaitInterruptAndOutput(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	tpl := filepath.Join(dir, "waiter", "template.yaml")
	if err := os.MkdirAll(filepath.Dir(tpl), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tpl, []byte(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: waiter}
spec:
  type: service
  parameters:
    properties:
      slow: {type: boolean}
  steps:
    - {id: hello, name: Hello, action: debug:log, input: {message: started}}
    - {id: nap, name: Nap, if: '${{ parameters.slow }}', action: debug:wait, input: {minutes: 10}}
  output:
    links:
      - {title: Repository, url: 'https://example.com/repo'}
    text:
      - {title: Next, content: 'run make'}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rigger.yaml"), []byte("scaffolder:\n  templates: [waiter/template.yaml]\nauth:\n  serviceTokens:\n    - {name: ci, token: "+testToken+", scopes: [catalog.read]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dev := startDevWith(t, dir, cleanEnv(), "--data-dir", filepath.Join(dir, "data"))
	waitStatus(t, "", dev.api+"/api/catalog/entities/by-name/template/default/waiter", http.StatusOK, 60*time.Second)
	// In dev a configured token is checked: a wrong one is 401; no token
	// is the guest.
	if code := doJSONAs(t, "wrong-token-0123456789abcdefghijklmnop", "GET", dev.api+"/api/catalog/entities", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("dev with a wrong token: %d, want 401", code)
	}
	if code := doJSONAs(t, testToken, "GET", dev.api+"/api/catalog/entities", nil, nil); code != http.StatusOK {
		t.Errorf("dev with the configured token: %d, want 200", code)
	}

	// The server comes from rigger.yaml's server.baseUrl.
	if err := os.WriteFile(filepath.Join(dir, "client.yaml"), []byte("server:\n  baseUrl: "+dev.api+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fast := start(t, dir, cleanEnv(), "run", "template:default/waiter", "--config", filepath.Join(dir, "client.yaml"), "--set", "slow=false", "--wait")
	if code := fast.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("fast run: exit %d\n%s\n%s", code, fast.stdout.String(), fast.stderr.String())
	}
	for _, want := range []string{"[hello] started", "completed", "output:", "Repository: https://example.com/repo", "Next:", "run make"} {
		if !strings.Contains(fast.stdout.String(), want) {
			t.Errorf("run --wait output lacks %q:\n%s", want, fast.stdout.String())
		}
	}

	slow := start(t, dir, cleanEnv("RIGGER_SERVER="+dev.api), "run", "template:default/waiter", "--set", "slow=true", "--wait")
	slow.waitStdout(t, "[hello] started", 60*time.Second)
	if err := slow.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := slow.wait(t, time.Second)
	id := strings.SplitN(strings.TrimPrefix(slow.stdout.String(), "task "), " started", 2)[0]
	if code == 0 || !strings.Contains(slow.stderr.String(), "rigger task follow "+id) {
		t.Errorf("after SIGINT: exit %d, stderr %s", code, slow.stderr.String())
	}
	// The task goes on.
	var task struct{ Status string }
	if c := doJSON(t, "GET", dev.api+"/api/scaffolder/v2/tasks/"+id, nil, &task); c != http.StatusOK || task.Status == "cancelled" || task.Status == "failed" {
		t.Errorf("task %s after the CLI was interrupted: %d %+v", id, c, task)
	}
}

// TestDevWithFullExampleConfig: the complete example configuration, secrets
// from the environment, passes every check of `rigger dev` (it used to list
// task queues this rigger does not serve, refused only after config check
// had passed) and gets as far as connecting to its Temporal cluster, which
// this offline test cannot reach: it stops at the cluster's CA file.
func TestDevWithFullExampleConfig(t *testing.T) {
	needBinary(t)
	full := filepath.Join(repoRoot(t), "internal", "config", "testdata", "full.yaml")
	env := cleanEnv("TEMPORAL_API_KEY=k", "PGPASSWORD=p", "GITHUB_OAUTH_CLIENT_SECRET=s", "OIDC_CLIENT_SECRET=s",
		"SESSION_SECRET=0123456789abcdef0123456789abcdef", "CI_TOKEN=0123456789abcdef0123456789abcdef",
		"GITHUB_APP_PRIVATE_KEY=-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----", "GITHUB_WEBHOOK_SECRET=github-webhook-secret-0123456789",
		"GITHUB_APP_CLIENT_SECRET=s", "GHE_TOKEN=t", "GHE_WEBHOOK_SECRET=ghe-webhook-secret-0123456789", "AWS_SECRET_ACCESS_KEY=s", "RIGGER_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "RIGGER_RUN_SIGNING_KEY="+testRunSigningKey)
	env = append(env, "ALERT_WEBHOOK_URL=https://hooks.example.com/services/x", "ALERT_WEBHOOK_TOKEN=t")
	check := start(t, t.TempDir(), env, "config", "check", "--config", full)
	if code := check.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("config check of full.yaml: exit %d\n%s", code, check.stderr.String())
	}
	p := start(t, t.TempDir(), env, "dev", "--config", full)
	if code := p.wait(t, 60*time.Second); code == 0 {
		t.Fatal("dev with full.yaml offline: exit 0")
	}
	if !strings.Contains(p.stdout.String(), "Connecting to Temporal at rigger.a1b2c.tmprl.cloud:7233 (namespace rigger.a1b2c)") ||
		!strings.Contains(p.stderr.String(), "temporal-ca.pem") || strings.Contains(p.stderr.String(), "task queue") {
		t.Errorf("dev with full.yaml did not reach the Temporal connection:\nstdout %s\nstderr %s", p.stdout.String(), tail(p.stderr.String(), 4000))
	}
	if !strings.Contains(p.stdout.String(), `warning: temporal.tls.caFile: "/etc/rigger/tls/temporal-ca.pem" matches no file`) {
		t.Errorf("no warning about the missing CA file:\n%s", p.stdout.String())
	}
}

// TestStaticLocationsFollowConfig: a static location removed from
// rigger.yaml is removed with its entities at the next start (orphaned
// instead with orphanStrategy keep), and a changed catalog.refreshInterval
// applies to a location registered before.
func TestStaticLocationsFollowConfig(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	component := func(name string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: " + name + "}\nspec: {type: service, lifecycle: production, owner: team-a}\n"
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", component("svc-a"))
	write("b.yaml", component("svc-b"))
	write("c.yaml", component("svc-c"))
	data := filepath.Join(dir, "data")
	run := func(cfg string) *proc {
		t.Helper()
		write("rigger.yaml", cfg)
		return startDevWith(t, dir, cleanEnv(), "--data-dir", data)
	}
	stop := func(p *proc) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("dev exit %d after SIGTERM", code)
		}
	}
	byName := func(p *proc, name string) string {
		return p.api + "/api/catalog/entities/by-name/component/default/" + name
	}

	p := run("catalog:\n  refreshInterval: 1h\n  locations:\n    - {type: file, target: a.yaml}\n    - {type: file, target: b.yaml}\n    - {type: file, target: c.yaml}\n")
	for _, n := range []string{"svc-a", "svc-b", "svc-c"} {
		waitStatus(t, "", byName(p, n), http.StatusOK, 60*time.Second)
	}
	stop(p)

	// b.yaml leaves the configuration; the interval becomes 1s.
	p = run("catalog:\n  refreshInterval: 1s\n  locations:\n    - {type: file, target: a.yaml}\n    - {type: file, target: c.yaml}\n")
	waitStatus(t, "", byName(p, "svc-b"), http.StatusNotFound, 30*time.Second)
	var locs []struct{ Data struct{ Target string } }
	if code := doJSON(t, "GET", p.api+"/api/catalog/locations", nil, &locs); code != http.StatusOK {
		t.Fatalf("locations: %d", code)
	}
	for _, l := range locs {
		if strings.HasSuffix(l.Data.Target, "b.yaml") {
			t.Errorf("the removed location is still registered: %+v", locs)
		}
	}
	// The new interval applies to a.yaml, registered under the old one: a
	// change to the file shows up without any signal.
	write("a.yaml", component("svc-a")+"---\n"+component("svc-a2"))
	waitStatus(t, "", byName(p, "svc-a2"), http.StatusOK, 30*time.Second)
	stop(p)

	// With orphanStrategy keep, c.yaml's entity stays, marked orphaned.
	p = run("catalog:\n  orphanStrategy: keep\n  locations:\n    - {type: file, target: a.yaml}\n")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var e struct {
			Metadata struct{ Annotations map[string]string }
		}
		if code := doJSON(t, "GET", byName(p, "svc-c"), nil, &e); code == http.StatusOK && e.Metadata.Annotations["backstage.io/orphan"] == "true" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("svc-c was not kept as an orphan after its location left the configuration")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCatalogImportFailsClean: a failed `rigger catalog import` leaves no
// location registered; a directory means its catalog-info.yaml (or fails
// clearly); importing again needs --replace.
func TestCatalogImportFailsClean(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	dev := startDevWith(t, t.TempDir(), cleanEnv(), "--data-dir", filepath.Join(dir, "data"))
	env := cleanEnv("RIGGER_SERVER=" + dev.api)
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\nspec: {type: service, lifecycle: production}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svcDir := filepath.Join(dir, "svc")
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(svcDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(svcDir, "catalog-info.yaml"), []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: good}\nspec: {type: service, lifecycle: production, owner: team-a}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	registered := func() []string {
		var locs []struct{ Data struct{ Target string } }
		if code := doJSON(t, "GET", dev.api+"/api/catalog/locations", nil, &locs); code != http.StatusOK {
			t.Fatalf("locations: %d", code)
		}
		var out []string
		for _, l := range locs {
			out = append(out, l.Data.Target)
		}
		return out
	}
	before := len(registered())

	p := start(t, dir, env, "catalog", "import", bad)
	if code := p.wait(t, 60*time.Second); code != 1 || !strings.Contains(p.stderr.String(), "spec.owner") || !strings.Contains(p.stderr.String(), "nothing stays registered") {
		t.Errorf("import of a bad file: exit %d\n%s", code, p.stderr.String())
	}
	if got := registered(); len(got) != before {
		t.Errorf("a failed import left a location: %v", got)
	}

	p = start(t, dir, env, "catalog", "import", filepath.Join(dir, "empty"))
	if code := p.wait(t, 30*time.Second); code != 1 || !strings.Contains(p.stderr.String(), "is a directory without a catalog-info.yaml") {
		t.Errorf("import of a directory without catalog-info.yaml: exit %d\n%s", code, p.stderr.String())
	}

	p = start(t, dir, env, "catalog", "import", svcDir)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("import of a directory: exit %d\n%s%s", code, p.stdout.String(), p.stderr.String())
	}
	waitStatus(t, "", dev.api+"/api/catalog/entities/by-name/component/default/good", http.StatusOK, 30*time.Second)

	p = start(t, dir, env, "catalog", "import", svcDir)
	if code := p.wait(t, 30*time.Second); code != 1 || !strings.Contains(p.stderr.String(), "--replace") {
		t.Errorf("import twice: exit %d\n%s", code, p.stderr.String())
	}
	p = start(t, dir, env, "catalog", "import", "--replace", svcDir)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Errorf("import --replace: exit %d\n%s%s", code, p.stdout.String(), p.stderr.String())
	}
	if got := registered(); len(got) != before+1 {
		t.Errorf("after --replace: %v", got)
	}
}

// TestWorkspaceDownload: the creator of a finished task (and a
// scaffolder.admin token) downloads its workspace as a .tar.gz; another
// user is told it does not exist. rigger server serves it because it shares
// the worker's data directory (and so scaffolder.workspaceRoot). `rigger run
// --wait --download DIR` unpacks it.
func TestWorkspaceDownload(t *testing.T) {
	needBinary(t)
	_, addr := startTemporalOnly(t, t.TempDir())
	dir := t.TempDir()
	tpl := filepath.Join(dir, "writer", "template.yaml")
	if err := os.MkdirAll(filepath.Dir(tpl), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tpl, []byte(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: writer}
spec:
  type: service
  parameters: {properties: {name: {type: string}}}
  steps:
    - {id: w, name: Write, action: fs:write, input: {path: '${{ parameters.name }}/README.md', content: '# ${{ parameters.name }}'}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	const creator, other, admin = "creator-token-0123456789abcdefghijkl", "other-token-0123456789abcdefghijklmn", "admin-token-0123456789abcdefghijklmn"
	cfg := filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(cfg, []byte(`scaffolder:
  templates: [writer/template.yaml]
  runSigningKey: `+testRunSigningKey+`
auth:
  serviceTokens:
    - {name: creator, token: `+creator+`, scopes: [scaffolder.run, catalog.read]}
    - {name: other, token: `+other+`, scopes: [scaffolder.run, catalog.read]}
    - {name: admin, token: `+admin+`, scopes: [scaffolder.admin, scaffolder.read]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("RIGGER_CONFIG="+cfg, "RIGGER_TEMPORAL_ADDRESS="+addr, "RIGGER_DATA_DIR="+filepath.Join(dir, "data"))
	w := start(t, t.TempDir(), env, "worker", "--queue", "rigger-default")
	w.waitStdout(t, "Rigger worker is ready", 60*time.Second)
	port := freePorts(t).api
	s := start(t, t.TempDir(), env, "server", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	s.api = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.waitReady(t, 60*time.Second)
	waitStatus(t, creator, s.api+"/api/catalog/entities/by-name/template/default/writer", http.StatusOK, 60*time.Second)

	out := filepath.Join(dir, "out")
	run := start(t, dir, cleanEnv("RIGGER_SERVER="+s.api, "RIGGER_TOKEN="+creator), "run", "template:default/writer", "--set", "name=svc", "--wait", "--download", out)
	if code := run.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("run --download: exit %d\n%s\n%s", code, run.stdout.String(), run.stderr.String())
	}
	got, err := os.ReadFile(filepath.Join(out, "svc", "README.md"))
	if err != nil || string(got) != "# svc" {
		t.Errorf("downloaded README: %q %v", got, err)
	}
	id := strings.SplitN(strings.TrimPrefix(run.stdout.String(), "task "), " started", 2)[0]
	url := s.api + "/api/scaffolder/v2/tasks/" + id + "/workspace"
	for _, c := range []struct {
		name, token string
		want        int
	}{{"creator", creator, http.StatusOK}, {"admin", admin, http.StatusOK}, {"other user", other, http.StatusNotFound}} {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want || (c.want == http.StatusOK && resp.Header.Get("Content-Type") != "application/gzip") {
			t.Errorf("%s: workspace download %d %s, want %d", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), c.want)
		}
	}
}

// TestConnectingToTemporalIsVisible: a worker whose Temporal is not up says
// where it connects at once and that it is retrying, instead of waiting in
// silence.
func TestConnectingToTemporalIsVisible(t *testing.T) {
	needBinary(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePorts(t).frontend) // nothing listens
	p := start(t, t.TempDir(), cleanEnv(), "worker", "--queue", "rigger-default", "--temporal-address", addr)
	p.waitStdout(t, "Connecting to Temporal at "+addr+" (namespace default)...", 10*time.Second)
	p.waitStdout(t, "still connecting to Temporal at "+addr+" after", 20*time.Second)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 20*time.Second)
}
