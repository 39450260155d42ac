package testtools

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SandboxHelper builds cmd/rigger-sandbox (the sandbox helper workers
// start in a tool's place) into a temp dir of t and returns its path. The
// go command is needed: without it the test fails under CI=true and
// skips otherwise.
func SandboxHelper(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		unavailable(t, "rigger-sandbox: no go command to build it: "+err.Error())
	}
	out := filepath.Join(t.TempDir(), "rigger-sandbox")
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/riggerdev/rigger/cmd/rigger-sandbox")
	cmd.Env = os.Environ()
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/rigger-sandbox: %v\n%s", err, lastLines(string(msg), 20))
	}
	return out
}
