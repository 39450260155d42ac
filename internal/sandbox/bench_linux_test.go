package sandbox

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/riggerdev/rigger/internal/testtools"
)

// The benchmarks report, beside wall time, "cpu-ms/op": the CPU time
// (user+system) of the processes each operation started. Wall time on a
// shared machine measures the other load as much as the sandbox; CPU
// time measures what the sandbox costs. Namespaces a child is started
// in are made by the clone in the parent, so their cost is in
// "self-cpu-ms/op" (this process: the worker's side); a network
// namespace's teardown runs in a kernel thread and is in neither.

// loop runs op b.N times and reports its children's and its own CPU time
// per op.
func loop(b *testing.B, op func() error) {
	b.Helper()
	n, before, self := 0, testtools.ChildCPU(), testtools.SelfCPU()
	for b.Loop() {
		n++
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	testtools.ReportChildCPU(b, before, n)
	testtools.ReportSelfCPU(b, self, n)
}

// BenchmarkPlainExec is the baseline: exec /bin/true with nothing else.
func BenchmarkPlainExec(b *testing.B) {
	loop(b, func() error { return exec.Command("/bin/true").Run() })
}

// BenchmarkNamespaceExec is /bin/true in a new network namespace, without
// the helper: what the kernel's namespace set-up alone costs, with a user
// namespace ("user+net", how a worker without CAP_SYS_ADMIN cuts a tool
// off) and without ("net", how a root worker's helper does it).
func BenchmarkNamespaceExec(b *testing.B) {
	for _, tc := range []struct {
		name string
		set  func(*syscall.SysProcAttr)
	}{
		{"user+net", setNamespaces},
		{"net", func(a *syscall.SysProcAttr) { a.Cloneflags |= syscall.CLONE_NEWNET }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			loop(b, func() error {
				cmd := exec.Command("/bin/true")
				cmd.SysProcAttr = &syscall.SysProcAttr{}
				tc.set(cmd.SysProcAttr)
				return cmd.Run()
			})
		})
	}
}

// benchProbe is the kernel probe, as a worker without CAP_SYS_ADMIN sees
// it when userNS (the helper starts in a new user+network namespace).
func benchProbe(userNS bool) func() Report {
	rep := Probe()
	if userNS {
		rep.NetNS = false
	}
	return func() Report { return rep }
}

// BenchmarkSandboxExec is /bin/true through Run: the helper re-exec, rlimits,
// Landlock, and (sub-benchmarks "netns") a new network namespace. The
// helper is the test binary ("self") or cmd/rigger-sandbox ("helper").
func BenchmarkSandboxExec(b *testing.B) {
	helper := buildHelper(b)
	for _, tc := range []struct {
		name    string
		helper  string
		network bool
		userNS  bool
	}{
		{"self/netns", "", false, false},
		{"self/network", "", true, false},
		{"helper/netns", helper, false, false},
		{"helper/netns-userns", helper, false, true},
		{"helper/network", helper, true, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ws := b.TempDir()
			r := New(Options{Required: true, Helper: tc.helper, Probe: benchProbe(tc.userNS)})
			s := Spec{Path: "/bin/true", Dir: ws, Env: []string{}, Network: tc.network}
			b.Logf("probe: %s", r.Report())
			loop(b, func() error {
				res, err := r.Run(context.Background(), s)
				if err == nil && res.ExitCode != 0 {
					b.Fatalf("exit %d, %q", res.ExitCode, res.Stderr)
				}
				return err
			})
		})
	}
}

// BenchmarkShimExec is /bin/true started as a library starts terraform
// through [Runner.Shim]: a plain exec of the helper with the spec file
// named in its environment, in a new network namespace ("netns") or not.
// "-userns" is a worker without CAP_SYS_ADMIN: a user namespace, and for
// the shim one more process.
func BenchmarkShimExec(b *testing.B) {
	helper := buildHelper(b)
	for _, tc := range []struct {
		name            string
		network, userNS bool
	}{{"netns", false, false}, {"netns-userns", false, true}, {"network", true, false}} {
		b.Run(tc.name, func(b *testing.B) {
			r := New(Options{Required: true, Helper: helper, Probe: benchProbe(tc.userNS)})
			sh, err := r.Shim(Spec{Path: "/bin/true", Dir: b.TempDir(), Network: tc.network}, filepath.Join(b.TempDir(), "spec.json"))
			if err != nil {
				b.Fatal(err)
			}
			loop(b, func() error {
				cmd := exec.Command(sh.Exe)
				cmd.Env = []string{sh.EnvKey + "=" + sh.EnvValue}
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				return nil
			})
		})
	}
}
