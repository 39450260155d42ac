package sandbox

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Options is the operator's sandbox policy (scaffolder.sandbox.* in config).
type Options struct {
	// Required refuses to start a tool when the kernel lacks Landlock, or
	// user+network namespaces for a no-network Spec, instead of running it
	// with less confinement (scaffolder.sandbox.required; true is the safe
	// choice for workers that hold credentials).
	Required bool
	// Helper is the absolute path of the binary that is started as
	// `<Helper> sandbox-exec` ("" = this binary, os.Executable). The rigger
	// binary runs every linked package's init first (about 35 ms of CPU on
	// the dev machine), so workers that start many tools point this at
	// rigger-sandbox (cmd/rigger-sandbox), which starts in about 1 ms.
	Helper string
	// Probe replaces [Probe] (tests simulate a kernel without Landlock).
	// Nil: [Probe], called once, on the first run.
	Probe func() Report
}

// Runner starts sandboxed tools under one policy. It is safe for concurrent
// use. Construction does no I/O; the kernel is probed on first use.
type Runner struct {
	opts   Options
	once   sync.Once
	report Report
}

// New returns a Runner with the given policy.
func New(opts Options) *Runner {
	if opts.Probe == nil {
		opts.Probe = Probe
	}
	return &Runner{opts: opts}
}

// Report is the kernel probe this Runner decides with.
func (r *Runner) Report() Report {
	r.once.Do(func() { r.report = r.opts.Probe() })
	return r.report
}

// ErrUnavailable is what a refusal to run unconfined unwraps to.
var ErrUnavailable = errors.New("sandbox unavailable")

// plan decides, for one Spec, what the helper applies, and returns the
// warning for what it cannot (empty when fully confined) or the refusal.
func (r *Runner) plan(s Spec) (w wire, warning string, err error) {
	rep := r.Report()
	w = wire{Spec: s, Landlock: rep.LandlockABI > 0, OwnNetNS: !s.Network && rep.NetNS}
	missing := rep.missing(s)
	if len(missing) == 0 {
		if weaker := rep.weaker(); len(weaker) > 0 {
			return w, "sandbox weaker on this kernel: " + strings.Join(weaker, "; "), nil
		}
		return w, "", nil
	}
	if r.opts.Required {
		return w, "", fmt.Errorf("%w: this kernel lacks %s; set scaffolder.sandbox.required: false to run tools without it (unconfined)",
			ErrUnavailable, strings.Join(missing, "; "))
	}
	return w, "sandbox incomplete, running without " + strings.Join(append(missing, rep.weaker()...), "; "), nil
}

// Result is a finished run of [Runner.Run].
type Result struct {
	Stdout, Stderr []byte
	// ExitCode is the tool's exit status (128+signal when a signal ended
	// it; 126 or 127 with one line on Stderr when the helper could not
	// confine or start the tool).
	ExitCode int
	Duration time.Duration
	// Truncated is true when the output passed MaxOutput (the tool was
	// killed then).
	Truncated bool
	// Warning is non-empty when the sandbox ran with less than full
	// confinement (the policy allowed it): it says what was missing, or
	// what this kernel leaves a tool able to do (signal the worker).
	Warning string
}

// Errors of a run that was stopped by Run; they wrap with the detail.
var (
	ErrTimeout     = errors.New("sandboxed tool timed out")
	ErrOutputLimit = errors.New("sandboxed tool's output exceeded its bound")
)

// boundedOutput keeps the first n bytes written to either of its two
// buffers (shared budget) and calls over once when more arrive.
type boundedOutput struct {
	mu       sync.Mutex
	left     int64
	over     func()
	exceeded bool
}

type boundedWriter struct {
	b   *boundedOutput
	buf []byte
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	b := w.b
	b.mu.Lock()
	defer b.mu.Unlock()
	n := int64(len(p))
	if n > b.left {
		w.buf = append(w.buf, p[:b.left]...)
		b.left = 0
		if !b.exceeded {
			b.exceeded = true
			b.over()
		}
		// Claim the write succeeded so the copier keeps draining until
		// the killed tool closes the pipe.
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	b.left -= n
	return len(p), nil
}

// defaultProbe serves the package-level Command and Run, whose policy is
// Required (refuse to run unconfined); the kernel is probed once per process
// (its features do not change while it runs).
var defaultProbe = sync.OnceValue(Probe)

func defaultRunner() *Runner {
	return New(Options{Required: true, Probe: defaultProbe})
}
