// Package testtools builds and starts the third-party programs tests run
// for real (MinIO for S3/STS, Terraform): each is built once per machine
// with `go install module@version` into a cache directory and reused.
// Only _test.go files import it: it starts throwaway servers with known
// root passwords, and it must never be linked into rigger.
//
// A tool that cannot be built fails the test under CI (CI=true) and skips
// it, loudly and with the reason, elsewhere.
package testtools

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tool is a program built from a pinned Go module version.
type Tool struct {
	// Module is the package given to go install.
	Module string
	// Version is its exact version (a semver tag or a full
	// pseudo-version: this proxy resolves no branch names).
	Version string
	// Took is roughly how long a build takes on a 2-core machine, for the
	// progress message.
	Took string
}

// Known returns the pinned tool called name.
func Known(name string) (Tool, bool) {
	switch name {
	case "minio":
		return Tool{Module: "github.com/minio/minio", Version: "v0.0.0-20260212201848-7aac2a2c5b7c", Took: "~5 min"}, true
	case "terraform":
		return Tool{Module: "github.com/hashicorp/terraform", Version: "v1.5.7", Took: "~4 min"}, true
	case "terraform-provider-time":
		// The only hashicorp provider whose current release is a usable Go
		// module version on this proxy (INTEGRATIONS.md §2.4).
		return Tool{Module: "github.com/hashicorp/terraform-provider-time", Version: "v0.14.2", Took: "~30 s"}, true
	}
	return Tool{}, false
}

// CacheDir is where built tools live: $RIGGER_TOOL_CACHE, else
// $HOME/.cache/rigger/tools.
func CacheDir() (string, error) {
	if d := os.Getenv("RIGGER_TOOL_CACHE"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no tool cache: set RIGGER_TOOL_CACHE or HOME: %w", err)
	}
	return filepath.Join(home, ".cache", "rigger", "tools"), nil
}

// Binary returns the path of the built tool name, building it first if
// the cache does not hold it. Parallel test processes wait for one build
// (a file lock beside the cache entry). A tool that cannot be built fails
// t under CI=true and skips it otherwise.
func Binary(t testing.TB, name string) string {
	t.Helper()
	bin, err := binary(t, name)
	if err != nil {
		unavailable(t, fmt.Sprintf("%s: %v", name, err))
	}
	return bin
}

// unavailable fails under CI and skips elsewhere.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required test tool unavailable (CI=true, so this fails): %s", why)
	}
	t.Skipf("SKIPPED, required test tool unavailable (under CI=true this fails): %s", why)
}

func binary(t testing.TB, name string) (string, error) {
	tool, ok := Known(name)
	if !ok {
		return "", errors.New("not a known test tool")
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, name+"-"+tool.Version)
	bin := filepath.Join(dir, path.Base(tool.Module))
	if usable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	unlock, err := lock(filepath.Join(cache, name+"-"+tool.Version+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have built it while we waited for the lock.
	if usable(bin) {
		return bin, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("cannot build it: %w", err)
	}
	// Build into a scratch directory and move the binary in: a build
	// killed half-way leaves nothing that looks usable.
	scratch, err := os.MkdirTemp(cache, name+"-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	t.Logf("building %s %s with go install into %s (once per machine, %s)", name, tool.Version, dir, tool.Took)
	start := time.Now()
	cmd := exec.Command(goBin, "install", tool.Module+"@"+tool.Version)
	cmd.Env = append(os.Environ(), "GOBIN="+scratch)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go install %s@%s: %v\n%s", tool.Module, tool.Version, err, lastLines(string(out), 20))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(scratch, path.Base(tool.Module)), bin); err != nil {
		return "", err
	}
	t.Logf("built %s in %s", name, time.Since(start).Round(time.Second))
	return bin, nil
}

// usable says whether bin is an executable file.
func usable(bin string) bool {
	fi, err := os.Stat(bin)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// lock takes an exclusive flock on file, waiting for other holders.
func lock(file string) (func(), error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", file, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
