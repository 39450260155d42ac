package sandbox

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// ExecArg is the argv[1] with which the binary re-executes itself as the
// sandbox helper.
const ExecArg = "sandbox-exec"

// Spec describes one sandboxed tool run. Nothing of the caller's process is
// inherited by the tool except stdin, stdout and stderr.
type Spec struct {
	// Path is the absolute path of the tool (no PATH lookup happens).
	Path string `json:"path"`
	// Args is the tool's argv, including argv[0]; empty means [Path].
	Args []string `json:"args"`
	// Dir is the task's workspace: the working directory, read-write.
	Dir string `json:"dir"`
	// Env is the complete environment of the tool ("KEY=value"); nothing
	// else is inherited. Set PATH, HOME and TMPDIR here when the tool needs
	// them (TMPDIR and HOME should point into Dir or a Writable dir: /tmp is
	// not writable in the sandbox).
	Env []string `json:"env"`
	// ReadOnly are extra paths the tool may read and execute (the tool's own
	// directory when it is outside the system directories, a provider mirror).
	ReadOnly []string `json:"readOnly,omitempty"`
	// Writable are extra read-write paths (a temp dir the caller made).
	Writable []string `json:"writable,omitempty"`
	// Network keeps the host's network. False (the default) starts the tool
	// in a new network namespace with no interface but a downed loopback.
	Network bool `json:"network"`
	// Timeout bounds the run's wall time in [Runner.Run] (0: DefaultTimeout).
	// A caller of [Runner.Command] bounds the run with its ctx.
	Timeout time.Duration `json:"-"`
	// MaxOutput bounds the bytes of stdout plus stderr [Runner.Run] keeps
	// (0: DefaultMaxOutput); a tool that writes more is killed.
	MaxOutput int64 `json:"-"`
	// Limits are the rlimits of the tool; zero fields take the defaults.
	Limits Limits `json:"limits"`
}

// Limits are rlimits applied to the tool (and inherited by its children).
type Limits struct {
	// CPUSeconds is RLIMIT_CPU (0: DefaultCPUSeconds).
	CPUSeconds uint64 `json:"cpuSeconds,omitempty"`
	// AddressSpace is RLIMIT_AS in bytes (0: DefaultAddressSpace).
	AddressSpace uint64 `json:"addressSpace,omitempty"`
	// FileSize is RLIMIT_FSIZE in bytes (0: DefaultFileSize).
	FileSize uint64 `json:"fileSize,omitempty"`
	// Processes is RLIMIT_NPROC (0: DefaultProcesses). The kernel counts it
	// per real uid, so for a non-root worker it includes the worker's own
	// threads and every other sandboxed run of that user; root ignores it.
	Processes uint64 `json:"processes,omitempty"`
}

// Defaults for the zero values of Spec and Limits.
const (
	DefaultTimeout      = 10 * time.Minute
	DefaultMaxOutput    = 4 << 20 // 4 MiB
	DefaultCPUSeconds   = 600
	DefaultAddressSpace = 16 << 30 // 16 GiB: Go tools and providers reserve a lot of address space
	DefaultFileSize     = 2 << 30  // 2 GiB
	DefaultProcesses    = 4096
)

func (l Limits) withDefaults() Limits {
	def := func(v *uint64, d uint64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.CPUSeconds, DefaultCPUSeconds)
	def(&l.AddressSpace, DefaultAddressSpace)
	def(&l.FileSize, DefaultFileSize)
	def(&l.Processes, DefaultProcesses)
	return l
}

// ErrInvalid is what a malformed Spec's error unwraps to.
var ErrInvalid = errors.New("invalid sandbox spec")

// Validate checks what can be checked without touching the filesystem.
func (s Spec) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
	}
	if !filepath.IsAbs(s.Path) {
		return bad("tool path %q is not absolute", s.Path)
	}
	if !filepath.IsAbs(s.Dir) {
		return bad("workspace dir %q is not absolute", s.Dir)
	}
	if filepath.Clean(s.Dir) == "/" {
		return bad("workspace dir must not be /")
	}
	for _, p := range append(append([]string{}, s.ReadOnly...), s.Writable...) {
		if !filepath.IsAbs(p) {
			return bad("path %q is not absolute", p)
		}
	}
	for _, p := range s.Writable {
		if filepath.Clean(p) == "/" {
			return bad("writable path must not be /")
		}
	}
	for i, kv := range s.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			// The entry itself is not shown: it may be a credential.
			return bad("environment entry %d is not KEY=value", i)
		}
	}
	if s.Timeout < 0 || s.MaxOutput < 0 {
		return bad("negative timeout or output bound")
	}
	return nil
}

// wire is what the parent sends to the helper on fd 3.
type wire struct {
	Spec Spec `json:"spec"`
	// Landlock says whether the helper must apply Landlock; false only when
	// the policy allows running without it and the probe found none.
	Landlock bool `json:"landlock"`
	// NewNetNS (a shim's spec only) says the shim must start the tool in
	// a new user and network namespace: nothing started the shim so.
	NewNetNS bool `json:"newNetNS,omitempty"`
	// OwnNetNS says the helper must move the thread that execs the tool
	// into a new network namespace itself and drop every capability from
	// it (Report.NetNS): the helper was started without namespaces.
	OwnNetNS bool `json:"ownNetNS,omitempty"`
}
