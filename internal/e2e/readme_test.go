package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeCommands returns every command of README.md's ```sh blocks, one per
// logical line: continuation lines joined, trailing comments dropped.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	in, cur := false, ""
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```sh":
			in = true
			continue
		case in && strings.TrimSpace(line) == "```":
			in = false
			continue
		case !in:
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			line = ""
		}
		line = strings.TrimRight(line, " ")
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur += strings.TrimSpace(cont) + " "
			continue
		}
		cur += strings.TrimSpace(line)
		if cur != "" {
			cmds = append(cmds, strings.Join(strings.Fields(cur), " "))
		}
		cur = ""
	}
	return cmds
}

// readmeNotRun are README commands this test does not run, each with why.
// A command added to README must either run here or be listed, so README
// cannot drift from what rigger does.
func readmeNotRun() map[string]string {
	return map[string]string{
		"make run":              "builds and starts rigger dev on the default ports (the test starts the same binary on free ports)",
		"make test":             "the whole test suite, which contains this test",
		"cd web && npm run dev": "a long-running dev server for UI work (Vite)",
		"go test ./internal/e2e -run TestBrowserUI -count=1 -v": "TestBrowserUI itself, run by make test",
		"rigger server --config rigger.yaml --temporal-address temporal.example.internal:7233 --temporal-namespace rigger --temporal-tls --temporal-tls-ca ca.pem --temporal-tls-cert client.pem --temporal-tls-key client-key.pem": "needs a Temporal cluster with TLS",
		"rigger worker --queue rigger-default --temporal-address temporal.example.internal:7233 ...":                                                                                                                                "needs a Temporal cluster",
		"rigger worker --queue rigger-github --temporal-address temporal.example.internal:7233 ...":                                                                                                                                 "needs a Temporal cluster",
		"RIGGER_TEMPORAL_API_KEY=... rigger server --temporal-address <ns>.<acct>.tmprl.cloud:7233 --temporal-namespace <ns>.<acct> --temporal-tls":                                                                                 "needs Temporal Cloud",
		"rigger dev --temporal-only --data-dir /tmp/t":                                                                  "a long-running process; the production shape is run by TestServerWorkerOneDataDir",
		"rigger worker --queue rigger-default --temporal-address 127.0.0.1:7233 --config rigger.yaml --data-dir /tmp/r": "a long-running process; see TestServerWorkerOneDataDir",
		"rigger server --temporal-address 127.0.0.1:7233 --config rigger.yaml --data-dir /tmp/r":                        "a long-running process; see TestServerWorkerOneDataDir",
		"rigger docs publish ./my-service --entity component:default/my-service --server https://rigger.example.com":    "needs a server with docs.builder: external; api's TestTechDocsPublish covers the route",
	}
}

// readmeNotRunPrefixes are kinds of README commands this test cannot run
// here (no Kubernetes cluster, no Docker engine), each with why and what
// checks them instead.
var readmeNotRunPrefixes = map[string]string{
	"kubectl ":      "needs a Kubernetes cluster; deploy's tests render and check the chart (helm lint, kubeconform, restricted profile)",
	"helm install ": "needs a Kubernetes cluster; deploy's tests render and check the chart (helm lint, kubeconform, restricted profile)",
	"helm test ":    "needs a Kubernetes cluster; deploy's tests check the chart's test pod",
	"docker ":       "needs a Docker engine; deploy's tests check the Dockerfiles",
}

// TestReadmeCommands runs every command in README.md's sh blocks against a
// real `rigger dev` (its ports substituted for the documented ones) from a
// directory holding the files the commands name, and checks each succeeds.
// The documented dry run also runs on every shipped template.
func TestReadmeCommands(t *testing.T) {
	needBinary(t)
	root := repoRoot(t)
	cmds := readmeCommands(t)
	if len(cmds) < 10 {
		t.Fatalf("only %d commands found in README.md: %q", len(cmds), cmds)
	}
	work := t.TempDir()
	bin := t.TempDir()
	if err := os.Symlink(riggerBin, filepath.Join(bin, "rigger")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "examples"), filepath.Join(work, "examples")); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: readme-svc}\nspec: {type: service, lifecycle: production, owner: team-a}\n",
		"template.yaml":     "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: readme}\nspec:\n  type: service\n  steps:\n    - {id: a, name: A, action: debug:log, input: {message: hi}}\n",
	}
	files["my-service/mkdocs.yml"] = "site_name: My service\n"
	files["my-service/docs/index.md"] = "# My service\n\nHello.\n"
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dev := startDevWith(t, t.TempDir(), cleanEnv(), "--config", filepath.Join(root, "examples", "rigger.yaml"), "--data-dir", filepath.Join(work, "data"))
	port := strings.TrimPrefix(dev.api, "http://127.0.0.1:")
	waitStatus(t, "", dev.api+"/api/catalog/entities/by-name/template/default/go-service", 200, 60*time.Second)

	env := append(cleanEnv("RIGGER_SERVER="+dev.api), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	vars := map[string]string{}
	idRe := regexp.MustCompile(`task (\S+) started`)
	ran := 0
	notRun := readmeNotRun()
	for _, c := range cmds {
		if why, skip := notRun[c]; skip {
			t.Logf("not run (%s): %s", why, c)
			continue
		}
		if why := notRunByPrefix(c); why != "" {
			t.Logf("not run (%s): %s", why, c)
			continue
		}
		if !strings.HasPrefix(c, "rigger ") && !strings.HasPrefix(c, "curl ") {
			t.Errorf("README command neither run nor listed in readmeNotRun: %s", c)
			continue
		}
		run := strings.ReplaceAll(c, "localhost:7007", "127.0.0.1:"+port)
		run = strings.ReplaceAll(run, " ...", "") // "more files"
		for k, v := range vars {
			run = strings.ReplaceAll(run, k, v)
		}
		if strings.Contains(run, "<") {
			t.Errorf("README command has a placeholder no earlier command filled: %s", c)
			continue
		}
		variants := []string{run}
		if strings.HasPrefix(c, "rigger template dry-run ") {
			// The documented dry run works on every shipped template.
			tpls, _ := filepath.Glob(filepath.Join(root, "examples", "templates", "*", "template.yaml"))
			if len(tpls) == 0 {
				t.Fatal("no shipped templates")
			}
			for _, tp := range tpls {
				rel, _ := filepath.Rel(root, tp)
				switch rel {
				case "examples/templates/go-service/template.yaml":
				case "examples/templates/flaky-demo/template.yaml":
					// Made to fail on its first run (tried below).
				case "examples/templates/release-approval/template.yaml":
					// It asks for a service and a version (and skips its approval).
					variants = append(variants, strings.Replace(run, "examples/templates/go-service/template.yaml", rel, 1)+" --set service=component:default/payments --set version=1.4.0")
				case "examples/templates/create-service/template.yaml", "examples/templates/component-pull-request/template.yaml":
					// It also asks where the repository goes.
					variants = append(variants, strings.Replace(run, "examples/templates/go-service/template.yaml", rel, 1)+" --set 'repoUrl=localhost?owner=acme&repo=payments'")
				default:
					variants = append(variants, strings.Replace(run, "examples/templates/go-service/template.yaml", rel, 1))
				}
			}
		}
		for _, v := range variants {
			cmd := exec.Command("sh", "-c", v)
			cmd.Dir, cmd.Env = work, env
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(90 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Errorf("README command did not finish within 90s: %s", v)
				continue
			}
			ran++
			if err != nil {
				t.Errorf("README command failed: %s\n%v\n%s", v, err, out)
				continue
			}
			if m := idRe.FindSubmatch(out); m != nil {
				vars["<task-id>"] = string(m[1])
			}
			var hello struct{ ID string }
			if strings.HasPrefix(c, "curl ") && json.Unmarshal(out, &hello) == nil && hello.ID != "" {
				vars["<id>"] = hello.ID
			}
		}
	}
	// flaky-demo's dry run fails at step 2, as its first run always does.
	flaky := exec.Command(riggerBin, "template", "dry-run", filepath.Join(root, "examples", "templates", "flaky-demo", "template.yaml"))
	flaky.Dir, flaky.Env = work, env
	if out, err := flaky.CombinedOutput(); err == nil || !strings.Contains(string(out), `step flaky failed: files[3].from "toggle/a/ready.txt": does not exist`) {
		t.Errorf("flaky-demo dry run: %v\n%s", err, out)
	}
	if ran < 10 {
		t.Errorf("only %d README commands ran", ran)
	}
	fmt.Fprintf(os.Stderr, "ran %d README commands\n", ran)
}

// notRunByPrefix is why a command of a kind this test cannot run is not
// run, or "".
func notRunByPrefix(c string) string {
	for p, why := range readmeNotRunPrefixes {
		if strings.HasPrefix(c, p) {
			return why
		}
	}
	return ""
}
