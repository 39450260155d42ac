package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shimmed starts the shim as a library would (its own exec.Cmd with its
// own attributes and environment) and returns stdout, stderr and the exit
// code.
func shimmed(t *testing.T, sh Shimmed, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(sh.Exe, args...)
	cmd.Env = append(env, sh.EnvKey+"="+sh.EnvValue)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("start the shim: %v", err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// TestShim: a tool started by a library through the shim gets the
// library's arguments and environment (without the shim's variable), its
// exit code reaches the library, and it is confined as through Command:
// reads and writes outside its paths are denied and, without Network, it
// is in an empty network namespace.
func TestShim(t *testing.T) {
	needTool(t, "/bin/sh")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l := newLayout(t)
	specDir := t.TempDir()
	t.Setenv("GITHUB_TOKEN", "planted-gh-value-5e1d")
	for _, network := range []bool{false, true} {
		s := Spec{Path: "/bin/sh", Args: []string{"sh", "ignored"}, Dir: l.ws, Writable: []string{l.home}, ReadOnly: []string{exe}, Network: network}
		sh, err := strict().Shim(s, filepath.Join(specDir, "spec-"+map[bool]string{false: "nonet", true: "net"}[network]+".json"))
		if err != nil || sh.Warning != "" || sh.EnvKey != ShimEnv {
			t.Fatalf("shim: %+v, %v", sh, err)
		}
		script := `echo "args:$1,$2"; env | sort; cat "$3" || echo read-denied; echo x > "$4" || echo write-denied; echo ok > inside.txt; ` +
			`"$5" probe-net 127.0.0.1:1 127.0.0.1:1 | head -1; exit 7`
		out, errOut, code := shimmed(t, sh, []string{"PATH=/usr/bin:/bin", "STEP_VAR=seen"},
			"-c", script, "sh", "a b", "c", l.config, filepath.Join(l.outside, "x"), exe)
		if code != 7 {
			t.Fatalf("network %v: exit %d, want the tool's 7; stderr %q", network, code, errOut)
		}
		for _, want := range []string{"args:a b,c\n", "STEP_VAR=seen\n", "read-denied\n", "write-denied\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("network %v: stdout lacks %q:\n%s", network, want, out)
			}
		}
		for _, bad := range []string{ShimEnv, "GITHUB_TOKEN", "planted-gh-value", "worker-config-marker"} {
			if strings.Contains(out, bad) {
				t.Errorf("network %v: the tool saw %q", network, bad)
			}
		}
		if ifaces := "lo up=false\n"; strings.Contains(out, ifaces) == network {
			t.Errorf("network %v: interfaces (first line of probe-net) in %q", network, out)
		}
		if _, err := os.Stat(filepath.Join(l.ws, "inside.txt")); err != nil {
			t.Errorf("network %v: the write in the workspace failed: %v", network, err)
		}
	}
	t.Run("a spec file the tool may write is refused", func(t *testing.T) {
		for _, f := range []string{filepath.Join(l.ws, "spec.json"), filepath.Join(l.home, "sub", "spec.json"), "rel.json"} {
			if _, err := strict().Shim(Spec{Path: "/bin/true", Dir: l.ws, Writable: []string{l.home}}, f); !errors.Is(err, ErrInvalid) {
				t.Errorf("spec file %s: want ErrInvalid, got %v", f, err)
			}
		}
	})
	t.Run("an existing spec file is not overwritten", func(t *testing.T) {
		f := filepath.Join(specDir, "taken.json")
		write(t, f, "{}")
		if _, err := strict().Shim(Spec{Path: "/bin/true", Dir: l.ws}, f); err == nil {
			t.Fatal("Shim overwrote an existing file")
		}
	})
	t.Run("a spec file others may write is refused by the shim", func(t *testing.T) {
		f := filepath.Join(specDir, "loose.json")
		sh, err := strict().Shim(Spec{Path: "/bin/true", Dir: l.ws, Network: true}, f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f, 0o666); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := shimmed(t, sh, nil)
		if code != ExitCannotRun || !strings.HasPrefix(errOut, "rigger sandbox shim: ") {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("required refuses without Landlock", func(t *testing.T) {
		r := New(Options{Required: true, Probe: func() Report { return Report{LandlockErr: "simulated", UserNetNS: true, NoNewPrivs: true} }})
		if _, err := r.Shim(Spec{Path: "/bin/true", Dir: l.ws}, filepath.Join(specDir, "refused.json")); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("want ErrUnavailable, got %v", err)
		}
	})
}

// TestShimLimitsOnlyTheTool: a shim that waits for its tool (a worker
// that starts it in a new user and network namespace) runs under its own
// rlimits, not the tool's, which count its threads against RLIMIT_NPROC
// and would abort its runtime (review L5); the tool still has them from
// its first instruction.
func TestShimLimitsOnlyTheTool(t *testing.T) {
	needTool(t, "/bin/sh")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l := newLayout(t)
	r := New(Options{Required: true, Probe: func() Report { rep := Probe(); rep.NetNS = false; return rep }})
	s := Spec{Path: "/bin/sh", Dir: l.ws, ReadOnly: []string{exe}, Limits: Limits{CPUSeconds: 33, Processes: 77}}
	sh, err := r.Shim(s, filepath.Join(t.TempDir(), "spec.json"))
	if err != nil || sh.Warning != "" {
		t.Fatalf("shim: %+v, %v", sh, err)
	}
	cmd := exec.Command(sh.Exe, "-c", `"$1" probe-limits; echo > started; while [ ! -e done ]; do sleep 0.02; done`, "sh", exe)
	cmd.Env = []string{"PATH=/usr/bin:/bin", sh.EnvKey + "=" + sh.EnvValue}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(l.ws, "started")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tool never started; stdout %q, stderr %q", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	shimLimits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	own, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(l.ws, "done"), "")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("shim: %v; stderr %q", err, errOut.String())
	}
	if string(shimLimits) != string(own) {
		t.Errorf("the shim runs under other rlimits than it was started with:\n%s\nwant\n%s", shimLimits, own)
	}
	if got := out.String(); !strings.Contains(got, "nnp=1 cpu=33/33 ") || !strings.Contains(got, " nproc=77/77 core=0/0") {
		t.Errorf("the tool's limits: %q", got)
	}
}

// TestShimToolTakesItsDescendantsAlong: a tool the non-root shim starts
// is PID 1 of its own PID namespace, so a process it leaves behind (a
// provisioner's background command, a provider that outlives it) dies
// with it, whether the tool exits or the shim is killed, as
// terraform-exec does when a step is cancelled (review L3).
func TestShimToolTakesItsDescendantsAlong(t *testing.T) {
	needTool(t, "/bin/sh")
	needTool(t, "/bin/sleep")
	l := newLayout(t)
	r := New(Options{Required: true, Probe: func() Report { rep := Probe(); rep.NetNS = false; return rep }})
	for i, how := range []string{"the tool exits", "the shim is killed"} {
		t.Run(how, func(t *testing.T) {
			marker := fmt.Sprintf("%d.%d", 3000+os.Getpid()%1000, i) // sleep's argument, unique to this run
			sh, err := r.Shim(Spec{Path: "/bin/sh", Dir: l.ws}, filepath.Join(t.TempDir(), "spec.json"))
			if err != nil {
				t.Fatal(err)
			}
			script := `setsid /bin/sleep "$1" </dev/null >/dev/null 2>&1 & echo > "started$2"; while [ ! -e "go$2" ]; do /bin/sleep 0.02; done`
			cmd := exec.Command(sh.Exe, "-c", script, "sh", marker, fmt.Sprint(i))
			cmd.Env = []string{"PATH=/usr/bin:/bin", sh.EnvKey + "=" + sh.EnvValue}
			var errOut bytes.Buffer
			cmd.Stderr = &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				for _, pid := range sleepers(marker) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			waitFile(t, filepath.Join(l.ws, fmt.Sprintf("started%d", i)))
			for deadline := time.Now().Add(30 * time.Second); len(sleepers(marker)) == 0; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the grandchild never started; shim stderr %q", errOut.String())
				}
			}
			if i == 0 {
				write(t, filepath.Join(l.ws, "go0"), "")
			} else {
				_ = cmd.Process.Kill()
			}
			_ = cmd.Wait()
			deadline := time.Now().Add(10 * time.Second)
			for len(sleepers(marker)) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the tool's grandchild %v outlived it (%s); shim stderr %q", sleepers(marker), how, errOut.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// sleepers lists the pids of /bin/sleep processes whose argument is arg.
func sleepers(arg string) []int {
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + d.Name() + "/cmdline"); err == nil && string(b) == "/bin/sleep\x00"+arg+"\x00" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitFile waits up to 30 s for path to exist.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShimInterruptEndsAGoTool: terraform-exec cancels a step with
// SIGINT to the shim, which forwards it. PID 1 of a PID namespace
// ignores a signal it has no handler for, but a Go tool always has one
// (the runtime's), so it still ends (review L3).
func TestShimInterruptEndsAGoTool(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l := newLayout(t)
	r := New(Options{Required: true, Probe: func() Report { rep := Probe(); rep.NetNS = false; return rep }})
	sh, err := r.Shim(Spec{Path: exe, Dir: l.ws}, filepath.Join(t.TempDir(), "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh.Exe, "probe-block")
	cmd.Env = []string{sh.EnvKey + "=" + sh.EnvValue}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(l.ws, "blocked"))
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the interrupted tool exited 0")
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the tool ignored the interrupt; stderr %q", errOut.String())
	}
}
