package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// specFD is the helper's fd that carries the wire-encoded Spec.
const specFD = 3

// Exit codes of the helper when it fails before the tool runs (as a shell
// reports a command it cannot execute or cannot find).
const (
	ExitCannotRun = 126
	ExitNotFound  = 127
)

// System paths every tool may read and execute (missing ones are skipped).
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// The only parts of /etc a tool may read: TLS roots (not /etc/ssl/private or
// /etc/pki/tls/private: a root worker could read those keys), name
// resolution, user and group names, the time zone, the dynamic loader's
// cache, git's system config. Missing ones are skipped.
var etcPaths = []string{
	"/etc/ssl/certs", "/etc/ssl/openssl.cnf",
	"/etc/pki/tls/certs", "/etc/pki/ca-trust/extracted", "/etc/pki/tls/openssl.cnf",
	"/etc/resolv.conf", "/etc/hosts", "/etc/host.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
	"/etc/services", "/etc/protocols",
	"/etc/passwd", "/etc/group", "/etc/localtime", "/etc/timezone",
	"/etc/ld.so.cache", "/etc/gitconfig",
}

// Device files: /dev/null read-write (git opens it so), randomness and zeros
// read-only.
var (
	devRW = []string{"/dev/null"}
	devRO = []string{"/dev/zero", "/dev/urandom", "/dev/random", "/dev/full"}
)

// Main is the `sandbox-exec` helper: it reads the Spec from fd 3, closes
// every other inherited descriptor above stderr, sets no_new_privs, enters
// a new network namespace when the parent asks (wire.OwnNetNS), applies
// Landlock, changes to the workspace, sets the rlimits, drops every
// capability (OwnNetNS again) and execs the tool with exactly the Spec's
// environment. It never returns: on failure it writes one line to stderr
// and exits 126 (127 when the tool does not exist).
func Main() {
	code, err := confineAndExec()
	fmt.Fprintf(os.Stderr, "rigger sandbox-exec: %v\n", err)
	os.Exit(code)
}

// confineAndExec only returns on failure.
func confineAndExec() (int, error) {
	// no_new_privs and a Landlock domain are per thread, and execve takes
	// the calling thread's: everything happens on one locked thread, the
	// only one confined (see applyLandlock).
	runtime.LockOSThread()
	w, err := readWire()
	if err != nil {
		return ExitCannotRun, err
	}
	return confine(w)
}

// confine applies w on the calling (locked) thread and execs its tool; it
// only returns on failure.
func confine(w wire) (int, error) {
	if code, err := confineThread(w, true); err != nil {
		return code, err
	}
	s := w.Spec
	args := s.Args
	if len(args) == 0 {
		args = []string{s.Path}
	}
	env := s.Env
	if env == nil {
		env = []string{}
	}
	err := syscall.Exec(s.Path, args, env)
	if errors.Is(err, syscall.ENOENT) {
		return ExitNotFound, fmt.Errorf("exec %s: %w", s.Path, err)
	}
	return ExitCannotRun, fmt.Errorf("exec %s: %w", s.Path, err)
}

// confineThread applies w to the calling (locked) thread: everything but
// the exec, and the rlimits only when limits is true (they are the whole
// process's: a caller that stays alive sets them on its child instead).
// On failure it returns the exit code to report.
func confineThread(w wire, limits bool) (int, error) {
	s := w.Spec
	if err := s.Validate(); err != nil {
		return ExitCannotRun, err
	}
	// Whatever else was inherited (the Spec's memfd is closed by now) must
	// not reach the tool.
	if err := unix.CloseRange(specFD, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return ExitCannotRun, fmt.Errorf("close inherited descriptors: %w", err)
	}
	if _, err := os.Stat(s.Path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ExitNotFound, fmt.Errorf("tool %s: not found", s.Path)
		}
		return ExitCannotRun, fmt.Errorf("tool %s: %w", s.Path, err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return ExitCannotRun, fmt.Errorf("no_new_privs: %w", err)
	}
	if w.OwnNetNS {
		if err := enterOwnNetNS(); err != nil {
			return ExitCannotRun, err
		}
	}
	if w.Landlock {
		if err := applyLandlock(s); err != nil {
			return ExitCannotRun, fmt.Errorf("landlock: %w", err)
		}
	}
	if err := os.Chdir(s.Dir); err != nil {
		return ExitCannotRun, fmt.Errorf("workspace: %w", err)
	}
	if limits {
		if err := setLimits(0, s.Limits.withDefaults()); err != nil {
			return ExitCannotRun, err
		}
	}
	// A tool never keeps a capability: a root worker's tools (with the
	// network or in their own namespace) run with none, so Landlock is
	// not the only thing between them and the kernel (modules, BPF,
	// network configuration, ptrace).
	if w.OwnNetNS || holdsCapabilities() {
		if err := dropCapabilities(); err != nil {
			return ExitCannotRun, err
		}
	}
	return 0, nil
}

func readWire() (wire, error) {
	var w wire
	const byHand = "no spec on fd 3 (this command is started by rigger itself, not by hand)"
	// Only a sealed memfd is the parent's Spec; any other fd 3 (a shell's,
	// a test harness's) is not read.
	seals, err := unix.FcntlInt(specFD, unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_WRITE == 0 {
		return w, errors.New(byHand)
	}
	f := os.NewFile(specFD, "sandbox-spec")
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	f.Close()
	if err != nil {
		return w, fmt.Errorf("read spec from fd 3: %w", err)
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return w, fmt.Errorf("decode spec: %w", err)
	}
	return w, nil
}

// setLimits lowers the rlimits of process pid (0: this one; never above
// its current hard limit) and turns off core dumps (a core of a tool
// holding a token is a secret at rest).
func setLimits(pid int, l Limits) error {
	set := func(name string, res int, v uint64) error {
		var cur unix.Rlimit
		if err := unix.Prlimit(pid, res, nil, &cur); err != nil {
			return fmt.Errorf("getrlimit %s: %w", name, err)
		}
		v = min(v, cur.Max)
		if err := unix.Prlimit(pid, res, &unix.Rlimit{Cur: v, Max: v}, nil); err != nil {
			return fmt.Errorf("setrlimit %s: %w", name, err)
		}
		return nil
	}
	for _, lim := range []struct {
		name string
		res  int
		v    uint64
	}{
		{"cpu", unix.RLIMIT_CPU, l.CPUSeconds},
		{"as", unix.RLIMIT_AS, l.AddressSpace},
		{"fsize", unix.RLIMIT_FSIZE, l.FileSize},
		{"nproc", unix.RLIMIT_NPROC, l.Processes},
		{"core", unix.RLIMIT_CORE, 0},
	} {
		if err := set(lim.name, lim.res, lim.v); err != nil {
			return err
		}
	}
	return nil
}
