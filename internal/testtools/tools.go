// Package testtools builds and starts the third-party programs tests run
// for real (MinIO for S3/STS, Terraform, helm and kubeconform for the
// chart, the official Temporal server and its SQL schema tool): each is
// built once per machine with `go install module@version` (Temporal's
// with go build from rigger's own module) into a cache directory and
// reused, like the Kubernetes JSON schemas kubeconform checks against
// (KubernetesSchemas).
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
	// InModule builds the package with go build from within rigger's own
	// module, whose go.mod must require Module's module at Version (a
	// go.mod tool directive keeps its dependencies in go.sum): this reuses
	// the warm build cache of a module rigger already links.
	InModule bool
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
	case "temporal-server":
		// The official Temporal server (TEMPORAL.md: the version rigger's
		// embedded server and SDK build with).
		return Tool{Module: "go.temporal.io/server/cmd/server", Version: temporalVersion, Took: "~2 min warm, ~8 min cold", InModule: true}, true
	case "temporal-sql-tool":
		// Its schema tool for SQL stores (setup-schema, update-schema).
		return Tool{Module: "go.temporal.io/server/cmd/tools/sql", Version: temporalVersion, Took: "~30 s warm", InModule: true}, true
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
	base := binName(name, tool)
	dir, err := cached(name+"-"+tool.Version, base, func(scratch string) error {
		goBin, err := exec.LookPath("go")
		if err != nil {
			return fmt.Errorf("cannot build it: %w", err)
		}
		t.Logf("building %s %s (once per machine, %s)", name, tool.Version, tool.Took)
		start := time.Now()
		cmd := exec.Command(goBin, "install", tool.Module+"@"+tool.Version)
		cmd.Env = append(os.Environ(), "GOBIN="+scratch)
		if tool.InModule {
			if err := moduleHas(goBin, tool); err != nil {
				return err
			}
			cmd = exec.Command(goBin, "build", "-o", filepath.Join(scratch, base), tool.Module)
			cmd.Env = os.Environ()
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v\n%s", cmd.Args, err, lastLines(string(out), 20))
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

// temporalVersion is the Temporal server release go.mod requires.
const temporalVersion = "v1.32.1"

// binName is the file name of a built tool: the package's last element
// for go install, the tool's own name for a build from the module (whose
// packages are called server and sql).
func binName(name string, tool Tool) string {
	if tool.InModule {
		return name
	}
	return path.Base(tool.Module)
}

// moduleHas checks that rigger's go.mod requires tool's module at the
// pinned version, so go build from the module builds that release.
func moduleHas(goBin string, tool Tool) error {
	out, err := exec.Command(goBin, "list", "-f", "{{.Module.Path}} {{.Module.Version}}", tool.Module).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go list %s: %v\n%s", tool.Module, err, lastLines(string(out), 10))
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[1] != tool.Version {
		return fmt.Errorf("go.mod requires %s, the tool is pinned at %s: update both together", strings.TrimSpace(string(out)), tool.Version)
	}
	return nil
}

// ModuleDir is the directory of module (e.g. go.temporal.io/server) in the
// module cache, at the version rigger's go.mod requires: where its shipped
// files (schemas, configs) are read from.
func ModuleDir(t testing.TB, module string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).CombinedOutput()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		unavailable(t, fmt.Sprintf("module %s not in the module cache (go mod download): %v %s", module, err, out))
	}
	return dir
}
