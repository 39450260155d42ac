package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/internal/engine"
	"github.com/riggerdev/rigger/internal/pgtest"
	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/internal/testtools"
)

// The production topology, all on 127.0.0.1: the official Temporal server
// in its own process (PostgreSQL persistence and visibility, several
// history shards, client certificates required), PostgreSQL for rigger's
// store, rigger server replicas and rigger worker replicas of the default
// queue, built without the embedded Temporal server and connecting with
// --temporal-tls-*.
type cluster struct {
	// owner is the test that started the cluster: processes (re)started
	// by its subtests live as long as it does.
	owner    testing.TB
	temporal *testtools.Temporal
	// temporalDB is Temporal's PostgreSQL, store rigger's.
	temporalDB *pgtest.Server
	store      *pgtest.Server
	bin        string
	dir        string
	cfg        string
	env        []string
	token      string
	servers    []*proc
	workers    []*proc
}

// clusterToken is the service token (scope *) the cluster's rigger.yaml
// configures.
const clusterToken = "cluster-token-0123456789-abcdefghijklmnop"

// startCluster starts Temporal and PostgreSQL, then servers rigger server
// and workers rigger worker replicas with extraYAML appended to their
// shared rigger.yaml (e.g. catalog locations). It waits until every
// replica is ready.
func startCluster(t testing.TB, servers, workers int, extraYAML string) *cluster {
	t.Helper()
	needBinary(t)
	bin := nodevBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Temporal's database and rigger's are separate servers, as they
	// usually are in production: one can fail without the other.
	tpg := startPostgres(ctx, t)
	temporal := testtools.StartTemporal(t, testtools.TemporalOptions{PostgresAddr: tpg.Addr(), PostgresUser: "rigger"})
	registerSearchAttributes(ctx, t, temporal)
	rpg := startPostgres(ctx, t)
	admin, err := sql.Open("pgx", rpg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE rigger"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &cluster{owner: t, temporal: temporal, temporalDB: tpg, store: rpg, bin: bin, dir: dir, token: clusterToken}
	// Every replica shares the database, the keys and (for the default
	// queue's workers) the workspace root, as README's production section
	// asks.
	yaml := fmt.Sprintf(`database:
  driver: postgres
  url: %s
server:
  dataDir: %s
temporal:
  namespace: %s
scaffolder:
  runSigningKey: %s
  secretKey: %s
  workspaceRoot: %s
  # clusterTemplate's slow skeleton needs more than the default budget.
  limits: {renderTimeout: 5m, maxIterations: 100000000, maxOutputBytes: 536870912}
auth:
  serviceTokens:
    - name: cluster
      token: ${CLUSTER_TOKEN}
      scopes: ["*"]
`, rpg.DSN("rigger"), filepath.Join(dir, "data"), temporal.Namespace, testRunSigningKey, testRunSigningKey, filepath.Join(dir, "workspaces")) + extraYAML
	c.cfg = filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(c.cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c.env = cleanEnv("CLUSTER_TOKEN=" + clusterToken)
	for range workers {
		c.startWorker(t)
	}
	for range servers {
		c.startServer(t)
	}
	return c
}

// registerSearchAttributes registers rigger's search attributes the way
// rigger server does at start (engine.EnsureSearchAttributes, the operator
// API), and waits until the frontend accepts a workflow that sets them: a
// new mapping takes a namespace cache refresh to reach it, and a task
// created before then fails with 503 ("no mapping defined for search
// attribute").
func registerSearchAttributes(ctx context.Context, t testing.TB, tc *testtools.Temporal) {
	t.Helper()
	c, err := tc.Dial(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := engine.EnsureSearchAttributes(ctx, c, tc.Namespace, searchattr.Definitions()); err != nil {
		t.Fatal(err)
	}
	tplKey, userKey, statusKey := searchattr.Keys()
	for attempt := 1; ; attempt++ {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("search-attribute-probe-%d", attempt), TaskQueue: "probe",
			TypedSearchAttributes: temporal.NewSearchAttributes(tplKey.ValueSet("probe"), userKey.ValueSet("probe"), statusKey.ValueSet("probe")),
		}, "probe")
		if err == nil {
			if err := c.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "probe"); err != nil {
				t.Fatal(err)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("search attributes never usable: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startPostgres starts a throwaway PostgreSQL stopped when t ends.
func startPostgres(ctx context.Context, t testing.TB) *pgtest.Server {
	t.Helper()
	start := pgtest.Start
	if _, bench := t.(*testing.B); bench {
		start = pgtest.StartPeer // as every benchmark compared with the peer's
	}
	pg, err := start(ctx)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postgres (CI=true, so this fails): %v", err)
		}
		t.Skipf("LOUD SKIP: postgres: %v", err)
	}
	t.Cleanup(pg.Stop)
	return pg
}

// temporalArgs are the flags that connect a replica to the cluster's
// Temporal over mTLS.
func (c *cluster) temporalArgs() []string {
	tc := c.temporal
	return []string{"--config", c.cfg, "--temporal-address", tc.Address, "--temporal-namespace", tc.Namespace,
		"--temporal-tls", "--temporal-tls-ca", tc.CAFile, "--temporal-tls-cert", tc.CertFile,
		"--temporal-tls-key", tc.KeyFile, "--temporal-tls-server-name", tc.ServerName}
}

// startWorker starts one more rigger worker of the default queue.
func (c *cluster) startWorker(t testing.TB) *proc {
	t.Helper()
	return c.startWorkerOf(t, c.bin)
}

// startWorkerOf starts one more rigger worker of the default queue from
// the binary bin (another build of rigger).
func (c *cluster) startWorkerOf(t testing.TB, bin string) *proc {
	t.Helper()
	w := startBin(c.owner, bin, c.dir, c.env, append([]string{"worker", "--queue", "rigger-default"}, c.temporalArgs()...)...)
	w.waitStdout(t, "Rigger worker is ready", 90*time.Second)
	c.workers = append(c.workers, w)
	return w
}

// startServer starts one more rigger server on a free port.
func (c *cluster) startServer(t testing.TB) *proc {
	t.Helper()
	port := freePorts(t).api
	s := startBin(c.owner, c.bin, c.dir, c.env, append([]string{"server", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, c.temporalArgs()...)...)
	s.api = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.waitReady(t, 90*time.Second)
	c.servers = append(c.servers, s)
	return s
}

// waitTemplates waits until a server lists n templates (a worker ingested
// the catalog's locations).
func (c *cluster) waitTemplates(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got struct {
			TotalItems int `json:"totalItems"`
		}
		code := doJSONAs(t, c.token, "GET", c.servers[0].api+"/api/catalog/entities/by-query?filter=kind=template&limit=1", nil, &got)
		if code == http.StatusOK && got.TotalItems >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d templates after 60s (status %d), want %d", got.TotalItems, code, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// nodevBinary is rigger built without the embedded Temporal server, as
// production runs it: $RIGGER_NODEV_BIN (make builds it) or one build per
// test process into builds (removed by TestMain).
func nodevBinary(t testing.TB) string {
	t.Helper()
	return taggedBinary(t, "RIGGER_NODEV_BIN", "nodevserver")
}

// taggedBinary is rigger built with -tags tag: $env if set, else this test
// process's build of it (one per tag; a failed build fails every caller
// without building again).
func taggedBinary(t testing.TB, env, tag string) string {
	t.Helper()
	if bin := os.Getenv(env); bin != "" {
		return bin
	}
	taggedBuilds.mu.Lock()
	defer taggedBuilds.mu.Unlock()
	b, ok := taggedBuilds.of[tag]
	if !ok {
		b.bin, b.err = buildTagged(tag)
		if taggedBuilds.of == nil {
			taggedBuilds.of = map[string]taggedBuild{}
		}
		taggedBuilds.of[tag] = b
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

// buildTagged builds rigger with -tags tag into a temp dir of builds.
func buildTagged(tag string) (string, error) {
	dir, err := os.MkdirTemp("", "rigger-e2e-"+tag)
	if err != nil {
		return "", err
	}
	builds.add(dir)
	bin := filepath.Join(dir, "rigger-"+tag)
	if out, err := exec.Command("go", "build", "-tags", tag, "-o", bin, "../../cmd/rigger").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build rigger -tags %s: %v\n%s", tag, err, out)
	}
	return bin, nil
}

type taggedBuild struct {
	bin string
	err error
}

// taggedBuilds are the test process's builds of rigger by tag.
var taggedBuilds struct {
	mu sync.Mutex
	of map[string]taggedBuild
}

// clusterTemplate's step two renders a slow skeleton (seconds of CPU on
// the worker holding the task); steps one and three are quick.
const clusterTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: slow-middle
spec:
  owner: group:default/team-a
  type: service
  steps:
    - id: one
      name: One
      action: fs:write
      input: {path: one.txt, content: first}
    - id: two
      name: Render a slow skeleton
      action: fetch:template
      input: {url: ./skeleton, targetPath: app}
    - id: three
      name: Three
      action: debug:log
      input: {message: after the slow step, listWorkspace: true}
`

// writeClusterTemplate writes clusterTemplate with a skeleton of files
// files and returns the catalog location YAML to append to rigger.yaml.
func writeClusterTemplate(t *testing.T, files int) string {
	t.Helper()
	dir := t.TempDir()
	skel := filepath.Join(dir, "skeleton")
	if err := os.MkdirAll(skel, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range files {
		body := fmt.Sprintf("file %d\n{%% for i in range(5000) %%}${{ i }}{%% endfor %%}\n", i)
		if err := os.WriteFile(filepath.Join(skel, fmt.Sprintf("f%04d.txt", i)), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(clusterTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("catalog:\n  locations:\n    - {type: file, target: %s}\n", tpl)
}
