// Package testtools builds and starts the third-party programs tests run
// for real (MinIO for S3/STS, Terraform, the official Temporal server and
// its SQL schema tool): each is built once per machine with `go install
// module@version` (Temporal's with go build from rigger's own module) into
// a cache directory and reused.
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
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, name+"-"+tool.Version)
	bin := filepath.Join(dir, binName(name, tool))
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
	t.Logf("building %s %s into %s (once per machine, %s)", name, tool.Version, dir, tool.Took)
	start := time.Now()
	cmd := exec.Command(goBin, "install", tool.Module+"@"+tool.Version)
	cmd.Env = append(os.Environ(), "GOBIN="+scratch)
	if tool.InModule {
		if err := moduleHas(goBin, tool); err != nil {
			return "", err
		}
		cmd = exec.Command(goBin, "build", "-o", filepath.Join(scratch, binName(name, tool)), tool.Module)
		cmd.Env = os.Environ()
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v: %v\n%s", cmd.Args, err, lastLines(string(out), 20))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(scratch, binName(name, tool)), bin); err != nil {
		return "", err
	}
	t.Logf("built %s in %s", name, time.Since(start).Round(time.Second))
	return bin, nil
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

// moduleHas checks that the module the tests run in requires the tool's
// module at the tool's version, so the cache entry's name is true.
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
