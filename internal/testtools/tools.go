// Package testtools builds and starts the third-party programs tests run
// for real (MinIO for S3/STS, Terraform, helm and kubeconform for the
// chart): each is built once per machine with `go install module@version`
// into a cache directory and reused, like the Kubernetes JSON schemas
// kubeconform checks against (KubernetesSchemas).
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
	case "helm":
		return Tool{Module: "helm.sh/helm/v3/cmd/helm", Version: "v3.21.4", Took: "~4 min"}, true
	case "kubeconform":
		return Tool{Module: "github.com/yannh/kubeconform/cmd/kubeconform", Version: "v0.8.0", Took: "~30 s"}, true
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
	base := path.Base(tool.Module)
	dir, err := cached(name+"-"+tool.Version, base, func(scratch string) error {
		goBin, err := exec.LookPath("go")
		if err != nil {
			return fmt.Errorf("cannot build it: %w", err)
		}
		t.Logf("building %s %s with go install (once per machine, %s)", name, tool.Version, tool.Took)
		start := time.Now()
		cmd := exec.Command(goBin, "install", tool.Module+"@"+tool.Version)
		cmd.Env = append(os.Environ(), "GOBIN="+scratch)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go install %s@%s: %v\n%s", tool.Module, tool.Version, err, lastLines(string(out), 20))
		}
		t.Logf("built %s in %s", name, time.Since(start).Round(time.Second))
		return nil
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, base), nil
}

// cached returns the cache entry dir called entry, whose file done marks
// it complete, first making it with build when the cache lacks it.
// Parallel test processes wait for one build (a file lock beside the
// entry). build fills a scratch directory that is renamed into place, so
// a build killed half-way leaves nothing that looks usable.
func cached(entry, done string, build func(scratch string) error) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, entry)
	if complete(filepath.Join(dir, done)) {
		return dir, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	unlock, err := lock(filepath.Join(cache, entry+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have made it while we waited for the lock.
	if complete(filepath.Join(dir, done)) {
		return dir, nil
	}
	scratch, err := os.MkdirTemp(cache, entry+"-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	if err := build(scratch); err != nil {
		return "", err
	}
	if !complete(filepath.Join(scratch, done)) {
		return "", fmt.Errorf("%s: the build made no %s", entry, done)
	}
	// A stale, incomplete entry (an older layout) is replaced.
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Chmod(scratch, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(scratch, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// complete says whether file exists and is a non-empty regular file.
func complete(file string) bool {
	fi, err := os.Stat(file)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
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
