package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// probeTrace tries to attach with ptrace to each task of tids and says
// whether it could attach to any.
func probeTrace(tids []string) int {
	runtime.LockOSThread()
	var first error
	for _, t := range tids {
		tid, err := strconv.Atoi(t)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tid:", err)
			return 3
		}
		if err := unix.PtraceSeize(tid); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		_ = unix.PtraceInterrupt(tid)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(tid, &ws, unix.WALL, nil)
		_ = unix.PtraceDetach(tid)
		fmt.Printf("trace=ALLOWED (task %d)\n", tid)
		return 0
	}
	fmt.Printf("trace=denied (%d tasks: %v)\n", len(tids), first)
	return 0
}

// nobody is the uid and gid a root test runs a "non-root worker" as.
const nobody = 65534

// TestShimNonRootWorker runs the shim as a worker without CAP_SYS_ADMIN
// does (as uid 65534 when the test runs as root): the tool, cut off from
// the network, holds no capability (effective, permitted, inheritable,
// ambient), has no_new_privs and the rlimits, sees only a downed
// loopback, cannot read the worker's configuration or write outside its
// paths though the file modes would let it, and cannot trace the shim,
// which waits for it in the worker's network namespace (in its own PID
// namespace the tool cannot even name the shim's threads).
func TestShimNonRootWorker(t *testing.T) {
	needTool(t, "/bin/sh")
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = nobody, nobody
	}
	dir, err := os.MkdirTemp("", "rigger-shim-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	mine := func(p string, mode os.FileMode) string {
		t.Helper()
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if os.Getuid() == 0 {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	mkdir := func(p string) string {
		t.Helper()
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return mine(p, 0o755)
	}
	mine(dir, 0o755)
	exe := copyExecutable(t, filepath.Join(dir, "sandbox.test"))
	ws, outside, specs := mkdir(filepath.Join(dir, "ws")), mkdir(filepath.Join(dir, "outside")), mkdir(filepath.Join(dir, "specs"))
	config := filepath.Join(dir, "rigger.yaml")
	write(t, config, "worker-config-marker\n")
	mine(config, 0o644)

	r := New(Options{Required: true, Helper: exe, Probe: func() Report { rep := Probe(); rep.NetNS = false; return rep }})
	sh, err := r.Shim(Spec{Path: "/bin/sh", Dir: ws, ReadOnly: []string{exe}}, filepath.Join(specs, "spec.json"))
	if err != nil || sh.Warning != "" {
		t.Fatalf("shim: %+v, %v", sh, err)
	}
	mine(sh.EnvValue, 0o600)
	script := `cat "$1" || echo read-denied; echo x > "$2/x" || echo write-denied; echo ok > inside.txt; ` +
		`"$3" probe-caps; "$3" probe-limits; "$3" probe-net 127.0.0.1:1 127.0.0.1:1 | head -1; ` +
		`echo $$ > started; while [ ! -s tids ]; do sleep 0.02; done; "$3" probe-trace $(cat tids); exit 7`
	cmd := exec.Command(sh.Exe, "-c", script, "sh", config, outside, exe)
	cmd.Env = []string{"PATH=/usr/bin:/bin", sh.EnvKey + "=" + sh.EnvValue}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Getuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the shim: %v", err)
	}
	// The tool asks to trace every thread of the shim, its parent. Its
	// user namespace has no ID maps.
	uidMap := make(chan string, 1)
	go func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(filepath.Join(ws, "started")); err == nil && len(b) > 0 {
				// The tool's pid here: it is 1 in its own PID namespace.
				m, err := os.ReadFile("/proc/" + toolPID(cmd.Process.Pid) + "/uid_map")
				uidMap <- fmt.Sprintf("%q %v", m, err)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", cmd.Process.Pid))
		var tids []string
		for _, e := range tasks {
			tids = append(tids, e.Name())
		}
		_ = os.WriteFile(filepath.Join(ws, "tids"), []byte(strings.Join(tids, " ")+"\n"), 0o644)
	}()
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("start the shim: %v", err)
	}
	if code := cmd.ProcessState.ExitCode(); code != 7 {
		t.Fatalf("exit %d, want the tool's 7; stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	got := out.String()
	t.Logf("the tool's view:\n%s", got)
	for _, want := range []string{"read-denied\n", "write-denied\n", "eff=0 prm=0 inh=0 bnd=", " amb=0\n", "nnp=1 cpu=600/600 ", "lo up=false\n", "trace=denied"} {
		if !strings.Contains(got, want) {
			t.Errorf("the tool's output lacks %q", want)
		}
	}
	select {
	case m := <-uidMap:
		if m != `"" <nil>` {
			t.Errorf("the tool's uid_map: %s, want an empty one (a user namespace without ID maps)", m)
		}
	default:
		t.Error("the tool never said it started")
	}
	if strings.Contains(got, "worker-config-marker") {
		t.Error("the tool read the worker's configuration")
	}
	if _, err := os.Stat(filepath.Join(outside, "x")); err == nil {
		t.Error("the tool wrote outside its paths")
	}
	if _, err := os.Stat(filepath.Join(ws, "inside.txt")); err != nil {
		t.Errorf("the write in the workspace failed: %v", err)
	}
}

// toolPID is the pid, in this PID namespace, of the only child of the
// process shim ("?" when it has none or several).
func toolPID(shim int) string {
	var kids []string
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", shim))
	for _, e := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", shim, e.Name()))
		kids = append(kids, strings.Fields(string(b))...)
	}
	if len(kids) != 1 {
		return "?"
	}
	return kids[0]
}

// copyExecutable copies this test binary to dst, mode 0755 (a directory
// the non-root user may read).
func copyExecutable(t *testing.T, dst string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// nestedNSScript, run by python3 (single-threaded, so it may unshare a
// user namespace itself), takes every capability in a new user namespace
// and tries what they allow on the directory argv[1].
const nestedNSScript = `
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
def t(name, rc):
    e = ctypes.get_errno()
    print(name, "ok" if rc == 0 else "denied:" + errno.errorcode.get(e, str(e)))
d = sys.argv[1].encode()
t("userns", libc.unshare(0x10000000))
t("mountns", libc.unshare(0x00020000))
t("mount", libc.mount(b"none", d, b"tmpfs", 0, None))
t("bind", libc.mount(b"/", d, None, 4096 | 16384, None))
t("netns", libc.unshare(0x40000000))
t("nnp-clear", libc.prctl(38, 0, 0, 0, 0))
print("nnp", libc.prctl(39, 0, 0, 0, 0))
`

// TestCapabilitiesInANestedUserNamespace: a sandboxed tool can take every
// capability in a user namespace of its own (so starting it in one, as
// the shim of a non-root worker does, gives it nothing new), and with
// them it can make mount and network namespaces, but cannot mount
// (Landlock forbids changing the filesystem topology) nor clear
// no_new_privs; through both ways of cutting the network. The control,
// without the sandbox, mounts.
func TestCapabilitiesInANestedUserNamespace(t *testing.T) {
	const python = "/usr/bin/python3"
	needTool(t, python)
	l := newLayout(t)
	mnt := filepath.Join(l.ws, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	userNS := New(Options{Required: true, Probe: func() Report { rep := Probe(); rep.NetNS = false; return rep }})
	for name, r := range map[string]*Runner{"own netns": strict(), "user namespace": userNS} {
		res := run(t, r, l.spec(python, "-c", nestedNSScript, mnt))
		got := string(res.Stdout)
		for _, want := range []string{"userns ok\n", "mountns ok\n", "mount denied:EPERM\n", "bind denied:EPERM\n", "netns ok\n", "nnp-clear denied:EINVAL\n", "nnp 1\n"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: the tool's output lacks %q:\n%s%s", name, want, got, res.Stderr)
			}
		}
	}
	out, err := exec.Command(python, "-c", nestedNSScript, mnt).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "mount ok\n") {
		t.Fatalf("the unconfined control could not mount, so the sandboxed case proves nothing: %v\n%s", err, out)
	}
}
