package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// probeCaps prints the capability sets it runs with, as hex masks.
func probeCaps() int {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		fmt.Fprintln(os.Stderr, "capget:", err)
		return 3
	}
	var bnd, amb uint64
	for c := 0; c < 64; c++ {
		if in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err == nil && in == 1 {
			bnd |= 1 << c
		}
		if in, err := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, uintptr(c), 0, 0); err == nil && in == 1 {
			amb |= 1 << c
		}
	}
	mask := func(lo, hi uint32) uint64 { return uint64(hi)<<32 | uint64(lo) }
	fmt.Printf("eff=%x prm=%x inh=%x bnd=%x amb=%x\n",
		mask(data[0].Effective, data[1].Effective), mask(data[0].Permitted, data[1].Permitted),
		mask(data[0].Inheritable, data[1].Inheritable), bnd, amb)
	return 0
}

// ownNetNSRunner is the strict policy with the helper making the network
// namespace itself (Report.NetNS); it fails the test where this process
// may not (a worker that is not root), under CI=true or as root, and
// skips loudly otherwise.
func ownNetNSRunner(t *testing.T) *Runner {
	t.Helper()
	rep := Probe()
	if !rep.NetNS {
		if os.Getenv("CI") == "true" || os.Geteuid() == 0 {
			t.Fatalf("this process (euid %d) cannot make a network namespace itself: %s", os.Geteuid(), rep)
		}
		t.Skipf("SKIPPED: not root (euid %d), so the helper cannot make the network namespace itself; under CI=true this fails", os.Geteuid())
	}
	return New(Options{Required: true, Probe: func() Report { return rep }})
}

// userNetNSRunner is the strict policy as a worker without CAP_SYS_ADMIN
// has it: the helper, or the shim's child, starts in a new user and
// network namespace.
func userNetNSRunner() *Runner {
	return New(Options{Required: true, Probe: func() Report {
		rep := Probe()
		rep.NetNS = false
		return rep
	}})
}

// TestNoNetworkBothWays: a no-network tool is cut off whether the helper
// makes the network namespace itself (root: no user namespace, no
// capabilities left) or starts in a new user+network namespace, through
// Run and through the shim: only a downed loopback, TCP and UDP fail, and
// reads and writes outside the workspace are denied.
func TestNoNetworkBothWays(t *testing.T) {
	needTool(t, "/bin/sh")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l := newLayout(t)
	w := newNetWorld(t)
	for _, tc := range []struct {
		name string
		r    *Runner
	}{{"own netns", ownNetNSRunner(t)}, {"user netns", userNetNSRunner()}} {
		if tc.name == "own netns" {
			if rep := tc.r.Report(); !rep.NetNS {
				t.Fatalf("own netns runner: %s", rep)
			}
		}
		script := `cat "$1" || echo read-denied; echo x > "$2" || echo write-denied; "$3" probe-net "$4" "$5"; echo "net=$?"`
		args := []string{"sh", l.config, filepath.Join(l.outside, tc.name), exe, w.tcp, w.udp}
		check := func(t *testing.T, out string) {
			t.Helper()
			for _, want := range []string{"read-denied\n", "write-denied\n", "lo up=false\n", "net=3\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "worker-config-marker") {
				t.Error("the tool read the worker's config")
			}
			if _, err := os.Stat(filepath.Join(l.outside, tc.name)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the write outside the workspace happened (%v)", err)
			}
			w.expectNothing(t)
		}
		t.Run(tc.name+"/run", func(t *testing.T) {
			s := l.spec(append([]string{"/bin/sh", "-c", script}, args...)...)
			s.ReadOnly = []string{exe}
			res := run(t, tc.r, s)
			if res.ExitCode != 0 {
				t.Fatalf("exit %d, stderr %q", res.ExitCode, res.Stderr)
			}
			check(t, string(res.Stdout))
		})
		t.Run(tc.name+"/shim", func(t *testing.T) {
			sh, err := tc.r.Shim(Spec{Path: "/bin/sh", Dir: l.ws, Writable: []string{l.home}, ReadOnly: []string{exe}},
				filepath.Join(t.TempDir(), "spec.json"))
			if err != nil || sh.Warning != "" {
				t.Fatalf("shim: %v, warning %q", err, sh.Warning)
			}
			out, errOut, code := shimmed(t, sh, []string{"PATH=/usr/bin:/bin"}, append([]string{"-c", script}, args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			check(t, out)
		})
	}
}

// TestOwnNetNSDropsCapabilities: a tool the helper cut off in a network
// namespace of its own (no user namespace) holds no capability, in any
// set, through Run and through the shim, so it cannot leave that
// namespace or undo its confinement; it is still confined (no_new_privs,
// rlimits).
func TestOwnNetNSDropsCapabilities(t *testing.T) {
	r := ownNetNSRunner(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l := newLayout(t)
	const none = "eff=0 prm=0 inh=0 bnd=0 amb=0\n"
	s := l.spec(exe, "probe-caps")
	s.ReadOnly = []string{exe}
	if res := run(t, r, s); res.ExitCode != 0 || string(res.Stdout) != none {
		t.Fatalf("run: exit %d, stdout %q (want %q), stderr %q", res.ExitCode, res.Stdout, none, res.Stderr)
	}
	s = l.spec(exe, "probe-limits")
	s.ReadOnly = []string{exe}
	if res := run(t, r, s); res.ExitCode != 0 || !strings.HasPrefix(string(res.Stdout), "nnp=1 cpu=600/600 ") {
		t.Fatalf("limits: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	sh, err := r.Shim(Spec{Path: exe, Dir: l.ws, ReadOnly: []string{exe}}, filepath.Join(t.TempDir(), "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := shimmed(t, sh, nil, "probe-caps"); code != 0 || out != none {
		t.Fatalf("shim: exit %d, stdout %q (want %q), stderr %q", code, out, none, errOut)
	}
	// With the network too, the tool holds no capability (review 31: a
	// root worker's git or provider kept them all).
	s = l.spec(exe, "probe-caps")
	s.ReadOnly, s.Network = []string{exe}, true
	if res := run(t, r, s); res.ExitCode != 0 || string(res.Stdout) != none {
		t.Fatalf("with the network: exit %d, stdout %q (want %q), stderr %q", res.ExitCode, res.Stdout, none, res.Stderr)
	}
}
