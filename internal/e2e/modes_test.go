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

const testToken = "test-token-0123456789-abcdefghijklmnop"

// TestServerAndWorkerAgainstExternalTemporal runs `rigger server` and
// `rigger worker` against the Temporal server of a running `rigger dev`, the
// way production runs them against a cluster.
func TestServerAndWorkerAgainstExternalTemporal(t *testing.T) {
	needBinary(t)
	ps := freePorts(t)
	dev := startDev(t, t.TempDir(), ps)
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", ps.frontend)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(cfgPath, []byte("auth:\n  serviceTokens:\n    - name: ci\n      token: ${CI_TOKEN}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("ServerNeedsAuth", func(t *testing.T) {
		// In a directory without rigger.yaml: no configuration at all.
		p := start(t, t.TempDir(), cleanEnv(), "server", "--temporal-address", temporalAddr, "--listen", "127.0.0.1:0")
		if code := p.wait(t, 30*time.Second); code == 0 || !strings.Contains(p.stderr.String(), "auth.serviceTokens") {
			t.Fatalf("server without auth: exit %d, stderr %s", code, p.stderr.String())
		}
	})
	t.Run("ServerNeedsTemporalAddress", func(t *testing.T) {
		p := start(t, dir, cleanEnv("CI_TOKEN="+testToken), "server", "--config", cfgPath, "--listen", "127.0.0.1:0")
		if code := p.wait(t, 30*time.Second); code == 0 || !strings.Contains(p.stderr.String(), "needs temporal.address") {
			t.Fatalf("server without temporal address: exit %d, stderr %s", code, p.stderr.String())
		}
	})
	t.Run("Server", func(t *testing.T) {
		api := freePorts(t).api
		// The address comes from the environment, as in a container.
		p := start(t, dir, cleanEnv("CI_TOKEN="+testToken, "RIGGER_TEMPORAL_ADDRESS="+temporalAddr, "RIGGER_CONFIG="+cfgPath),
			"server", "--listen", fmt.Sprintf("127.0.0.1:%d", api))
		p.api = fmt.Sprintf("http://127.0.0.1:%d", api)
		p.waitReady(t, 60*time.Second)
		// Dev-only routes do not exist on a server.
		if code := doJSON(t, "POST", p.api+"/api/dev/hello", map[string]any{}, nil); code != http.StatusNotFound {
			t.Errorf("dev route on server: status %d, want 404", code)
		}
		if strings.Contains(p.stderr.String(), testToken) {
			t.Error("server logged its service token")
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 20*time.Second); code != 0 {
			t.Errorf("server exit %d after SIGTERM", code)
		}
	})
	t.Run("Worker", func(t *testing.T) {
		// dir holds rigger.yaml, which every command reads when no other
		// file is named: its token comes from the environment.
		p := start(t, dir, cleanEnv("CI_TOKEN="+testToken), "worker", "--queue", "rigger-default", "--temporal-address", temporalAddr)
		p.waitStdout(t, "Rigger worker is ready", 30*time.Second)
		// It serves the queue: a hello run through dev's API completes even
		// with two workers polling.
		var r helloResp
		if code := doJSON(t, "POST", dev.api+"/api/dev/hello", map[string]any{"name": "both"}, &r); code != http.StatusOK || r.Status != "completed" {
			t.Errorf("hello with an extra worker: %d %+v", code, r)
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 20*time.Second); code != 0 {
			t.Errorf("worker exit %d after SIGTERM", code)
		}
	})
	t.Run("WorkerNeedsQueue", func(t *testing.T) {
		p := start(t, dir, cleanEnv("CI_TOKEN="+testToken), "worker", "--temporal-address", temporalAddr)
		if code := p.wait(t, 20*time.Second); code != 2 || !strings.Contains(p.stderr.String(), "--queue is required") {
			t.Errorf("worker without queue: exit %d, %s", code, p.stderr.String())
		}
	})
}

// TestServerWorkerCatalog runs the production shape end to end: Temporal
// alone (rigger dev --temporal-only), then rigger server and rigger worker as
// separate processes sharing one rigger.yaml and store. The worker reads the
// static location; the server, which runs no workers, serves what it wrote.
func TestServerWorkerCatalog(t *testing.T) {
	needBinary(t)
	temporal, addr := startTemporalOnly(t, t.TempDir())
	if out := temporal.stdout.String(); !strings.Contains(out, "no rigger API or workers") {
		t.Errorf("temporal-only banner: %q", out)
	}
	dir := t.TempDir()
	catalogFile := filepath.Join(dir, "catalog-info.yaml")
	if err := os.WriteFile(catalogFile, []byte(`apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: billing}
spec: {type: service, lifecycle: production, owner: team-a}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	sw := startServerWorker(t, riggerBin, addr, fmt.Sprintf("server:\n  dataDir: %s\ncatalog:\n  locations:\n    - {type: file, target: %s}\n",
		filepath.Join(dir, "data"), catalogFile))
	entities := sw.server.api + "/api/catalog/entities/by-name/component/default/billing"
	if code := doJSON(t, "GET", entities, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("by-name without a token: status %d, want 401", code)
	}
	var got struct {
		Metadata  struct{ Name string }
		Relations []struct{ Type, TargetRef string }
	}
	deadline := time.Now().Add(60 * time.Second)
	for doJSONAs(t, sw.token, "GET", entities, nil, &got) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("billing never appeared; worker stderr:\n%s", tail(sw.worker.stderr.String(), 8000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got.Relations) != 1 || got.Relations[0].Type != "ownedBy" || got.Relations[0].TargetRef != "group:default/team-a" {
		t.Errorf("billing relations: %+v", got.Relations)
	}
	if n := countLogs(sw.worker.stderr.String(), map[string]any{"msg": "catalog location refreshed"}); n == 0 {
		t.Error("the worker logged no refresh")
	}
	if n := countLogs(sw.server.stderr.String(), map[string]any{"msg": "catalog location refreshed"}); n != 0 {
		t.Errorf("the server refreshed a location itself (%d times): it runs no workers", n)
	}
	// File locations are configured, never registered, outside dev.
	var apiErr struct{ Error struct{ Message string } }
	if code := doJSONAs(t, sw.token, "POST", sw.server.api+"/api/catalog/locations", map[string]any{"type": "file", "target": catalogFile}, &apiErr); code != http.StatusBadRequest || !strings.Contains(apiErr.Error.Message, "rigger.yaml") {
		t.Errorf("register a file location on a server: %d %+v", code, apiErr)
	}
}

// TestCLI covers the commands that need no server.
func TestCLI(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "temporal:\n  apiKey: ${KEY}\n  tls:\n    enabled: true\n")
	bad := write("bad.yaml", "server:\n  lisen: 127.0.0.1:1\n")
	tplOK := write("tpl-ok.yaml", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps:\n    - {id: a, name: A, action: debug:log, input: {message: hi}}\n")
	tplWrite := write("tpl-write.yaml", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: w}\nspec:\n  type: service\n  parameters: {properties: {name: {type: string}}}\n  steps:\n    - {id: w, name: W, action: fs:write, input: {path: '${{ parameters.name }}/README.md', content: '# ${{ parameters.name }}'}}\n")
	tplBad := write("tpl-bad.yaml", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: t}\nspec:\n  type: service\n  steps:\n    - {id: a, name: A, action: publish:gitlab, input: {repoUrl: x}}\n")
	catalogOK := write("ok-catalog.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\nspec: {type: service, lifecycle: production, owner: team-a}\n")
	catalogBad := write("bad-catalog.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\nspec: {type: service, lifecycle: production}\n---\na: &x [1]\nb: *x\n")
	cases := []struct {
		name     string
		env      []string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		noOutput string
	}{
		{"version", nil, []string{"version"}, 0, []string{"temporal server:  1.32.1", "temporal sdk:     v1.50.0", "go1.26"}, nil, ""},
		{"config check redacts", []string{"KEY=super-secret-api-key"}, []string{"config", "check", "--config", good}, 0,
			[]string{"apiKey: '[redacted]'", "listen: 127.0.0.1:7007"}, nil, "super-secret-api-key"},
		{"config from env var", []string{"KEY=x", "RIGGER_CONFIG=" + good}, []string{"config", "check"}, 0, []string{"apiKey: '[redacted]'"}, nil, ""},
		{"config unknown key", nil, []string{"config", "check", "--config", bad}, 1, nil, []string{bad + `:2:3: server.lisen: unknown key (did you mean "listen"?)`}, ""},
		{"config missing var", nil, []string{"config", "check", "--config", good}, 1, nil, []string{good + `:2:11: temporal.apiKey: environment variable "KEY" is not set`}, ""},
		{"flag from env is validated", []string{"RIGGER_LISTEN=nonsense"}, []string{"dev"}, 1, nil, []string{`server.listen: "nonsense" is not host:port`}, ""},
		{"template dry-run ok", nil, []string{"template", "dry-run", tplOK, "--show-contents"}, 0, []string{"dry run of t (1 steps)", "[a] hi", "[task] Run completed successfully", "files (0):"}, []string{"… running step a (debug:log)"}, ""},
		{"template dry-run writes files", nil, []string{"template", "dry-run", tplWrite, "--set", "name=svc", "--show-contents"}, 0, []string{"[w] wrote svc/README.md", "svc/README.md (5 bytes)", "    | # svc"}, nil, ""},
		{"template dry-run failing step", nil, []string{"template", "dry-run", tplWrite, "--set", "name=../../x"}, 1, []string{`leaves the task workspace`}, []string{"dry run failed"}, ""},
		{"template dry-run missing file", nil, []string{"template", "dry-run", filepath.Join(dir, "nope.yaml")}, 1, nil, []string{"no such file"}, ""},
		{"template validate ok", nil, []string{"template", "validate", tplOK}, 0, []string{"ok    " + tplOK + ": template t (1 steps)"}, nil, ""},
		{"template validate unknown action", nil, []string{"template", "validate", tplBad}, 1, nil, []string{`unknown action "publish:gitlab"`}, ""},
		{"catalog validate ok", nil, []string{"catalog", "validate", catalogOK}, 0, []string{"ok    " + catalogOK + ": document 1: component:default/svc", "1 valid, 0 invalid"}, nil, ""},
		{"catalog validate bad", nil, []string{"catalog", "validate", catalogOK, catalogBad}, 1, []string{"1 valid, 2 invalid"},
			[]string{catalogBad + ": document 1 (line 5): spec.owner: required field is missing", catalogBad + ": document 2 (line 7): a: YAML anchors and aliases are not allowed"}, ""},
		{"catalog validate missing file", nil, []string{"catalog", "validate", filepath.Join(dir, "nope.yaml")}, 1, nil, []string{"no such file"}, ""},
		{"dev temporal-only with a cluster", nil, []string{"dev", "--temporal-only", "--temporal-address", "127.0.0.1:1"}, 1, nil, []string{"[temporal-address temporal-only] were all set"}, ""},
		{"unknown command", nil, []string{"frobnicate"}, 2, nil, []string{"unknown command"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := start(t, dir, cleanEnv(c.env...), c.args...)
			if code := p.wait(t, 30*time.Second); code != c.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, c.code, p.stdout.String(), p.stderr.String())
			}
			for _, w := range c.stdout {
				if !strings.Contains(p.stdout.String(), w) {
					t.Errorf("stdout does not contain %q:\n%s", w, p.stdout.String())
				}
			}
			for _, w := range c.stderr {
				if !strings.Contains(p.stderr.String(), w) {
					t.Errorf("stderr does not contain %q:\n%s", w, p.stderr.String())
				}
			}
			if c.noOutput != "" && strings.Contains(p.stdout.String()+p.stderr.String(), c.noOutput) {
				t.Errorf("output reveals %q", c.noOutput)
			}
		})
	}
}
