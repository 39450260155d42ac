package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Shim prepares a tool that a library starts itself, building its own
// exec.Cmd (terraform through terraform-exec): the library is given
// Shimmed.Exe as the tool's path and Shimmed's variable in the tool's
// environment, and the helper, started so, confines the tool exactly as
// [Runner.Command] would and execs it with the library's arguments and
// environment (minus the variable). When the Spec needs no network the
// helper moves itself into a new network namespace before the exec when
// it may (Report.NetNS), and otherwise confines itself and starts the
// tool in a new user and network namespace of its own (see the package
// doc), since the library starts the helper with attributes of its own
// choosing.
//
// s.Env and s.Args beyond argv[0] are not used (they come from the
// library); s.Timeout and s.MaxOutput neither: the library bounds the run.
// The Spec is written to file (created, mode 0600, refusing an existing
// file), which must lie outside s.Dir and s.Writable: a tool that could
// rewrite it would widen its next run's sandbox. It holds no secret (no
// environment). The caller removes it when the tool will not run again.
func (r *Runner) Shim(s Spec, file string) (Shimmed, error) {
	s.Env = nil
	if len(s.Args) > 1 {
		s.Args = s.Args[:1]
	}
	if err := s.Validate(); err != nil {
		return Shimmed{}, err
	}
	if !filepath.IsAbs(file) {
		return Shimmed{}, fmt.Errorf("%w: shim spec file %q is not absolute", ErrInvalid, file)
	}
	for _, d := range append([]string{s.Dir}, s.Writable...) {
		if within(file, d) {
			return Shimmed{}, fmt.Errorf("%w: shim spec file %s lies in %s, which the tool may write", ErrInvalid, file, d)
		}
	}
	w, warning, err := r.plan(s)
	if err != nil {
		return Shimmed{}, err
	}
	w.NewNetNS = !s.Network && !w.OwnNetNS && r.Report().UserNetNS
	exe, err := r.helper()
	if err != nil {
		return Shimmed{}, err
	}
	data, err := json.Marshal(w)
	if err != nil {
		return Shimmed{}, fmt.Errorf("sandbox: encode spec: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Shimmed{}, fmt.Errorf("sandbox: shim spec: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Shimmed{}, fmt.Errorf("sandbox: write shim spec: %w", err)
	}
	return Shimmed{Exe: exe, EnvKey: ShimEnv, EnvValue: file, Warning: warning}, nil
}

// within says whether p is d or lies below it (lexically).
func within(p, d string) bool {
	rel, err := filepath.Rel(filepath.Clean(d), filepath.Clean(p))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// ShimMain is the helper started in a tool's place (see [Runner.Shim]);
// specFile is the value of ShimEnv. It never returns: it becomes the
// confined tool, or, when the tool needs a new network namespace, waits
// for the tool it started confined and exits as it did. On failure it
// writes one line to stderr and exits 126 (127 when the tool does not
// exist).
func ShimMain(specFile string) {
	code, err := shim(specFile, os.Args, os.Environ())
	if err != nil {
		fmt.Fprintf(os.Stderr, "rigger sandbox shim: %v\n", err)
	}
	os.Exit(code)
}

// shim returns the exit code, with an error when the shim itself failed.
func shim(specFile string, args, environ []string) (int, error) {
	runtime.LockOSThread() // see confineAndExec
	w, err := readShimSpec(specFile)
	if err != nil {
		return ExitCannotRun, err
	}
	argv0 := w.Spec.Path
	if len(w.Spec.Args) > 0 {
		argv0 = w.Spec.Args[0]
	}
	w.Spec.Args = append([]string{argv0}, args[1:]...)
	w.Spec.Env = make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, ShimEnv+"=") {
			w.Spec.Env = append(w.Spec.Env, kv)
		}
	}
	if !w.NewNetNS {
		return confine(w)
	}
	return startConfined(w)
}

// readShimSpec reads the spec file, which must be a regular file of this
// user that nobody else may write.
func readShimSpec(file string) (wire, error) {
	var w wire
	if !filepath.IsAbs(file) {
		return w, fmt.Errorf("%s is not an absolute path", ShimEnv)
	}
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return w, fmt.Errorf("shim spec: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return w, fmt.Errorf("shim spec: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.Mode().IsRegular() || !ok || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o022 != 0 {
		return w, fmt.Errorf("shim spec %s: not a regular file of uid %d writable only by it", file, os.Getuid())
	}
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return w, fmt.Errorf("read shim spec: %w", err)
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return w, fmt.Errorf("decode shim spec: %w", err)
	}
	return w, nil
}

// startConfined confines the calling (locked) thread as the helper would
// confine itself before its exec (no_new_privs, Landlock, the workspace
// as working directory; not the rlimits, which it sets on the tool while
// the tool is stopped at its exec), makes this process non-dumpable, and
// starts the tool from that thread in a new user, network and PID
// namespace (the tool is its PID 1: what it leaves behind dies with it),
// without ID maps: one process fewer than starting a helper there, and
// no handshake. The tool inherits the thread's confinement; it runs as
// the worker's uid, which its namespace shows as 65534, and keeps no
// capability past its exec (it is not root there, and no_new_privs keeps
// file capabilities and set-user-ID bits from giving any). This process
// waits in the worker's network namespace, inside the tool's Landlock
// domain, under its own rlimits: the tool cannot trace it, read its memory or take its
// descriptors, since the kernel refuses that from a child user namespace
// without CAP_SYS_PTRACE in this one, and refuses it again to a
// non-dumpable process.
// It hands the tool its stdin, stdout and stderr, forwards termination
// signals, and returns the tool's exit code; the tool dies with it.
// See the package doc for what a process in such a namespace can do.
func startConfined(w wire) (int, error) {
	if code, err := confineThread(w, false); err != nil {
		return code, err
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return ExitCannotRun, fmt.Errorf("non-dumpable: %w", err)
	}
	s := w.Spec
	env := s.Env
	if env == nil {
		env = []string{}
	}
	limits := s.Limits.withDefaults()
	newCmd := func(trace bool) *exec.Cmd {
		cmd := &exec.Cmd{Path: s.Path, Args: s.Args, Env: env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
		// Pdeathsig follows the thread that forks: this one, locked for
		// good; so does the tracer.
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL, Ptrace: trace}
		return cmd
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	cmd := newCmd(true)
	err := cmd.Start()
	if errors.Is(err, syscall.EPERM) {
		// PTRACE_TRACEME refused (Yama ptrace_scope 2 or 3): the tool's
		// rlimits go on this process too, as the tool must not start
		// without them.
		if err := setLimits(0, limits); err != nil {
			return ExitCannotRun, err
		}
		cmd = newCmd(false)
		err = cmd.Start()
	} else if err == nil {
		err = limitTraced(cmd.Process.Pid, limits)
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	if err != nil {
		return ExitCannotRun, fmt.Errorf("start %s in new namespaces: %w", s.Path, err)
	}
	go func() {
		for sig := range sigs {
			_ = cmd.Process.Signal(sig)
		}
	}()
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return ExitCannotRun, fmt.Errorf("wait for the tool: %w", err)
	}
	return exitCode(cmd.ProcessState), nil
}

// limitTraced sets the rlimits of the tool pid, which this (locked)
// thread traces and which stops at its exec, before it runs its first
// instruction, and lets it go. The rlimits are the whole process's: set on
// the shim, they would count its own threads against the tool's
// RLIMIT_NPROC and bound its runtime with the tool's (review L5).
func limitTraced(pid int, l Limits) error {
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		return fmt.Errorf("wait for the exec: %w", err)
	}
	if !ws.Stopped() || ws.StopSignal() != syscall.SIGTRAP {
		return fmt.Errorf("the tool did not stop at its exec (status %#x)", ws)
	}
	if err := setLimits(pid, l); err != nil {
		return err
	}
	if err := unix.PtraceDetach(pid); err != nil {
		return fmt.Errorf("release the tool: %w", err)
	}
	return nil
}
