package github

import (
	"os"
	"os/exec"
	"reflect"
	"testing"

	"github.com/riggerdev/rigger/internal/sandbox"
)

// TestMain lets the test binary act as the sandbox's helper (the
// sandbox re-executes the running binary as `<exe> sandbox-exec`).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == sandbox.ExecArg {
		sandbox.Main()
	}
	os.Exit(m.Run())
}

// TestPublishInSandbox: with a sandbox, every git process of
// publish:github runs confined (Landlock, no worker environment) and the
// push still gives the workspace's tree; a GITHUB_TOKEN planted in the
// worker's environment is not the one used (the fake would refuse it).
func TestPublishInSandbox(t *testing.T) {
	if r := sandbox.Probe(); r.LandlockABI == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the kernel cannot sandbox: %s", r)
		}
		t.Skipf("SKIPPED: the kernel cannot sandbox: %s", r)
	}
	t.Setenv("GITHUB_TOKEN", "ghp_workerEnvironmentToken")
	f := newFixture(t)
	path, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	acts, err := Actions(f.broker, f.cfg, Options{TempDir: t.TempDir(),
		Git: &Git{Path: path, PathEnv: "/usr/local/bin:/usr/bin:/bin", Sandbox: sandbox.New(sandbox.Options{Required: true})}})
	if err != nil {
		t.Fatal(err)
	}
	f.actions = acts
	writeFiles(t, f.ws, workspaceFiles)
	if _, err := f.run(f.ctx(false), t, ActionPublish, publishInput()); err != nil {
		t.Fatalf("publish:github in the sandbox: %v", err)
	}
	if got, want := tree(t, f.clone(t, "acme", "payments", "main")), tree(t, f.ws); !reflect.DeepEqual(got, want) {
		t.Fatalf("pushed tree\n got %v\nwant %v", got, want)
	}
	f.assertNoLeak(t)
}
