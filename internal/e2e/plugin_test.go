package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/payloadcodec"
	"github.com/riggerdev/rigger/internal/secretbox"
)

// greetTemplate uses the example plugin's acme:greet and hands its output
// to the next step and to the run's output.
const greetTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: greet
spec:
  owner: group:default/team-a
  type: service
  parameters:
    - properties:
        name: {type: string}
        mode: {type: string, default: ""}
        inspect: {type: boolean, default: false}
  steps:
    - id: greet
      name: Greet
      action: acme:greet
      input:
        name: ${{ parameters.name }}
        testMode: ${{ parameters.mode }}
        inspect: ${{ parameters.inspect }}
    - id: show
      name: Show
      action: debug:log
      input:
        message: the plugin said ${{ steps.greet.output.greeting }}
  output:
    greeting: ${{ steps.greet.output.greeting }}
    envNames: ${{ steps.greet.output.envNames }}
    riggerConfigFound: ${{ steps.greet.output.riggerConfigFound }}
`

// greetAction declares acme:greet (the config's scaffolder section goes
// on after it).
const greetAction = `  externalActions:
    - id: acme:greet
      description: Greets someone (examples/plugins/go-greeter).
      taskQueue: acme-plugins
      timeout: 30s
      retry: {maximumAttempts: 2}
      inputSchema:
        type: object
        required: [name]
        additionalProperties: false
        properties:
          name: {type: string, minLength: 1, maxLength: 40}
          inspect: {type: boolean}
          testMode: {type: string, enum: ["", wrong-output]}
      outputSchema:
        type: object
        required: [greeting]
        properties:
          greeting: {type: string}
          envNames: {type: array, items: {type: string}}
          riggerConfigFound: {type: boolean}
`

// TestExternalActionPlugin runs the example plugin worker
// (examples/plugins/go-greeter) as its own process, with only its own
// environment, against rigger dev configured with acme:greet: (a) its
// output reaches the next step and the run's output; (b) an output that
// violates the output schema fails the step; (c) an input that violates
// the input schema fails the step and the plugin is never called; (d) the
// plugin's process sees none of rigger's configuration: neither the
// variables planted in rigger dev's environment nor its config's secret,
// and what Rigger sends it is the step's input and the run's ids only.
func TestExternalActionPlugin(t *testing.T) {
	needBinary(t)
	bin := filepath.Join(t.TempDir(), "go-greeter")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/plugins/go-greeter").CombinedOutput(); err != nil {
		t.Fatalf("build the example plugin: %v\n%s", err, out)
	}
	runPluginScenario(t, func() *exec.Cmd { return exec.Command(bin) })
}

// TestExternalActionTSPlugin is TestExternalActionPlugin with the
// TypeScript example (examples/plugins/ts-greeter, @temporalio/worker).
func TestExternalActionTSPlugin(t *testing.T) {
	needBinary(t)
	node, dir := nodePackage(t, "TypeScript plugin", "../../examples/plugins/ts-greeter", "@temporalio/worker")
	build := exec.Command("npm", "run", "build")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("npm run build: %v\n%s", err, out)
	}
	runPluginScenario(t, func() *exec.Cmd { return exec.Command(node, filepath.Join(dir, "lib", "worker.js")) })
}

// runPluginScenario runs (a) to (d) of TestExternalActionPlugin with the
// plugin plugin() starts.
func runPluginScenario(t *testing.T, plugin func() *exec.Cmd) {
	t.Helper()
	dir := t.TempDir()
	pluginDir := t.TempDir()
	// Planted in rigger dev: an environment variable and a config secret.
	envSecret := "planted-env-" + randomText(t)
	key := make([]byte, 32)
	rand.Read(key)
	configSecret := base64.StdEncoding.EncodeToString(key)

	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(greetTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "rigger.yaml")
	cfgText := fmt.Sprintf("scaffolder:\n  templates: [%s]\n  secretKey: %s\n%scatalog: {examples: []}\n", tpl, configSecret, greetAction)
	if err := os.WriteFile(cfg, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}

	// rigger template validate knows the action from the configuration:
	// it checks a step's input against its schema; an unknown action
	// still fails.
	bad := filepath.Join(dir, "bad.yaml")
	badTpl := strings.Replace(strings.Replace(greetTemplate, "name: ${{ parameters.name }}", "name: \"\"", 1), "    - id: show", "    - id: other\n      action: acme:unknown\n    - id: show", 1)
	if err := os.WriteFile(bad, []byte(badTpl), 0o600); err != nil {
		t.Fatal(err)
	}
	v := start(t, dir, cleanEnv(), "--config", cfg, "template", "validate", tpl)
	if code := v.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("template validate of the template using acme:greet: exit %d\n%s%s", code, v.stdout, v.stderr)
	}
	v = start(t, dir, cleanEnv(), "--config", cfg, "template", "validate", bad)
	if code := v.wait(t, 60*time.Second); code != 1 || !strings.Contains(v.stderr.String(), "input.name") || !strings.Contains(v.stderr.String(), "acme:unknown") {
		t.Fatalf("template validate of a template giving acme:greet an empty name and using acme:unknown: exit %d\n%s%s", code, v.stdout, v.stderr)
	}

	ps := freePorts(t)
	p := start(t, dir, cleanEnv("RIGGER_TEST_SECRET="+envSecret), "dev", "--config", cfg, "--data-dir", filepath.Join(dir, "data"),
		"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api), "--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend), "--temporal-ui-listen", "")
	p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
	p.waitReady(t, 90*time.Second)
	waitTotal(t, p.api, "kind=template", 1)

	// GET /v2/actions lists it with its description and both schemas.
	var actions []listedAction
	doJSON(t, "GET", p.api+"/api/scaffolder/v2/actions", nil, &actions)
	i := slices.IndexFunc(actions, func(a listedAction) bool { return a.ID == "acme:greet" })
	if i < 0 || !strings.Contains(actions[i].Description, "Greets") || !strings.Contains(fmt.Sprint(actions[i].Schema["input"]), "minLength") || !strings.Contains(fmt.Sprint(actions[i].Schema["output"]), "greeting") {
		t.Fatalf("GET /v2/actions does not list acme:greet with its schemas: %+v", actions)
	}

	// The plugin: its own process, its own directory, its own variables.
	calls := filepath.Join(pluginDir, "calls.jsonl")
	pl := plugin()
	pl.Dir = pluginDir
	pl.Env = []string{
		fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", ps.frontend), "TEMPORAL_NAMESPACE=default",
		"GREETER_TASK_QUEUE=acme-plugins", "GREETER_CALLS_FILE=" + calls,
	}
	out := &syncBuffer{}
	pl.Stdout, pl.Stderr = out, out
	if err := pl.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pl.Process.Kill()
		pl.Wait()
		if t.Failed() {
			t.Logf("plugin output:\n%s", tail(out.String(), 8192))
		}
	})
	// Node starts slower than Go: up to a minute on a busy machine.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "serving acme:greet"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the plugin worker did not start within a minute")
		}
	}

	run := func(values map[string]any) (string, taskResp) {
		t.Helper()
		var created struct{ ID string }
		if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/greet", "values": values}, &created); code != http.StatusCreated {
			t.Fatalf("create task: %d", code)
		}
		return created.ID, waitTask(t, p.api, created.ID)
	}
	requests := func() []map[string]any {
		t.Helper()
		f, err := os.Open(calls)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var all []map[string]any
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("calls file: %v", err)
			}
			all = append(all, m)
		}
		return all
	}

	// (a) The output reaches the next step and the run's output.
	id, tr := run(map[string]any{"name": "Ada"})
	if tr.Status != "completed" {
		t.Fatalf("(a) the run with acme:greet: %+v\n%s", tr, eventText(t, p.api, id))
	}
	if o := fmt.Sprint(taskOutput(t, p.api, id)); !strings.Contains(o, "greeting:Hello, Ada!") {
		t.Fatalf("(a) run output %s, want the plugin's greeting", o)
	}
	if ev := eventText(t, p.api, id); !strings.Contains(ev, "the plugin said Hello, Ada!") {
		t.Fatalf("(a) the next step did not see the plugin's output:\n%s", ev)
	}
	if n := len(requests()); n != 1 {
		t.Fatalf("(a) the plugin was called %d times, want 1", n)
	}
	// Its history replays: the plugin's plain JSON and the checks'
	// verdicts are read back as they were recorded.
	secret, err := secretbox.ParseKey(configSecret)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := payloadcodec.DeriveFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := payloadcodec.New(dk.ID, dk)
	if err != nil {
		t.Fatal(err)
	}
	hist := filepath.Join(t.TempDir(), "history.json")
	replayTask(t, ps.frontend, codec, id, hist)
	// Only the plugin's argument is plain JSON in Temporal's database: the
	// run's own input stays encrypted.
	raw, err := os.ReadFile(hist)
	if err != nil {
		t.Fatal(err)
	}
	var h historypb.History
	if err := protojson.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	plain := func(ps *commonpb.Payloads) bool {
		return len(ps.GetPayloads()) > 0 && string(ps.GetPayloads()[0].GetMetadata()["encoding"]) == "json/plain"
	}
	sawPlugin := false
	for _, e := range h.Events {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "acme:greet" {
			sawPlugin = true
			if !plain(a.GetInput()) {
				t.Fatal("(a) the plugin's argument is not plain JSON in the history")
			}
		}
		if w := e.GetWorkflowExecutionStartedEventAttributes(); w != nil && plain(w.GetInput()) {
			t.Fatal("(a) the run's input is plain JSON in the history")
		}
	}
	if !sawPlugin {
		t.Fatal("(a) no acme:greet activity in the run's history")
	}

	// (b) An output that violates the output schema fails the step.
	id, tr = run(map[string]any{"name": "Bob", "mode": "wrong-output"})
	if tr.Status != "failed" || len(tr.Steps) < 2 || tr.Steps[0].Status != "failed" ||
		!strings.Contains(tr.Steps[0].Error, "output does not match the output schema of acme:greet") || !strings.Contains(tr.Steps[0].Error, "output.greeting") ||
		tr.Steps[1].Status == "completed" {
		t.Fatalf("(b) a wrong-typed output: %+v", tr)
	}
	if o := taskOutput(t, p.api, id); o != nil && strings.Contains(fmt.Sprint(o), "42") {
		t.Fatalf("(b) the violating output was kept: %v", o)
	}

	// (c) An input that violates the input schema fails the step before
	// the plugin is called.
	before := len(requests())
	_, tr = run(map[string]any{"name": ""})
	if tr.Status != "failed" || tr.Steps[0].Status != "failed" ||
		!strings.Contains(tr.Steps[0].Error, "input does not match the input schema of acme:greet (the plugin was not called)") || !strings.Contains(tr.Steps[0].Error, "input.name") {
		t.Fatalf("(c) an empty name: %+v", tr)
	}
	if n := len(requests()); n != before {
		t.Fatalf("(c) the plugin was called for an invalid input (%d calls, %d before)", n, before)
	}

	// A dry run runs in process: it cannot reach the plugin, skips the
	// step and says so.
	var tplDoc map[string]any
	if err := yaml.Unmarshal([]byte(greetTemplate), &tplDoc); err != nil {
		t.Fatal(err)
	}
	var dry struct {
		Status string
		Steps  []struct{ ID, Status string }
		Log    []struct{ Body struct{ Message string } }
	}
	before = len(requests())
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/dry-run", map[string]any{"template": tplDoc, "values": map[string]any{"name": "Dry"}}, &dry); code != http.StatusOK {
		t.Fatalf("dry run: %d", code)
	}
	if dry.Status != "completed" || len(dry.Steps) == 0 || dry.Steps[0].Status != "skipped" || !strings.Contains(fmt.Sprint(dry.Log), "external action acme:greet is not called") {
		t.Fatalf("dry run: %+v", dry)
	}
	if n := len(requests()); n != before {
		t.Fatalf("a dry run called the plugin")
	}

	// (d) The plugin sees none of rigger's configuration.
	id, tr = run(map[string]any{"name": "Eve", "inspect": true})
	if tr.Status != "completed" {
		t.Fatalf("(d) inspect run: %+v\n%s", tr, eventText(t, p.api, id))
	}
	var res struct {
		Output struct {
			EnvNames          []string `json:"envNames"`
			RiggerConfigFound bool     `json:"riggerConfigFound"`
		} `json:"output"`
	}
	doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+id, nil, &res)
	if len(res.Output.EnvNames) == 0 || res.Output.RiggerConfigFound {
		t.Fatalf("(d) plugin report: %+v", res.Output)
	}
	for _, n := range res.Output.EnvNames {
		if strings.HasPrefix(n, "RIGGER_") {
			t.Fatalf("(d) the plugin's environment has %s: %v", n, res.Output.EnvNames)
		}
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pl.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for what, secret := range map[string]string{"rigger dev's planted variable": envSecret, "rigger's scaffolder.secretKey": configSecret} {
		if strings.Contains(string(environ), secret) {
			t.Fatalf("(d) the plugin's environment holds %s", what)
		}
	}
	// What Rigger sent: the step's input and the run's ids, nothing else.
	reqs := requests()
	last := reqs[len(reqs)-1]
	raw, _ = json.Marshal(last)
	for what, secret := range map[string]string{"rigger dev's planted variable": envSecret, "rigger's scaffolder.secretKey": configSecret} {
		if strings.Contains(string(raw), secret) {
			t.Fatalf("(d) the plugin was sent %s", what)
		}
	}
	runInfo, _ := last["run"].(map[string]any)
	if len(last) != 2 || last["input"] == nil || runInfo["taskId"] != id || runInfo["user"] == "" || runInfo["templateRef"] != "template:default/greet" || runInfo["dryRun"] != false {
		t.Fatalf("(d) the plugin received %s", raw)
	}
	for k := range runInfo {
		if !slices.Contains([]string{"taskId", "stepId", "templateRef", "user", "dryRun"}, k) {
			t.Fatalf("(d) the plugin received run.%s: %s", k, raw)
		}
	}
}

// listedAction is an entry of GET /api/scaffolder/v2/actions.
type listedAction struct {
	ID          string         `json:"id"`
	Description string         `json:"description"`
	Schema      map[string]any `json:"schema"`
}

// randomText is 16 random bytes, hex.
func randomText(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}
