package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain makes the test binary its own sandbox helper (os.Executable is
// the test binary here) and, as a sandboxed tool, a tiny TCP dial probe.
func TestMain(m *testing.M) {
	if spec := os.Getenv(ShimEnv); spec != "" {
		ShimMain(spec)
	}
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case ExecArg:
			Main()
		case "probe-net":
			os.Exit(probeNet(os.Args[2], os.Args[3]))
		case "probe-limits":
			os.Exit(probeLimits())
		case "probe-caps":
			os.Exit(probeCaps())
		case "probe-trace":
			os.Exit(probeTrace(os.Args[2:]))
		case "probe-block": // a Go tool with no signal handler of its own
			if err := os.WriteFile("blocked", nil, 0o644); err != nil {
				os.Exit(3)
			}
			select {}
		}
	}
	os.Exit(m.Run())
}

// probeNet lists the network interfaces it sees (name and whether up) on
// stdout, sends a UDP datagram to udpAddr, then connects to tcpAddr and
// writes one line; exit 0 when connected, 3 when not.
func probeNet(tcpAddr, udpAddr string) int {
	ifaces, err := net.Interfaces()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interfaces:", err)
	}
	for _, i := range ifaces {
		fmt.Printf("%s up=%v\n", i.Name, i.Flags&net.FlagUp != 0)
	}
	if u, err := net.Dial("udp", udpAddr); err != nil {
		fmt.Fprintln(os.Stderr, "udp:", err)
	} else {
		if _, err := u.Write([]byte("udp from the sandbox")); err != nil {
			fmt.Fprintln(os.Stderr, "udp:", err)
		}
		u.Close()
	}
	c, err := net.DialTimeout("tcp", tcpAddr, 3*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		return 3
	}
	defer c.Close()
	fmt.Fprintln(c, "hello from the sandbox")
	return 0
}

// probeLimits prints no_new_privs and the rlimits it runs under.
func probeLimits() int {
	nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "prctl:", err)
		return 3
	}
	fmt.Printf("nnp=%d", nnp)
	for _, l := range []struct {
		name string
		res  int
	}{{"cpu", unix.RLIMIT_CPU}, {"as", unix.RLIMIT_AS}, {"fsize", unix.RLIMIT_FSIZE}, {"nproc", unix.RLIMIT_NPROC}, {"core", unix.RLIMIT_CORE}} {
		var r unix.Rlimit
		if err := unix.Getrlimit(l.res, &r); err != nil {
			fmt.Fprintln(os.Stderr, "getrlimit:", err)
			return 3
		}
		fmt.Printf(" %s=%d/%d", l.name, r.Cur, r.Max)
	}
	fmt.Println()
	return 0
}

// needTool fails under CI=true, and skips loudly otherwise, when a tool the
// test runs is missing.
func needTool(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed by this test: %v", path, err)
		}
		t.Skipf("SKIPPED: %s is missing (%v); install it to run this test", path, err)
	}
}

// layout is a worker's view: a data dir holding its config and two task
// workspaces, plus a temp dir that only the tool may write.
type layout struct {
	root, ws, sibling, config, home, outside string
}

func newLayout(t *testing.T) layout {
	t.Helper()
	root := t.TempDir()
	l := layout{
		root:    root,
		ws:      filepath.Join(root, "tasks", "task-a"),
		sibling: filepath.Join(root, "tasks", "task-b"),
		config:  filepath.Join(root, "worker", "rigger.yaml"),
		home:    filepath.Join(root, "tmp-task-a"),
		outside: filepath.Join(root, "outside"),
	}
	for _, d := range []string{l.ws, l.sibling, filepath.Dir(l.config), l.home, l.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, l.config, "worker-config-marker\n")
	write(t, filepath.Join(l.sibling, "secret.txt"), "sibling-marker\n")
	write(t, filepath.Join(l.ws, "mine.txt"), "workspace-marker\n")
	return l
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (l layout) spec(args ...string) Spec {
	return Spec{
		Path:     args[0],
		Args:     args,
		Dir:      l.ws,
		Env:      []string{"PATH=/usr/bin:/bin", "HOME=" + l.home, "TMPDIR=" + l.home},
		Writable: []string{l.home},
		Timeout:  30 * time.Second,
	}
}

func strict() *Runner { return New(Options{Required: true}) }

func run(t *testing.T, r *Runner, s Spec) Result {
	t.Helper()
	res, err := r.Run(context.Background(), s)
	if err != nil {
		t.Fatalf("run %v: %v (stderr %q)", s.Args, err, res.Stderr)
	}
	return res
}

func TestReadsAreConfined(t *testing.T) {
	needTool(t, "/bin/cat")
	l := newLayout(t)
	r := strict()
	// The control proves the harness: the tool reads its own workspace.
	if res := run(t, r, l.spec("/bin/cat", "mine.txt")); res.ExitCode != 0 || string(res.Stdout) != "workspace-marker\n" {
		t.Fatalf("reading the workspace: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	type target struct{ name, tool, path string }
	targets := []target{
		{"worker config", "/bin/cat", l.config},
		{"another task's workspace", "/bin/cat", filepath.Join(l.sibling, "secret.txt")},
		{"another task's workspace listing", "/bin/ls", l.sibling},
		{"pid 1's environment", "/bin/cat", "/proc/1/environ"},
		{"a host file outside the allow-list", "/bin/cat", "/etc/shadow"},
		{"the worker's /etc", "/bin/ls", "/etc"},
	}
	// TLS private keys sit next to the roots a tool may read (Debian,
	// RHEL); checked where this host has them.
	for _, p := range []string{"/etc/ssl/private", "/etc/pki/tls/private"} {
		if _, err := os.Stat(p); err == nil {
			targets = append(targets, target{"TLS private keys " + p, "/bin/ls", p})
		}
	}
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			needTool(t, tc.tool)
			if _, err := os.Stat(tc.path); err != nil {
				t.Fatalf("the planted target must exist for the test to mean anything: %v", err)
			}
			res := run(t, r, l.spec(tc.tool, tc.path))
			if res.ExitCode == 0 || len(res.Stdout) > 0 {
				t.Fatalf("%s %s succeeded in the sandbox (%d bytes out)", tc.tool, tc.path, len(res.Stdout))
			}
			if !bytes.Contains(res.Stderr, []byte("Permission denied")) {
				t.Fatalf("%s %s: want a permission error, got %q", tc.tool, tc.path, res.Stderr)
			}
		})
	}
}

func TestWritesAreConfined(t *testing.T) {
	needTool(t, "/bin/sh")
	l := newLayout(t)
	r := strict()
	escape := filepath.Join(l.outside, "via-symlink")
	if err := os.Symlink(escape, filepath.Join(l.ws, "link-out")); err != nil {
		t.Fatal(err)
	}
	tmpTarget := filepath.Join(os.TempDir(), fmt.Sprintf("rigger-sandbox-escape-%d", os.Getpid()))
	t.Cleanup(func() { os.Remove(tmpTarget) })
	for _, tc := range []struct {
		name, target, check string
		allowed             bool
	}{
		{"inside the workspace", "new.txt", filepath.Join(l.ws, "new.txt"), true},
		{"inside a writable temp dir", filepath.Join(l.home, "t.txt"), filepath.Join(l.home, "t.txt"), true},
		{"/tmp", tmpTarget, tmpTarget, false},
		{"the parent dir", "../escape.txt", filepath.Join(filepath.Dir(l.ws), "escape.txt"), false},
		{"another task's workspace", filepath.Join(l.sibling, "x.txt"), filepath.Join(l.sibling, "x.txt"), false},
		{"through a symlink pointing out", "link-out", escape, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, r, l.spec("/bin/sh", "-c", `echo written > "$1"`, "sh", tc.target))
			_, statErr := os.Stat(tc.check)
			if tc.allowed {
				if res.ExitCode != 0 || statErr != nil {
					t.Fatalf("write %s: exit %d, stderr %q, file: %v", tc.target, res.ExitCode, res.Stderr, statErr)
				}
				return
			}
			if res.ExitCode == 0 || statErr == nil {
				t.Fatalf("write %s was allowed (exit %d, file exists: %v)", tc.target, res.ExitCode, statErr == nil)
			}
			if !bytes.Contains(res.Stderr, []byte("Permission denied")) {
				t.Fatalf("write %s: want a permission error, got %q", tc.target, res.Stderr)
			}
		})
	}
}

// netWorld is a TCP and a UDP listener on the host's loopback that
// record what reaches them.
type netWorld struct {
	tcp, udp  string
	got, gotU chan string
}

func newNetWorld(t *testing.T) *netWorld {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	w := &netWorld{tcp: ln.Addr().String(), udp: udp.LocalAddr().String(), got: make(chan string, 4), gotU: make(chan string, 4)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 64)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _ := c.Read(buf)
			c.Close()
			w.got <- string(buf[:n])
		}
	}()
	go func() {
		buf := make([]byte, 64)
		for {
			n, _, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			w.gotU <- string(buf[:n])
		}
	}()
	return w
}

// expectNothing fails if either listener got something from a tool.
func (w *netWorld) expectNothing(t *testing.T) {
	t.Helper()
	select {
	case m := <-w.got:
		t.Fatalf("the TCP listener got %q from a no-network sandbox", m)
	case m := <-w.gotU:
		t.Fatalf("the UDP listener got %q from a no-network sandbox", m)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestNetwork(t *testing.T) {
	l := newLayout(t)
	w := newNetWorld(t)
	got, gotUDP := w.got, w.gotU
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := strict()
	for _, tc := range []struct {
		name    string
		network bool
	}{{"cut off", false}, {"allowed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := l.spec(exe, "probe-net", w.tcp, w.udp)
			s.ReadOnly = []string{exe}
			s.Network = tc.network
			res := run(t, r, s)
			if !tc.network {
				if res.ExitCode != 3 {
					t.Fatalf("dial from a no-network sandbox: exit %d, stderr %q (want exit 3, a dial error)", res.ExitCode, res.Stderr)
				}
				// Landlock denies the TCP connect (permission denied) before
				// the empty namespace would (network is unreachable).
				if !bytes.Contains(res.Stderr, []byte("dial: dial tcp")) {
					t.Fatalf("dial error: %q", res.Stderr)
				}
				// The namespace: only a downed loopback, so even UDP (which
				// Landlock ABI 7 does not cover) cannot leave.
				if string(res.Stdout) != "lo up=false\n" {
					t.Fatalf("interfaces in a no-network sandbox: %q, want only a downed lo", res.Stdout)
				}
				if !bytes.Contains(res.Stderr, []byte("udp:")) {
					t.Fatalf("the UDP send did not fail: stderr %q", res.Stderr)
				}
				w.expectNothing(t)
				return
			}
			if res.ExitCode != 0 {
				t.Fatalf("dial with Network: exit %d, stderr %q", res.ExitCode, res.Stderr)
			}
			select {
			case m := <-got:
				if !strings.Contains(m, "hello from the sandbox") {
					t.Fatalf("listener got %q", m)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the listener got nothing from the sandbox with Network")
			}
			select {
			case <-gotUDP:
			case <-time.After(5 * time.Second):
				t.Fatal("the UDP listener got nothing from the sandbox with Network")
			}
		})
	}
}

func TestEnvironmentIsOnlyTheSpecs(t *testing.T) {
	needTool(t, "/usr/bin/env")
	l := newLayout(t)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "planted-aws-value-7f3a")
	t.Setenv("GITHUB_TOKEN", "planted-gh-value-91c2")
	s := l.spec("/usr/bin/env")
	s.Env = append(s.Env, "STEP_VISIBLE=passed-in")
	res := run(t, strict(), s)
	out := string(res.Stdout)
	for _, planted := range []string{"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "planted-aws-value", "planted-gh-value"} {
		if strings.Contains(out, planted) || bytes.Contains(res.Stderr, []byte(planted)) {
			t.Errorf("the tool sees the worker's %s", strings.SplitN(planted, "-value", 2)[0])
		}
	}
	if !strings.Contains(out, "STEP_VISIBLE=passed-in\n") {
		t.Errorf("the tool does not see the Spec's variable; env: %q", out)
	}
	if n := strings.Count(out, "\n"); n != len(s.Env) {
		t.Errorf("the tool has %d variables, the Spec gave %d: %q", n, len(s.Env), out)
	}
}

func TestSpecDescriptorIsNotInherited(t *testing.T) {
	needTool(t, "/bin/sh")
	l := newLayout(t)
	s := l.spec("/bin/sh", "-c", "cat <&3")
	s.Env = append(s.Env, "STEP_TOKEN=spec-body-marker")
	res := run(t, strict(), s)
	if res.ExitCode == 0 || bytes.Contains(res.Stdout, []byte("spec-body-marker")) {
		t.Fatalf("the tool read fd 3 (the Spec): exit %d", res.ExitCode)
	}
}

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	needTool(t, "/bin/sh")
	needTool(t, "/usr/bin/sleep")
	l := newLayout(t)
	s := l.spec("/bin/sh", "-c", "/usr/bin/sleep 60 & echo $!; wait")
	s.Timeout = 500 * time.Millisecond
	start := time.Now()
	res, err := strict().Run(context.Background(), s)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("want ErrTimeout, got %v (exit %d, stderr %q)", err, res.ExitCode, res.Stderr)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Run returned after %s; the timeout was %s", took, s.Timeout)
	}
	pid, perr := strconv.Atoi(strings.TrimSpace(string(res.Stdout)))
	if perr != nil {
		t.Fatalf("the shell did not print its child's pid: %q", res.Stdout)
	}
	waitGone(t, pid)
	if res.ExitCode != 128+int(syscall.SIGKILL) {
		t.Errorf("exit code %d, want %d (SIGKILL)", res.ExitCode, 128+int(syscall.SIGKILL))
	}
}

// TestCommandIsKilledWithItsContext: a caller that runs Command's cmd itself
// stops the tool and its children by cancelling ctx.
func TestCommandIsKilledWithItsContext(t *testing.T) {
	needTool(t, "/bin/sh")
	needTool(t, "/usr/bin/sleep")
	l := newLayout(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd, warning, err := strict().Command(ctx, l.spec("/bin/sh", "-c", "/usr/bin/sleep 60 & echo $!; wait"))
	if err != nil || warning != "" {
		t.Fatalf("command: %v, warning %q", err, warning)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles[0].Close()
	var pid int
	if _, err := fmt.Fscan(stdout, &pid); err != nil {
		t.Fatalf("read the child's pid: %v", err)
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the cmd did not stop after its ctx was cancelled")
	}
	waitGone(t, pid)
}

// waitGone fails unless pid is gone or a zombie within a few seconds.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		state, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(state), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the tool's child (pid %d) outlived its sandbox", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNoNewPrivsAndLimits(t *testing.T) {
	l := newLayout(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := l.spec(exe, "probe-limits")
	s.ReadOnly = []string{exe}
	s.Limits = Limits{CPUSeconds: 7, AddressSpace: 3 << 30, FileSize: 1 << 20, Processes: 99}
	res := run(t, strict(), s)
	want := fmt.Sprintf("nnp=1 cpu=7/7 as=%d/%d fsize=%d/%d nproc=99/99 core=0/0\n", 3<<30, 3<<30, 1<<20, 1<<20)
	if res.ExitCode != 0 || string(res.Stdout) != want {
		t.Fatalf("exit %d, stdout %q, stderr %q; want %q", res.ExitCode, res.Stdout, res.Stderr, want)
	}
	t.Run("the file size limit holds", func(t *testing.T) {
		needTool(t, "/bin/sh")
		needTool(t, "/usr/bin/head")
		s := l.spec("/bin/sh", "-c", "/usr/bin/head -c 2097152 /dev/zero > big.bin")
		s.Limits.FileSize = 1 << 20
		res := run(t, strict(), s)
		fi, err := os.Stat(filepath.Join(l.ws, "big.bin"))
		if res.ExitCode == 0 || err != nil || fi.Size() > 1<<20 {
			t.Fatalf("a 2 MiB write under a 1 MiB limit: exit %d, file %v (%v)", res.ExitCode, fi, err)
		}
	})
}

func TestMaxOutputBoundsAFlood(t *testing.T) {
	needTool(t, "/usr/bin/yes")
	l := newLayout(t)
	s := l.spec("/usr/bin/yes")
	s.MaxOutput = 64 << 10
	res, err := strict().Run(context.Background(), s)
	if !errors.Is(err, ErrOutputLimit) {
		t.Fatalf("want ErrOutputLimit, got %v", err)
	}
	if got := len(res.Stdout) + len(res.Stderr); int64(got) != s.MaxOutput || !res.Truncated {
		t.Fatalf("kept %d bytes (truncated %v), want exactly %d", got, res.Truncated, s.MaxOutput)
	}
	if res.Duration > 10*time.Second {
		t.Fatalf("the flood ran for %s before it was stopped", res.Duration)
	}
}

func TestGitInTheWorkspace(t *testing.T) {
	needTool(t, "/bin/sh")
	needTool(t, "/usr/bin/git")
	l := newLayout(t)
	s := l.spec("/bin/sh", "-c", `set -e
echo hello > hello.txt
cat hello.txt
git init -q -b main .
git add hello.txt
git -c user.name=Sandbox -c user.email=sandbox@example.invalid commit -q -m first
git log --format=%s`)
	s.Env = append(s.Env, "GIT_CONFIG_NOSYSTEM=1")
	res := run(t, strict(), s)
	if res.ExitCode != 0 {
		t.Fatalf("git in the workspace: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
	if string(res.Stdout) != "hello\nfirst\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
	out, err := exec.Command("/usr/bin/git", "-C", l.ws, "log", "--format=%s").Output()
	if err != nil || string(out) != "first\n" {
		t.Fatalf("the commit is not in the workspace seen from outside: %q, %v", out, err)
	}
}

func TestPolicyWhenTheKernelLacksSomething(t *testing.T) {
	needTool(t, "/bin/true")
	l := newLayout(t)
	noLandlock := func() Report {
		return Report{LandlockErr: "simulated: no Landlock", UserNetNS: true, NoNewPrivs: true}
	}
	noNS := func() Report {
		return Report{LandlockABI: 7, UserNetNSErr: "simulated: no user namespaces", NoNewPrivs: true}
	}
	t.Run("required refuses without Landlock", func(t *testing.T) {
		_, _, err := New(Options{Required: true, Probe: noLandlock}).Command(context.Background(), l.spec("/bin/true"))
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("want ErrUnavailable, got %v", err)
		}
		for _, want := range []string{"Landlock", "simulated: no Landlock", "scaffolder.sandbox.required: false"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
	t.Run("required refuses a no-network spec without namespaces", func(t *testing.T) {
		_, _, err := New(Options{Required: true, Probe: noNS}).Command(context.Background(), l.spec("/bin/true"))
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "network") {
			t.Fatalf("want ErrUnavailable naming the network, got %v", err)
		}
	})
	t.Run("required runs a network spec without namespaces", func(t *testing.T) {
		s := l.spec("/bin/true")
		s.Network = true
		res := run(t, New(Options{Required: true, Probe: noNS}), s)
		if res.ExitCode != 0 || res.Warning != "" {
			t.Fatalf("exit %d, warning %q", res.ExitCode, res.Warning)
		}
	})
	t.Run("not required runs and warns", func(t *testing.T) {
		res := run(t, New(Options{Required: false, Probe: noLandlock}), l.spec("/bin/true"))
		if res.ExitCode != 0 {
			t.Fatalf("exit %d, stderr %q", res.ExitCode, res.Stderr)
		}
		if !strings.Contains(res.Warning, "Landlock") {
			t.Fatalf("warning %q does not say Landlock is missing", res.Warning)
		}
	})
	t.Run("fully available: no warning", func(t *testing.T) {
		res := run(t, strict(), l.spec("/bin/true"))
		if res.Warning != "" || res.ExitCode != 0 {
			t.Fatalf("exit %d, warning %q", res.ExitCode, res.Warning)
		}
	})
}

func TestHelperFailures(t *testing.T) {
	l := newLayout(t)
	t.Run("missing tool exits 127 with one line", func(t *testing.T) {
		res := run(t, strict(), l.spec("/usr/bin/no-such-tool-rigger"))
		if res.ExitCode != ExitNotFound {
			t.Fatalf("exit %d, want %d", res.ExitCode, ExitNotFound)
		}
		if msg := string(res.Stderr); !strings.HasPrefix(msg, "rigger sandbox-exec: ") || strings.Count(msg, "\n") != 1 {
			t.Fatalf("stderr %q, want one rigger sandbox-exec line", msg)
		}
	})
	t.Run("tool outside the readable paths exits 126", func(t *testing.T) {
		needTool(t, "/bin/true")
		other := t.TempDir()
		tool := filepath.Join(other, "mytrue")
		data, err := os.ReadFile("/bin/true")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tool, data, 0o755); err != nil {
			t.Fatal(err)
		}
		// Path itself is granted, so copy it next to a second one that is not.
		s := l.spec("/bin/sh", "-c", `exec "$1"`, "sh", tool)
		res := run(t, strict(), s)
		if res.ExitCode != 126 || !bytes.Contains(res.Stderr, []byte("Permission denied")) {
			t.Fatalf("exec of a tool outside the allow-list: exit %d, stderr %q", res.ExitCode, res.Stderr)
		}
	})
	t.Run("invalid spec", func(t *testing.T) {
		for _, s := range []Spec{
			{Path: "sh", Dir: l.ws},
			{Path: "/bin/true", Dir: "rel"},
			{Path: "/bin/true", Dir: "/"},
			{Path: "/bin/true", Dir: l.ws, Env: []string{"no-equals-sign-secret"}},
			{Path: "/bin/true", Dir: l.ws, Writable: []string{"/"}},
		} {
			_, _, err := strict().Command(context.Background(), s)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%+v: want ErrInvalid, got %v", s.Path, err)
			}
			if err != nil && strings.Contains(err.Error(), "no-equals-sign-secret") {
				t.Errorf("the error shows an environment entry")
			}
		}
	})
}

// buildHelper builds cmd/rigger-sandbox into a temp dir (the go command is
// needed; under CI=true its absence fails).
func buildHelper(tb testing.TB) string {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("the go command is needed to build cmd/rigger-sandbox: %v", err)
		}
		tb.Skipf("SKIPPED: no go command to build cmd/rigger-sandbox (%v)", err)
	}
	out := filepath.Join(tb.TempDir(), "rigger-sandbox")
	build := exec.Command(goTool, "build", "-o", out, "../../cmd/rigger-sandbox")
	if msg, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("go build cmd/rigger-sandbox: %v\n%s", err, msg)
	}
	return out
}

// TestDedicatedHelper runs the confinement through cmd/rigger-sandbox, the
// small helper binary workers can use instead of re-executing rigger.
func TestDedicatedHelper(t *testing.T) {
	needTool(t, "/bin/sh")
	l := newLayout(t)
	r := New(Options{Required: true, Helper: buildHelper(t)})
	s := l.spec("/bin/sh", "-c", `cat "$1" || echo denied; echo ok > inside.txt; echo "$STEP_VAR"`, "sh", l.config)
	s.Env = append(s.Env, "STEP_VAR=seen")
	res := run(t, r, s)
	if res.ExitCode != 0 || string(res.Stdout) != "denied\nseen\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	if _, err := os.Stat(filepath.Join(l.ws, "inside.txt")); err != nil {
		t.Fatalf("the write inside the workspace did not happen: %v", err)
	}
	if _, _, err := New(Options{Helper: "rigger-sandbox"}).Command(context.Background(), l.spec("/bin/true")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a relative helper path: want ErrInvalid, got %v", err)
	}
}

func TestProbeOnThisKernel(t *testing.T) {
	rep := Probe()
	t.Logf("probe: %s", rep)
	if rep.String() == "" {
		t.Fatal("empty report")
	}
	// Tested machines (and CI) have Landlock and namespaces: the sandbox
	// tests above rely on them, and so does this one.
	if rep.LandlockABI < 1 || !rep.UserNetNS || !rep.NoNewPrivs {
		t.Fatalf("this kernel lacks part of the sandbox: %s", rep)
	}
}
