package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Command returns a cmd that runs s's tool in the sandbox: it re-executes the
// current binary (or Options.Helper) as `<exe> sandbox-exec` with the Spec on
// fd 3 (a sealed memfd), in a new network namespace unless s.Network (the
// helper makes it when it may, Report.NetNS; else the helper starts in a
// new user+network namespace), in its own process group, killed with that
// whole group when ctx is done (SIGKILL also reaches the helper/tool itself
// when the caller dies).
// The caller sets Stdin, Stdout and Stderr and runs it; it may close
// cmd.ExtraFiles[0] once the cmd has started. s.Timeout and s.MaxOutput are
// only enforced by [Runner.Run]; with Command, bound the run by ctx.
//
// The returned warning is non-empty when the policy let the tool run with
// less confinement than s asks for; it says what is missing.
func (r *Runner) Command(ctx context.Context, s Spec) (cmd *exec.Cmd, warning string, err error) {
	if err := s.Validate(); err != nil {
		return nil, "", err
	}
	w, warning, err := r.plan(s)
	if err != nil {
		return nil, "", err
	}
	exe, err := r.helper()
	if err != nil {
		return nil, "", err
	}
	specFile, err := specMemfd(w)
	if err != nil {
		return nil, "", err
	}
	cmd = exec.CommandContext(ctx, exe, ExecArg)
	cmd.Env = []string{} // the helper needs nothing; the tool gets s.Env
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{specFile}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if !s.Network && !w.OwnNetNS && r.Report().UserNetNS {
		setNamespaces(cmd.SysProcAttr)
	}
	cmd.Cancel = func() error { return killGroup(cmd) }
	// A grandchild that outlives the group kill while holding the output
	// pipes must not keep Wait from returning.
	cmd.WaitDelay = 2 * time.Second
	return cmd, warning, nil
}

// helper is the absolute path of the binary started as the helper.
func (r *Runner) helper() (string, error) {
	exe := r.opts.Helper
	if exe != "" && !filepath.IsAbs(exe) {
		return "", fmt.Errorf("%w: helper path %q is not absolute", ErrInvalid, exe)
	}
	if exe != "" {
		return exe, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("sandbox: find own executable: %w", err)
	}
	return exe, nil
}

// killGroup sends SIGKILL to the tool's process group (the helper is the
// group leader and the tool replaced it in place).
func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// specMemfd writes the wire form into a sealed memfd, positioned at 0.
func specMemfd(w wire) (*os.File, error) {
	data, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("sandbox: encode spec: %w", err)
	}
	fd, err := unix.MemfdCreate("rigger-sandbox-spec", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("sandbox: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "rigger-sandbox-spec")
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox: write spec: %w", err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox: seal spec: %w", err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox: rewind spec: %w", err)
	}
	return f, nil
}

// Run runs s's tool to completion with s.Timeout (killing the whole process
// group when it passes) and keeps at most s.MaxOutput bytes of stdout plus
// stderr (killing the tool when it writes more). A tool that exits non-zero
// is not an error: see Result.ExitCode. The error is non-nil when the tool
// could not be started, or Run stopped it (ErrTimeout, ErrOutputLimit, or
// ctx's error).
func (r *Runner) Run(ctx context.Context, s Spec) (Result, error) {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	limit := s.MaxOutput
	if limit == 0 {
		limit = DefaultMaxOutput
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd, warning, err := r.Command(runCtx, s)
	if err != nil {
		return Result{}, err
	}
	res := Result{Warning: warning}
	out := &boundedOutput{left: limit}
	stdout, stderr := &boundedWriter{b: out}, &boundedWriter{b: out}
	// over runs under out.mu from a copier goroutine, after Start.
	out.over = func() { _ = killGroup(cmd) }
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	err = cmd.Start()
	cmd.ExtraFiles[0].Close()
	if err != nil {
		return res, fmt.Errorf("sandbox: start %s: %w", s.Path, err)
	}
	err = cmd.Wait()
	res.Duration = time.Since(start)
	out.mu.Lock()
	res.Stdout, res.Stderr, res.Truncated = stdout.buf, stderr.buf, out.exceeded
	out.mu.Unlock()
	res.ExitCode = exitCode(cmd.ProcessState)
	switch {
	case res.Truncated:
		return res, fmt.Errorf("%w: more than %d bytes from %s", ErrOutputLimit, limit, s.Path)
	case err == nil:
		// A tool that finished on its own just before the deadline did
		// not time out.
		return res, nil
	case ctx.Err() != nil:
		return res, fmt.Errorf("sandbox: %s: %w", s.Path, ctx.Err())
	case runCtx.Err() != nil:
		return res, fmt.Errorf("%w: %s after %s", ErrTimeout, s.Path, timeout)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return res, fmt.Errorf("sandbox: wait %s: %w", s.Path, err)
	}
	return res, nil
}

func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Command is [Runner.Command] with the Required policy: it refuses, with an
// error saying what the kernel lacks, rather than run the tool unconfined.
func Command(ctx context.Context, s Spec) (*exec.Cmd, error) {
	cmd, _, err := defaultRunner().Command(ctx, s)
	return cmd, err
}

// Run is [Runner.Run] with the Required policy.
func Run(ctx context.Context, s Spec) (Result, error) {
	return defaultRunner().Run(ctx, s)
}
