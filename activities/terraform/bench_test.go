package terraform_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/activities/step"
	"github.com/riggerdev/rigger/activities/terraform"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/sandbox"
	"github.com/riggerdev/rigger/internal/testtools"
)

// BenchmarkPlanApply is issue 18's figure: a terraform_data plan+apply
// through the actions (init, plan, show -json, show, then the checksum
// check, apply, output; terraform-exec adds a `terraform version` on a
// handle's first use: per directory without the sandbox, so in every
// iteration here, once per binary with it) against the same work by
// hand. Each iteration starts from a new directory. Beside wall time it
// reports "cpu-ms/op", the CPU time of the processes an iteration
// started (terraform, and the sandbox helper in its place), which the
// other load on a shared machine disturbs far less, and
// "self-cpu-ms/op", this process's own (the actions' work in the worker,
// or starting the commands by hand).
func BenchmarkPlanApply(b *testing.B) {
	bin := testtools.Binary(b, "terraform")
	helper := testtools.SandboxHelper(b)
	actions := func(b *testing.B, sbx *sandbox.Runner) {
		acts, err := terraform.Actions(nil, terraform.Config{Binary: bin}, terraform.Options{TempDir: b.TempDir(), Sandbox: sbx})
		if err != nil {
			b.Fatal(err)
		}
		ws := b.TempDir()
		ctx := step.WithEnv(context.Background(), step.Env{Run: credentials.Run{TaskID: taskID}, StepID: "tf", Workspace: ws})
		i, cpu, self := 0, testtools.ChildCPU(), testtools.SelfCPU()
		for b.Loop() {
			i++
			dir := benchDir(b, ws, i)
			rel, _ := filepath.Rel(ws, dir)
			plan, err := acts[terraform.ActionPlan](ctx, contract.ActionInput{Input: map[string]any{"dir": rel, "vars": map[string]any{"name": "bench"}}})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := acts[terraform.ActionApply](ctx, contract.ActionInput{Input: map[string]any{"dir": rel, "planChecksum": plan.Output["planChecksum"]}}); err != nil {
				b.Fatal(err)
			}
		}
		testtools.ReportChildCPU(b, cpu, i)
		testtools.ReportSelfCPU(b, self, i)
	}
	b.Run("actions", func(b *testing.B) { actions(b, nil) })
	// Every terraform process through the sandbox (rigger-sandbox in
	// terraform's place, a new network namespace: no network needed).
	b.Run("actions-sandboxed", func(b *testing.B) {
		sbx := sandbox.New(sandbox.Options{Required: true, Helper: helper})
		sbx.Report()
		actions(b, sbx)
	})
	// The same as a worker without CAP_SYS_ADMIN (not root, as the
	// worker image runs) cuts terraform off: in a new user and network
	// namespace.
	b.Run("actions-sandboxed-userns", func(b *testing.B) {
		rep := sandbox.Probe()
		rep.NetNS = false
		sbx := sandbox.New(sandbox.Options{Required: true, Helper: helper, Probe: func() sandbox.Report { return rep }})
		actions(b, sbx)
	})
	byHand := func(b *testing.B, commands [][]string) {
		ws := b.TempDir()
		home := b.TempDir()
		rc := filepath.Join(home, "terraform.rc")
		if err := os.WriteFile(rc, []byte("disable_checkpoint = true\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		i, cpu, self := 0, testtools.ChildCPU(), testtools.SelfCPU()
		for b.Loop() {
			i++
			dir := benchDir(b, ws, i)
			for _, args := range commands {
				cmd := exec.Command(bin, args...)
				cmd.Dir = dir
				cmd.Env = []string{"PATH=" + terraform.DefaultPath, "HOME=" + home, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_CLI_CONFIG_FILE=" + rc}
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("terraform %v: %v\n%s", args, err, out)
				}
			}
		}
		testtools.ReportChildCPU(b, cpu, i)
		testtools.ReportSelfCPU(b, self, i)
	}
	initPlan := [][]string{{"init", "-input=false", "-no-color"}, {"plan", "-input=false", "-no-color", "-out=tfplan", "-var", "name=bench"}}
	b.Run("by-hand-init-plan-apply", func(b *testing.B) {
		byHand(b, append(initPlan, []string{"apply", "-input=false", "-no-color", "tfplan"}))
	})
	b.Run("by-hand-same-commands", func(b *testing.B) {
		byHand(b, append(initPlan, []string{"show", "-json", "tfplan"}, []string{"show", "-no-color", "tfplan"},
			[]string{"apply", "-input=false", "-no-color", "tfplan"}, []string{"output", "-json"}))
	})
}

// benchDir is a new directory of ws holding serviceTF.
func benchDir(b *testing.B, ws string, i int) string {
	dir := filepath.Join(ws, fmt.Sprintf("d%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(serviceTF), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}
