package terraform_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/activities/terraform"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/testtools"
)

// The worker's own secrets, planted in the test process: terraform must
// never see them.
const (
	plantedAWS    = "planted-aws-secret-4f1c9e"
	plantedGitHub = "ghp_planted_github_token_7d2b"
	// sensitiveValue is a sensitive output's value: never in an output
	// or a log.
	sensitiveValue = "s3nsitive-db-password-91ab"
)

// serviceTF manages one terraform_data resource with the default local
// backend (terraform.tfstate in the directory), a normal and a sensitive
// output.
const serviceTF = `
variable "name" {
  type = string
}

variable "password" {
  type      = string
  sensitive = true
  default   = "` + sensitiveValue + `"
}

resource "terraform_data" "svc" {
  input = var.name
}

output "name" {
  value = terraform_data.svc.output
}

output "password" {
  value     = var.password
  sensitive = true
}
`

const taskID = "0f9e8d7c-6b5a-4938-2716-abcdef012345"

// rig is the actions over a real terraform, recording every environment
// given to terraform.
type rig struct {
	actions map[string]activities.ActionFunc
	ws      string
	mu      sync.Mutex
	envs    []map[string]string
}

func newRig(t *testing.T, cfg terraform.Config) *rig {
	t.Helper()
	return newRigWith(t, cfg, terraform.Options{})
}

// newRigWith is newRig with opts (TempDir and OnEnv are set here).
func newRigWith(t *testing.T, cfg terraform.Config, opts terraform.Options) *rig {
	t.Helper()
	r := &rig{ws: t.TempDir()}
	var err error
	// A short TempDir: providers listen on a unix socket in TMPDIR, and
	// a socket path has at most 107 bytes (t.TempDir's names are long).
	tmp, err := os.MkdirTemp("", "tf")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	opts.TempDir = tmp
	opts.OnEnv = func(env map[string]string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.envs = append(r.envs, env)
	}
	r.actions, err = terraform.Actions(nil, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) run(t *testing.T, action string, dryRun bool, input map[string]any) (contract.ActionOutput, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctx = step.WithEnv(ctx, step.Env{Run: credentials.Run{TaskID: taskID, UserRef: "user:default/alice"}, StepID: "tf", Workspace: r.ws, DryRun: dryRun})
	return r.actions[action](ctx, contract.ActionInput{TaskID: taskID, StepID: "tf", Input: input})
}

func (r *rig) must(t *testing.T, action string, input map[string]any) contract.ActionOutput {
	t.Helper()
	out, err := r.run(t, action, false, input)
	if err != nil {
		t.Fatalf("%s %v: %v", action, input, err)
	}
	return out
}

func (r *rig) write(t *testing.T, rel, content string) {
	t.Helper()
	p := filepath.Join(r.ws, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// state is the directory's state file, "" when there is none.
func (r *rig) state(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.ws, dir, "terraform.tfstate"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// resources counts the resources in the state file.
func (r *rig) resources(t *testing.T, dir string) int {
	t.Helper()
	var st struct {
		Resources []json.RawMessage `json:"resources"`
	}
	if err := json.Unmarshal([]byte(r.state(t, dir)), &st); err != nil {
		t.Fatalf("state of %s: %v", dir, err)
	}
	return len(st.Resources)
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

// noLeak fails when a text a run left behind holds a value it must not.
func noLeak(t *testing.T, what string, out contract.ActionOutput, err error, values ...string) {
	t.Helper()
	b, _ := json.Marshal(out)
	texts := []string{string(b)}
	if err != nil {
		texts = append(texts, err.Error())
	}
	for _, text := range texts {
		for _, v := range values {
			if strings.Contains(text, v) {
				t.Errorf("%s: a secret value reached an output, log or error", what)
			}
		}
	}
}

// TestPlanApplyOutputDestroy runs the whole cycle on a terraform_data
// resource with a local state in the workspace: the plan's summary,
// changes and checksum, the apply of exactly that plan, the outputs with
// the sensitive one redacted, and the destroy.
func TestPlanApplyOutputDestroy(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", plantedAWS)
	t.Setenv("GITHUB_TOKEN", plantedGitHub)
	r := newRig(t, terraform.Config{Binary: testtools.Binary(t, "terraform")})
	r.write(t, "infra/main.tf", serviceTF)

	start := time.Now()
	plan := r.must(t, terraform.ActionPlan, map[string]any{"dir": "infra", "vars": map[string]any{"name": "payments"}})
	planned := time.Since(start)
	noLeak(t, "plan", plan, nil, sensitiveValue, plantedAWS, plantedGitHub)
	if plan.Output["hasChanges"] != true || plan.Output["summary"] != "1 to add, 0 to change, 0 to destroy" {
		t.Errorf("plan output %v", plan.Output)
	}
	wantChanges := []any{map[string]any{"address": "terraform_data.svc", "actions": []any{"create"}}}
	if !reflect.DeepEqual(plan.Output["resourceChanges"], wantChanges) {
		t.Errorf("resourceChanges %#v, want %#v", plan.Output["resourceChanges"], wantChanges)
	}
	file, err := os.ReadFile(filepath.Join(r.ws, "infra", ".rigger", "tfplan"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(file)
	checksum := hex.EncodeToString(sum[:])
	if plan.Output["planChecksum"] != checksum {
		t.Errorf("planChecksum %v, want the plan file's sha256 %s", plan.Output["planChecksum"], checksum)
	}
	if logs := strings.Join(plan.Logs, "\n"); !strings.Contains(logs, "terraform_data.svc will be created") || !strings.Contains(logs, "with variables name") {
		t.Errorf("the plan's log lacks the plan text or the variables:\n%s", logs)
	}
	if r.state(t, "infra") != "" && r.resources(t, "infra") != 0 {
		t.Error("the plan changed the state")
	}

	start = time.Now()
	applied := r.must(t, terraform.ActionApply, map[string]any{"dir": "infra", "planChecksum": checksum})
	t.Logf("through the actions: plan (init, plan, show ×2) %s, apply (apply, output) %s", planned.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	noLeak(t, "apply", applied, nil, sensitiveValue, plantedAWS, plantedGitHub)
	wantOutputs := map[string]any{"name": "payments", "password": terraform.Redacted}
	if applied.Output["applied"] != true || !reflect.DeepEqual(applied.Output["outputs"], wantOutputs) {
		t.Errorf("apply output %v, want applied and outputs %v", applied.Output, wantOutputs)
	}
	if n := r.resources(t, "infra"); n != 1 {
		t.Errorf("after apply the state holds %d resources, want 1", n)
	}

	out := r.must(t, terraform.ActionOutput, map[string]any{"dir": "infra"})
	noLeak(t, "output", out, nil, sensitiveValue, plantedAWS, plantedGitHub)
	if !reflect.DeepEqual(out.Output["outputs"], wantOutputs) {
		t.Errorf("outputs %v, want %v", out.Output["outputs"], wantOutputs)
	}
	if !strings.Contains(strings.Join(out.Logs, "\n"), "password (sensitive, redacted)") {
		t.Errorf("output logs %q", out.Logs)
	}

	// The plan was applied: applying it again is refused by us.
	again, err := r.run(t, terraform.ActionApply, false, map[string]any{"dir": "infra", "planChecksum": checksum})
	if errType(err) != terraform.PlanMismatchType {
		t.Errorf("second apply of one plan: %v %v, want %s", again, err, terraform.PlanMismatchType)
	}

	destroyed := r.must(t, terraform.ActionDestroy, map[string]any{"dir": "infra", "vars": map[string]any{"name": "payments"}})
	noLeak(t, "destroy", destroyed, nil, sensitiveValue, plantedAWS, plantedGitHub)
	if destroyed.Output["destroyed"] != true {
		t.Errorf("destroy output %v", destroyed.Output)
	}
	if n := r.resources(t, "infra"); n != 0 {
		t.Errorf("after destroy the state holds %d resources", n)
	}
	checkEnvs(t, r)
}

// checkEnvs: every environment given to terraform holds only the
// variables this package sets, none of the worker's.
func checkEnvs(t *testing.T, r *rig) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.envs) == 0 {
		t.Fatal("terraform was never given an environment")
	}
	want := []string{"CHECKPOINT_DISABLE", "HOME", "PATH", "TF_CLI_CONFIG_FILE", "TF_DATA_DIR", "TMPDIR"}
	for _, env := range r.envs {
		var keys []string
		for k, v := range env {
			keys = append(keys, k)
			if strings.Contains(v, plantedAWS) || strings.Contains(v, plantedGitHub) {
				t.Errorf("terraform's environment holds a planted value in %s", k)
			}
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Errorf("terraform's environment has %v, want exactly %v", keys, want)
		}
		if home, _ := os.UserHomeDir(); env["HOME"] == home {
			t.Errorf("terraform got the worker's HOME %s", home)
		}
		if env["TF_DATA_DIR"] != filepath.Join(r.ws, "infra", ".terraform") {
			t.Errorf("TF_DATA_DIR %s", env["TF_DATA_DIR"])
		}
	}
}

// TestTerraformProcessEnv checks the environment the terraform process
// really gets (tfexec adds its own variables to ours): a wrapper records
// it and runs the real terraform.
func TestTerraformProcessEnv(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", plantedAWS)
	t.Setenv("GITHUB_TOKEN", plantedGitHub)
	bin := testtools.Binary(t, "terraform")
	// One file per run: plan's two `terraform show` run at once, and
	// appends to one file interleaved their lines.
	dumps := t.TempDir()
	wrapper := filepath.Join(t.TempDir(), "terraform")
	script := "#!/bin/sh\nenv > \"$(mktemp '" + dumps + "/env.XXXXXX')\"\nexec '" + bin + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, terraform.Config{Binary: wrapper})
	r.write(t, "infra/main.tf", serviceTF)
	r.must(t, terraform.ActionPlan, map[string]any{"dir": "infra", "vars": map[string]any{"name": "payments"}})
	files, err := filepath.Glob(filepath.Join(dumps, "env.*"))
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, string(b))
	}
	if len(runs) < 3 { // init, plan, show, show
		t.Fatalf("the wrapper saw %d terraform runs", len(runs))
	}
	for _, env := range runs {
		if strings.Contains(env, plantedAWS) || strings.Contains(env, plantedGitHub) || strings.Contains(env, "GITHUB_TOKEN") || strings.Contains(env, "AWS_") {
			t.Error("the terraform process saw the worker's planted variables")
		}
		for _, v := range strings.Split(strings.TrimSpace(env), "\n") {
			name, _, _ := strings.Cut(v, "=")
			switch {
			case name == "PWD" || name == "SHLVL" || name == "_": // the wrapper's shell
			case slices.Contains([]string{"PATH", "HOME", "TMPDIR", "CHECKPOINT_DISABLE", "TF_CLI_CONFIG_FILE", "TF_DATA_DIR", "TF_IN_AUTOMATION", "TF_APPEND_USER_AGENT"}, name):
			case strings.HasPrefix(name, "TF_LOG"):
				if !strings.HasSuffix(v, "=") {
					t.Errorf("terraform got %s", v)
				}
			default:
				t.Errorf("terraform's process got %s, which this package does not set", name)
			}
		}
	}
}

// TestApplyRunsOnlyTheShownPlan: a missing or wrong checksum, a plan file
// changed after the plan and a missing plan file are refused, and the
// state is left as it was.
func TestApplyRunsOnlyTheShownPlan(t *testing.T) {
	r := newRig(t, terraform.Config{Binary: testtools.Binary(t, "terraform")})
	r.write(t, "infra/main.tf", serviceTF)
	first := r.must(t, terraform.ActionPlan, map[string]any{"dir": "infra", "vars": map[string]any{"name": "v1"}})
	r.must(t, terraform.ActionApply, map[string]any{"dir": "infra", "planChecksum": first.Output["planChecksum"]})
	before := r.state(t, "infra")

	planFile := filepath.Join(r.ws, "infra", ".rigger", "tfplan")
	cases := []struct {
		name     string
		prepare  func(checksum string) map[string]any
		wantType string
	}{
		{"absent checksum", func(string) map[string]any { return map[string]any{"dir": "infra"} }, terraform.InvalidInputType},
		{"malformed checksum", func(string) map[string]any { return map[string]any{"dir": "infra", "planChecksum": "abc"} }, terraform.InvalidInputType},
		{"wrong checksum", func(string) map[string]any {
			return map[string]any{"dir": "infra", "planChecksum": strings.Repeat("0", 64)}
		}, terraform.PlanMismatchType},
		{"plan file changed after the plan", func(checksum string) map[string]any {
			f, err := os.OpenFile(planFile, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte{0})
			f.Close()
			return map[string]any{"dir": "infra", "planChecksum": checksum}
		}, terraform.PlanMismatchType},
		{"plan file replaced by another plan", func(checksum string) map[string]any {
			other := r.must(t, terraform.ActionPlan, map[string]any{"dir": "infra", "vars": map[string]any{"name": "v3"}})
			if other.Output["planChecksum"] == checksum {
				t.Fatal("two different plans have one checksum")
			}
			return map[string]any{"dir": "infra", "planChecksum": checksum}
		}, terraform.PlanMismatchType},
		{"plan file missing", func(checksum string) map[string]any {
			if err := os.Remove(planFile); err != nil {
				t.Fatal(err)
			}
			return map[string]any{"dir": "infra", "planChecksum": checksum}
		}, terraform.PlanMismatchType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := r.must(t, terraform.ActionPlan, map[string]any{"dir": "infra", "vars": map[string]any{"name": "v2"}})
			if plan.Output["summary"] != "0 to add, 1 to change, 0 to destroy" {
				t.Fatalf("plan %v", plan.Output)
			}
			out, err := r.run(t, terraform.ActionApply, false, c.prepare(plan.Output["planChecksum"].(string)))
			if errType(err) != c.wantType {
				t.Fatalf("apply: %v %v, want a %s error", out.Output, err, c.wantType)
			}
			if c.wantType == terraform.PlanMismatchType && !strings.Contains(err.Error(), "apply runs exactly the plan that was shown") && !strings.Contains(err.Error(), "nothing was applied") {
				t.Errorf("the refusal does not say why: %v", err)
			}
			if r.state(t, "infra") != before {
				t.Error("a refused apply changed the state")
			}
		})
	}
}

// TestDirMustStayInTheWorkspace: each action refuses a dir that leaves
// the workspace (or is no directory), in a dry run too, before terraform
// is prepared.
func TestDirMustStayInTheWorkspace(t *testing.T) {
	r := newRig(t, terraform.Config{Binary: "/nonexistent/terraform"})
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "main.tf"), []byte(serviceTF), 0o644); err != nil {
		t.Fatal(err)
	}
	r.write(t, "infra/main.tf", serviceTF)
	if err := os.Symlink(outside, filepath.Join(r.ws, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("infra", filepath.Join(r.ws, "alias")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(r.ws, "infra", "up")); err != nil {
		t.Fatal(err)
	}
	dirs := []string{"", "..", "../x", "infra/../..", "infra/../../" + filepath.Base(outside), outside, "/", "out", "out/", "alias", "infra/up", "infra/main.tf", "missing"}
	for _, action := range []string{terraform.ActionPlan, terraform.ActionApply, terraform.ActionOutput, terraform.ActionDestroy} {
		for _, dry := range []bool{false, true} {
			for _, dir := range dirs {
				out, err := r.run(t, action, dry, map[string]any{"dir": dir, "planChecksum": strings.Repeat("a", 64)})
				if errType(err) != terraform.InvalidInputType {
					t.Errorf("%s dir %q (dry run %v): %v %v, want refused as %s", action, dir, dry, out, err, terraform.InvalidInputType)
				}
			}
		}
	}
	if len(r.envs) != 0 {
		t.Errorf("terraform was prepared %d times for a refused dir", len(r.envs))
	}
}

// TestDryRunRunsNothing: in a dry run no action runs terraform or writes
// to the workspace; each says what it would do.
func TestDryRunRunsNothing(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	fake := filepath.Join(t.TempDir(), "terraform")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\" >> '"+marker+"'\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, terraform.Config{Binary: fake})
	r.write(t, "infra/main.tf", serviceTF)
	for _, c := range []struct {
		action string
		input  map[string]any
		want   string
	}{
		{terraform.ActionPlan, map[string]any{"dir": "infra", "vars": map[string]any{"name": "x"}}, "dry run: would run terraform init and a plan in infra with variables name"},
		{terraform.ActionApply, map[string]any{"dir": "infra", "planChecksum": strings.Repeat("b", 64)}, "dry run: would apply infra/.rigger/tfplan"},
		{terraform.ActionOutput, map[string]any{"dir": "infra"}, "dry run: would read the outputs of infra"},
		{terraform.ActionDestroy, map[string]any{"dir": "infra"}, "dry run: would run terraform init and destroy in infra"},
	} {
		out, err := r.run(t, c.action, true, c.input)
		if err != nil {
			t.Fatalf("%s: %v", c.action, err)
		}
		if !strings.Contains(strings.Join(out.Logs, "\n"), c.want) {
			t.Errorf("%s logs %q, want %q", c.action, out.Logs, c.want)
		}
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Error("a dry run ran terraform")
	}
	entries, _ := os.ReadDir(filepath.Join(r.ws, "infra"))
	if len(entries) != 1 {
		t.Errorf("a dry run wrote to the workspace: %v", entries)
	}
	if len(r.envs) != 0 {
		t.Error("a dry run prepared terraform")
	}
}

// TestNoProviderWithoutMirrorOrDownloads: without a mirror and without
// downloads a configuration needing a provider fails at init without
// asking any registry (the CLI config's empty mirror answers).
func TestNoProviderWithoutMirrorOrDownloads(t *testing.T) {
	r := newRig(t, terraform.Config{Binary: testtools.Binary(t, "terraform")})
	r.write(t, "infra/main.tf", `
terraform {
  required_providers {
    null = { source = "hashicorp/null" }
  }
}
resource "null_resource" "x" {}
`)
	_, err := r.run(t, terraform.ActionPlan, false, map[string]any{"dir": "infra"})
	if err == nil {
		t.Fatal("init installed a provider with neither a mirror nor downloads allowed")
	}
	msg := err.Error()
	if !strings.Contains(msg, "hashicorp/null was not found") || !strings.Contains(msg, "no-providers") || strings.Contains(msg, "could not connect") {
		t.Errorf("init did not fail for want of a provider source: %v", err)
	}
}

func TestCLIConfig(t *testing.T) {
	cases := []struct {
		cfg       terraform.Config
		want, not []string
	}{
		{terraform.Config{PluginMirror: "/srv/mirror"}, []string{"disable_checkpoint = true", "filesystem_mirror {\n    path = \"/srv/mirror\""}, []string{"direct", "/empty"}},
		{terraform.Config{PluginMirror: "/srv/mirror", AllowDownloads: true}, []string{`path = "/srv/mirror"`}, []string{"direct"}},
		{terraform.Config{PluginMirror: "https://mirror.example.com/providers/"}, []string{`url = "https://mirror.example.com/providers/"`}, []string{"direct", "filesystem_mirror"}},
		{terraform.Config{}, []string{`path = "/empty"`}, []string{"direct"}},
		{terraform.Config{AllowDownloads: true}, []string{"disable_checkpoint = true"}, []string{"provider_installation"}},
		{terraform.Config{PluginMirror: `/srv/a"b${x}`}, []string{`path = "/srv/a\"b$${x}"`}, nil},
	}
	for _, c := range cases {
		got := c.cfg.CLIConfig("/empty")
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v: CLI config lacks %q:\n%s", c.cfg, w, got)
			}
		}
		for _, n := range c.not {
			if strings.Contains(got, n) {
				t.Errorf("%+v: CLI config has %q:\n%s", c.cfg, n, got)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg terraform.Config
		ok  bool
	}{
		{terraform.Config{}, true},
		{terraform.Config{Binary: "/usr/bin/terraform", PluginMirror: "/srv/mirror"}, true},
		{terraform.Config{PluginMirror: "https://mirror.example.com/"}, true},
		{terraform.Config{Binary: "terraform"}, true},
		{terraform.Config{Binary: "bin/terraform"}, false},
		{terraform.Config{PluginMirror: "mirror"}, false},
		{terraform.Config{PluginMirror: "http://mirror.example.com/"}, false},
		{terraform.Config{PluginMirror: "https://user:pw@mirror.example.com/"}, false},
		{terraform.Config{PluginMirror: "/srv/mirror\n}"}, false},
	} {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", c.cfg, err, c.ok)
		}
	}
}
