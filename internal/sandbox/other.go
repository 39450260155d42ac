//go:build !linux

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// ExitCannotRun and ExitNotFound are the helper's own exit codes.
const (
	ExitCannotRun = 126
	ExitNotFound  = 127
)

var errNotLinux = errors.New("the sandbox needs Linux (Landlock, namespaces)")

// Probe reports that nothing is available outside Linux.
func Probe() Report {
	return Report{LandlockErr: errNotLinux.Error(), UserNetNSErr: errNotLinux.Error()}
}

// Main refuses outside Linux.
func Main() {
	fmt.Fprintf(os.Stderr, "rigger sandbox-exec: %v\n", errNotLinux)
	os.Exit(ExitCannotRun)
}

// Command refuses outside Linux.
func (r *Runner) Command(ctx context.Context, s Spec) (*exec.Cmd, string, error) {
	return nil, "", fmt.Errorf("%w: %w", ErrUnavailable, errNotLinux)
}

// Run refuses outside Linux.
func (r *Runner) Run(ctx context.Context, s Spec) (Result, error) {
	_, _, err := r.Command(ctx, s)
	return Result{}, err
}

// Command refuses outside Linux.
func Command(ctx context.Context, s Spec) (*exec.Cmd, error) {
	_, _, err := defaultRunner().Command(ctx, s)
	return nil, err
}

// Run refuses outside Linux.
func Run(ctx context.Context, s Spec) (Result, error) { return defaultRunner().Run(ctx, s) }

// Shim refuses outside Linux.
func (r *Runner) Shim(s Spec, file string) (Shimmed, error) {
	return Shimmed{}, fmt.Errorf("%w: %w", ErrUnavailable, errNotLinux)
}

// ShimMain refuses outside Linux.
func ShimMain(string) { Main() }
