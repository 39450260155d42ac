package testtools

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RiggerAt returns rigger as it was at commit (a full commit id of the
// repository that holds dir), built with the build tags tags into the
// tool cache: once per machine, commit and tags. It is an older build for
// upgrade tests. The source comes from git archive, so the commit must be
// in the clone: when it is not (a shallow clone) t fails and says how to
// fetch it. The build shares Go's build cache: only rigger's own packages
// compile again.
func RiggerAt(t testing.TB, dir, commit string, tags ...string) string {
	t.Helper()
	if len(commit) != 40 {
		t.Fatalf("RiggerAt wants a full commit id, not %q", commit)
	}
	if out, err := exec.Command("git", "-C", dir, "cat-file", "-e", commit+"^{commit}").CombinedOutput(); err != nil {
		t.Fatalf("this test builds rigger at commit %s, which this clone of the repository lacks "+
			"(a shallow clone? run git fetch --unshallow): %v %s", commit, err, out)
	}
	name := "rigger-" + commit[:12]
	if len(tags) > 0 {
		name += "-" + strings.Join(tags, "-")
	}
	built, err := cached(name, "rigger", func(scratch string) error {
		t.Logf("building rigger at %s (once per machine; rigger's own packages compile again, ~1-3 min)", commit[:12])
		start := time.Now()
		src := filepath.Join(scratch, "src")
		if err := os.Mkdir(src, 0o755); err != nil {
			return err
		}
		defer os.RemoveAll(src)
		if err := extract(dir, commit, src); err != nil {
			return err
		}
		build := exec.Command("go", "build", "-tags", strings.Join(tags, ","), "-o", filepath.Join(scratch, "rigger"), "./cmd/rigger")
		build.Dir = src
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build rigger at %s: %v\n%s", commit[:12], err, lastLines(string(out), 20))
		}
		t.Logf("built rigger at %s in %s", commit[:12], time.Since(start).Round(time.Second))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(built, "rigger")
}

// extract writes the tree of commit, in the repository that holds dir,
// into dst (git archive | tar -x).
func extract(dir, commit, dst string) error {
	archive := exec.Command("git", "-C", dir, "archive", "--format=tar", commit)
	untar := exec.Command("tar", "-x", "-C", dst)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	var archiveErr, untarErr strings.Builder
	archive.Stderr, untar.Stderr = &archiveErr, &untarErr
	if err := archive.Start(); err != nil {
		return fmt.Errorf("git archive %s: %w", commit, err)
	}
	if err := untar.Run(); err != nil {
		_ = archive.Wait()
		return fmt.Errorf("tar -x of git archive %s: %v %s", commit, err, untarErr.String())
	}
	if err := archive.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %v %s", commit, err, archiveErr.String())
	}
	return nil
}
