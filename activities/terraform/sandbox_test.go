package terraform_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/terraform"
	"github.com/riggerdev/rigger/internal/sandbox"
	"github.com/riggerdev/rigger/internal/testtools"
)

// sandboxed is the policy workers run terraform under: required (refuse
// rather than run unconfined), through the rigger-sandbox helper.
func sandboxed(t *testing.T) *sandbox.Runner {
	t.Helper()
	r := sandbox.New(sandbox.Options{Required: true, Helper: testtools.SandboxHelper(t)})
	if rep := r.Report(); rep.LandlockABI == 0 || !rep.UserNetNS {
		// Tested machines and CI have both (internal/sandbox's tests
		// insist on it too).
		t.Fatalf("this kernel cannot confine terraform: %s", rep)
	}
	return r
}

// sandboxedUserNS is sandboxed as a worker without CAP_SYS_ADMIN (not
// root, as the worker image runs) has it: terraform starts in a new user
// and network namespace.
func sandboxedUserNS(t *testing.T) *sandbox.Runner {
	t.Helper()
	rep := sandboxed(t).Report()
	rep.NetNS = false
	return sandbox.New(sandbox.Options{Required: true, Helper: testtools.SandboxHelper(t), Probe: func() sandbox.Report { return rep }})
}

// TestSandboxedProviderFromMirrorWithoutNetwork is issue 18's "once with
// a real provider from a filesystem mirror inside a sandbox with no
// network": plan, apply and output with hashicorp/time, each terraform
// (and provider) process confined, in an empty network namespace.
func TestSandboxedProviderFromMirrorWithoutNetwork(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", plantedAWS)
	t.Setenv("GITHUB_TOKEN", plantedGitHub)
	for name, runner := range map[string]func(*testing.T) *sandbox.Runner{"own netns": sandboxed, "user namespace": sandboxedUserNS} {
		t.Run(name, func(t *testing.T) {
			r := newRigWith(t, terraform.Config{Binary: testtools.Binary(t, "terraform"), PluginMirror: timeMirror(t)}, terraform.Options{Sandbox: runner(t)})
			r.write(t, "infra/main.tf", timeTF)
			start := time.Now()
			year := planApplyTime(t, r, "infra")
			out := r.must(t, terraform.ActionOutput, map[string]any{"dir": "infra"})
			if got := out.Output["outputs"].(map[string]any)["year"]; got != year {
				t.Errorf("output year %v, apply's %v", got, year)
			}
			t.Logf("sandboxed, time provider from the mirror: plan+apply+output %s", time.Since(start).Round(time.Millisecond))
			checkEnvsOf(t, r, "infra")
		})
	}
}

// checkEnvsOf is checkEnvs for dir.
func checkEnvsOf(t *testing.T, r *rig, dir string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, env := range r.envs {
		if _, ok := env[sandbox.ShimEnv]; ok {
			t.Errorf("the environment given to terraform holds %s", sandbox.ShimEnv)
		}
		for k, v := range env {
			if strings.Contains(v, plantedAWS) || strings.Contains(v, plantedGitHub) {
				t.Errorf("terraform's environment holds a planted value in %s", k)
			}
		}
		if env["TF_DATA_DIR"] != filepath.Join(r.ws, dir, ".terraform") {
			t.Errorf("TF_DATA_DIR %s", env["TF_DATA_DIR"])
		}
	}
}

// world is what lies around a task's workspace on a worker: the worker's
// config, another task's workspace, a directory nobody's step may write,
// and a TCP and a UDP listener counting connections and datagrams (UDP:
// Landlock ABI 7 does not cover it, only the empty network namespace
// stops it).
type world struct {
	config, sibling, outside string
	addr, udpAddr            string
	conns, datagrams         atomic.Int32
}

const (
	configMarker  = "worker-config-db-password-3c9d"
	siblingMarker = "other-task-secret-8e21"
)

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{config: filepath.Join(t.TempDir(), "rigger.yaml"), sibling: filepath.Join(t.TempDir(), "task-b", "secret.txt"), outside: t.TempDir()}
	if err := os.WriteFile(w.config, []byte(configMarker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(w.sibling), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.sibling, []byte(siblingMarker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	w.addr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			w.conns.Add(1)
			c.Close()
		}
	}()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	w.udpAddr = udp.LocalAddr().String()
	go func() {
		buf := make([]byte, 64)
		for {
			if _, _, err := udp.ReadFrom(buf); err != nil {
				return
			}
			w.datagrams.Add(1)
		}
	}()
	return w
}

// probeTF is a terraform_data whose local-exec provisioner (a child of
// terraform, as providers are) tries what a malicious configuration
// would: read the worker's config, another task's files and the
// environment of other processes, write outside the workspace, connect
// out; and records its own environment.
func (w *world) probeTF() string {
	host, port, _ := net.SplitHostPort(w.addr)
	_, udpPort, _ := net.SplitHostPort(w.udpAddr)
	return fmt.Sprintf(`
resource "terraform_data" "probe" {
  provisioner "local-exec" {
    interpreter = ["/bin/bash", "-c"]
    command     = <<-EOT
      env > env.txt
      { cat '%s' || echo config-denied
        cat '%s' || echo sibling-denied
        cat /proc/1/environ || echo proc1-denied
        cat /proc/$PPID/environ || echo parent-environ-denied
        echo x > '%[3]s/x' || echo outside-write-denied
        echo ok > ../written-in-workspace.txt && echo workspace-write-ok
        echo hi > /dev/tcp/%[4]s/%[5]s && echo connected || echo connect-denied
        echo hi > /dev/udp/%[4]s/%[6]s && echo udp-sent || echo udp-unreachable
      } > probe.txt 2>&1
    EOT
  }
}
`, w.config, w.sibling, w.outside, host, port, udpPort)
}

// TestSandboxConfinesTerraformAndItsChildren: a provisioner run by a
// sandboxed terraform reads no file of the worker or of another task, no
// other process's environment, writes only the workspace, reaches no
// listener, and sees none of the worker's variables. The same
// configuration without the sandbox does all of it (the test's control).
func TestSandboxConfinesTerraformAndItsChildren(t *testing.T) {
	if _, err := os.Stat("/bin/bash"); err != nil {
		t.Fatalf("the probe needs /bin/bash: %v", err)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", plantedAWS)
	t.Setenv("GITHUB_TOKEN", plantedGitHub)
	tf := testtools.Binary(t, "terraform")
	// The control runs last: a sandboxed case is worth something only if
	// the control does what the sandbox prevents.
	for _, c := range []struct {
		name   string
		runner *sandbox.Runner
	}{{"sandboxed", sandboxed(t)}, {"sandboxed in a user namespace", sandboxedUserNS(t)}, {"control without sandbox", nil}} {
		confined := c.runner != nil
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			opts := terraform.Options{Sandbox: c.runner}
			r := newRigWith(t, terraform.Config{Binary: tf}, opts)
			r.write(t, "probe/main.tf", w.probeTF())
			plan := r.must(t, terraform.ActionPlan, map[string]any{"dir": "probe"})
			r.must(t, terraform.ActionApply, map[string]any{"dir": "probe", "planChecksum": plan.Output["planChecksum"]})
			b, err := os.ReadFile(filepath.Join(r.ws, "probe", "probe.txt"))
			if err != nil {
				t.Fatalf("the provisioner left no probe.txt: %v", err)
			}
			probe := string(b)
			env, err := os.ReadFile(filepath.Join(r.ws, "probe", "env.txt"))
			if err != nil {
				t.Fatal(err)
			}
			_, outsideErr := os.Stat(filepath.Join(w.outside, "x"))
			if !confined {
				if !strings.Contains(probe, configMarker) || !strings.Contains(probe, siblingMarker) || outsideErr != nil || w.conns.Load() == 0 || !strings.Contains(probe, "udp-sent") {
					t.Fatalf("the unconfined control could not do what the sandbox must prevent, so the sandboxed case proves nothing:\n%s", probe)
				}
				return
			}
			for _, want := range []string{"config-denied", "sibling-denied", "proc1-denied", "parent-environ-denied", "outside-write-denied", "workspace-write-ok", "connect-denied", "udp-unreachable"} {
				if !strings.Contains(probe, want) {
					t.Errorf("the sandboxed provisioner's probe lacks %q:\n%s", want, probe)
				}
			}
			for _, leaked := range []string{configMarker, siblingMarker, plantedAWS, plantedGitHub} {
				if strings.Contains(probe, leaked) || strings.Contains(string(env), leaked) {
					t.Errorf("the sandboxed provisioner read %q", leaked)
				}
			}
			for _, name := range []string{"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", sandbox.ShimEnv} {
				if strings.Contains(string(env), name+"=") {
					t.Errorf("the sandboxed provisioner's environment has %s", name)
				}
			}
			if outsideErr == nil {
				t.Error("the sandboxed provisioner wrote outside the workspace")
			}
			if n, d := w.conns.Load(), w.datagrams.Load(); n != 0 || d != 0 {
				t.Errorf("the listeners got %d connections and %d datagrams from a no-network sandbox", n, d)
			}
		})
	}
}

// TestSandboxedFileFunctionIsConfined: HCL's file() runs in terraform
// itself; outside the workspace, the private dir and the system it is
// denied (the plan fails), inside it works.
func TestSandboxedFileFunctionIsConfined(t *testing.T) {
	w := newWorld(t)
	r := newRigWith(t, terraform.Config{Binary: testtools.Binary(t, "terraform")}, terraform.Options{Sandbox: sandboxed(t)})
	r.write(t, "ok/local.txt", "inside\n")
	r.write(t, "ok/main.tf", `output "x" { value = file("${path.module}/local.txt") }`)
	if plan := r.must(t, terraform.ActionPlan, map[string]any{"dir": "ok"}); plan.Output["planChecksum"] == nil {
		t.Fatalf("plan %v", plan.Output)
	}
	for name, path := range map[string]string{"config": w.config, "sibling": w.sibling, "proc-self": "/proc/self/environ", "proc-1": "/proc/1/environ"} {
		r.write(t, name+"/main.tf", `output "x" { value = file("`+path+`") }`)
		out, err := r.run(t, terraform.ActionPlan, false, map[string]any{"dir": name})
		if err == nil || !strings.Contains(strings.Join(strings.Fields(err.Error()), " "), "permission denied") {
			t.Errorf("file(%q): %v %v, want the plan to fail with permission denied", path, out.Output, err)
		}
		noLeak(t, name, out, err, configMarker, siblingMarker)
	}
}

// TestSandboxCutsTheNetwork: with a filesystem mirror and no AWS session
// terraform has no network: init fails at once on a module it would
// download, and the server never sees a connection; without the sandbox
// the same init reaches it.
func TestSandboxCutsTheNetwork(t *testing.T) {
	var hits atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.NotFound(w, nil)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	tf := testtools.Binary(t, "terraform")
	mirror := timeMirror(t)
	module := `module "m" { source = "http://` + ln.Addr().String() + `/module.zip" }`

	r := newRigWith(t, terraform.Config{Binary: tf, PluginMirror: mirror}, terraform.Options{Sandbox: sandboxed(t)})
	r.write(t, "net/main.tf", module)
	start := time.Now()
	_, err = r.run(t, terraform.ActionPlan, false, map[string]any{"dir": "net"})
	took := time.Since(start)
	if err == nil || !(strings.Contains(err.Error(), "permission denied") || strings.Contains(err.Error(), "network is unreachable")) {
		t.Fatalf("init downloading a module without network: %v, want a connection error", err)
	}
	if took > 30*time.Second || hits.Load() != 0 {
		t.Fatalf("init without network took %s and reached the server %d times", took, hits.Load())
	}
	t.Logf("init without network failed after %s: %s", took.Round(time.Millisecond), lastLine(err.Error()))

	control := newRig(t, terraform.Config{Binary: tf, PluginMirror: mirror})
	control.write(t, "net/main.tf", module)
	_, _ = control.run(t, terraform.ActionPlan, false, map[string]any{"dir": "net"})
	if hits.Load() == 0 {
		t.Fatal("the unconfined control did not reach the server either, so the sandboxed case proves nothing")
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// TestSandboxPolicy: a kernel without Landlock fails the step for good
// (SandboxUnavailable, saying what is missing) when the sandbox is
// required, and runs it with a warning in the step's log when not.
func TestSandboxPolicy(t *testing.T) {
	tf := testtools.Binary(t, "terraform")
	helper := testtools.SandboxHelper(t)
	noLandlock := func() sandbox.Report {
		return sandbox.Report{LandlockErr: "simulated: no Landlock", UserNetNS: true, NoNewPrivs: true}
	}
	required := newRigWith(t, terraform.Config{Binary: tf}, terraform.Options{Sandbox: sandbox.New(sandbox.Options{Required: true, Helper: helper, Probe: noLandlock})})
	required.write(t, "infra/main.tf", serviceTF)
	_, err := required.run(t, terraform.ActionPlan, false, map[string]any{"dir": "infra", "vars": map[string]any{"name": "x"}})
	if errType(err) != terraform.SandboxUnavailableType || !strings.Contains(err.Error(), "simulated: no Landlock") || !strings.Contains(err.Error(), "scaffolder.sandbox.required: false") {
		t.Fatalf("required sandbox without Landlock: %v, want %s naming what is missing and the opt-out", err, terraform.SandboxUnavailableType)
	}
	optional := newRigWith(t, terraform.Config{Binary: tf}, terraform.Options{Sandbox: sandbox.New(sandbox.Options{Required: false, Helper: helper, Probe: noLandlock})})
	optional.write(t, "infra/main.tf", serviceTF)
	plan := optional.must(t, terraform.ActionPlan, map[string]any{"dir": "infra", "vars": map[string]any{"name": "x"}})
	if len(plan.Logs) == 0 || !strings.HasPrefix(plan.Logs[0], "warning: sandbox incomplete") || !strings.Contains(plan.Logs[0], "Landlock") {
		t.Fatalf("an optional sandbox without Landlock: logs %q, want a warning first", plan.Logs)
	}
}
