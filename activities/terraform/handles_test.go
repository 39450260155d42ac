package terraform_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/terraform"
	"github.com/riggerdev/rigger/internal/testtools"
)

// recorder is a terraform binary (a script that runs the real one) that
// leaves one file per run in dir holding the run's arguments.
type recorder struct {
	path, real, dir string
}

func newRecorder(t *testing.T, dir string) *recorder {
	t.Helper()
	rec := &recorder{path: filepath.Join(t.TempDir(), "terraform"), real: testtools.Binary(t, "terraform"), dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rec.write(t, rec.path)
	return rec
}

func (rec *recorder) script() string {
	return "#!/bin/sh\nprintf '%s\\n' \"$*\" > \"$(mktemp '" + rec.dir + "/run.XXXXXX')\"\nexec '" + rec.real + "' \"$@\"\n"
}

func (rec *recorder) write(t *testing.T, file string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(rec.script()), 0o755); err != nil {
		t.Fatal(err)
	}
}

// versions counts the `terraform version` runs so far.
func (rec *recorder) versions(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(rec.dir, "run.*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(b), "version") {
			n++
		}
	}
	return n
}

// replace puts a new file (a new inode) with the same script at the
// binary's path, as an upgrade that installs by rename does.
func (rec *recorder) replace(t *testing.T) {
	t.Helper()
	tmp := rec.path + ".new"
	rec.write(t, tmp)
	if err := os.Rename(tmp, rec.path); err != nil {
		t.Fatal(err)
	}
}

// rewrite writes the binary in place with the same size and puts its
// modification time back: only its change time tells.
func (rec *recorder) rewrite(t *testing.T) {
	t.Helper()
	fi, err := os.Stat(rec.path)
	if err != nil {
		t.Fatal(err)
	}
	rec.write(t, rec.path)
	if err := os.Chtimes(rec.path, time.Time{}, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// planApply plans and applies serviceTF in dir and checks the state holds
// its resource.
func planApply(t *testing.T, r *rig, dir string) {
	t.Helper()
	r.write(t, dir+"/main.tf", serviceTF)
	plan := r.must(t, terraform.ActionPlan, map[string]any{"dir": dir, "vars": map[string]any{"name": dir}})
	r.must(t, terraform.ActionApply, map[string]any{"dir": dir, "planChecksum": plan.Output["planChecksum"]})
	if n := r.resources(t, dir); n != 1 {
		t.Errorf("%s holds %d resources after the apply, want 1", dir, n)
	}
}

// TestVersionCheckReusedPerBinary: terraform-exec's `terraform version`
// runs once per directory (without the sandbox, where the handle's
// directory is terraform's), not once per action; a binary replaced at
// the same path, or rewritten in place with its modification time put
// back, is asked again rather than answered from the old handle.
func TestVersionCheckReusedPerBinary(t *testing.T) {
	rec := newRecorder(t, t.TempDir())
	r := newRig(t, terraform.Config{Binary: rec.path})
	want := func(what string, n int) {
		t.Helper()
		if got := rec.versions(t); got != n {
			t.Fatalf("after %s: terraform version ran %d times, want %d", what, got, n)
		}
	}
	planApply(t, r, "infra")
	want("plan and apply of infra", 1)
	planApply(t, r, "other")
	want("plan and apply of a second directory", 2)
	plan(t, r, "infra")
	want("another plan of infra", 2)
	rec.replace(t)
	plan(t, r, "infra")
	want("replacing the binary and a plan of infra", 3)
	rec.rewrite(t)
	plan(t, r, "infra")
	want("rewriting the binary in place and a plan of infra", 4)
	plan(t, r, "infra")
	want("another plan of infra", 4)
}

// plan plans dir (serviceTF, applied already: no changes).
func plan(t *testing.T, r *rig, dir string) {
	t.Helper()
	out := r.must(t, terraform.ActionPlan, map[string]any{"dir": dir, "vars": map[string]any{"name": dir}})
	if out.Output["hasChanges"] != false {
		t.Errorf("plan of %s after its apply: %v", dir, out.Output)
	}
}

// TestSandboxedVersionCheckOncePerBinary: through the sandbox one handle
// serves every directory (the helper runs terraform in the spec's
// directory), so `terraform version` runs once for the binary; each
// directory still gets its own state; a replaced binary is asked again.
func TestSandboxedVersionCheckOncePerBinary(t *testing.T) {
	sbx := sandboxed(t)
	ws := t.TempDir()
	// The script writes its record into the workspace (writable in the
	// sandbox); the real terraform's directory is given as the mirror so
	// the sandbox lets the script run it (terraform_data needs no
	// provider from it).
	rec := newRecorder(t, filepath.Join(ws, "runs"))
	r := newRigWith(t, terraform.Config{Binary: rec.path, PluginMirror: filepath.Dir(rec.real)}, terraform.Options{Sandbox: sbx})
	r.ws = ws
	want := func(what string, n int) {
		t.Helper()
		if got := rec.versions(t); got != n {
			t.Fatalf("after %s: terraform version ran %d times, want %d", what, got, n)
		}
	}
	planApply(t, r, "a")
	planApply(t, r, "b")
	want("plan and apply of two directories", 1)
	if _, err := os.Stat(filepath.Join(ws, "terraform.tfstate")); err == nil {
		t.Error("a state file in the workspace root: terraform ran outside the step's directory")
	}
	rec.replace(t)
	plan(t, r, "a")
	want("replacing the binary and a plan of a", 2)
}
