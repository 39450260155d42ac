package activities

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
)

// TestWorkspaceQuotaCounters: the per-workspace counters that replace the
// walk on every write still enforce the quota through every way files come
// and go: new files, overwrites, fetch's batch writes, deletes, overwriting
// renames, and a workspace written before this process started.
func TestWorkspaceQuotaCounters(t *testing.T) {
	s, _ := newScaffold(t)
	s.Workspaces.MaxBytes, s.Workspaces.MaxFiles = 100, 5
	ctx := context.Background()
	write := func(p string, n int) error {
		_, err := s.FsWrite(ctx, contract.ActionInput{TaskID: "c", Input: map[string]any{"path": p, "content": strings.Repeat("x", n)}})
		return err
	}
	mustFail := func(err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("want a quota error with %q, got %v", want, err)
		}
	}
	for i := 1; i <= 5; i++ {
		if err := write(fmt.Sprintf("d/f%d", i), 10); err != nil {
			t.Fatal(err)
		}
	}
	mustFail(write("f6", 1), "would hold 6 files and 51 bytes")
	// Overwriting is no new file, and counts the new size instead of the old.
	if err := write("d/f1", 60); err != nil {
		t.Fatalf("overwrite within quota: %v", err)
	}
	mustFail(write("d/f1", 61), "would hold 5 files and 101 bytes")
	// fetch's batch write counts every file and what it replaces.
	if _, err := s.writeInto("c", "d", []skeletonFile{{rel: "f2", data: []byte("yy"), mode: 0o644}}, false); err != nil {
		t.Fatalf("batch overwrite: %v", err)
	}
	mustFail2 := func(files ...string) error {
		var sk []skeletonFile
		for _, f := range files {
			sk = append(sk, skeletonFile{rel: f, data: []byte("z"), mode: 0o644})
		}
		_, err := s.writeInto("c", "d", sk, false)
		return err
	}
	mustFail(mustFail2("n1"), "would hold 6 files and 93 bytes")
	// Deleting frees what the files held (a directory counts its contents).
	if _, err := s.FsDelete(ctx, contract.ActionInput{TaskID: "c", Input: map[string]any{"files": []any{"d/f2"}}}); err != nil {
		t.Fatal(err)
	}
	if err := write("g/f6", 2); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
	// An overwriting rename frees the file it replaces.
	if _, err := s.FsRename(ctx, contract.ActionInput{TaskID: "c", Input: map[string]any{"files": []any{map[string]any{"from": "d/f3", "to": "d/f4", "overwrite": true}}}}); err != nil {
		t.Fatal(err)
	}
	if err := write("f7", 1); err != nil {
		t.Fatalf("after an overwriting rename: %v", err)
	}
	mustFail(write("f8", 1), "would hold 6 files")
	if _, err := s.FsDelete(ctx, contract.ActionInput{TaskID: "c", Input: map[string]any{"files": []any{"g"}}}); err != nil {
		t.Fatal(err)
	}
	if err := write("f8", 1); err != nil {
		t.Fatalf("after deleting a directory: %v", err)
	}

	// Another process (fresh counters) counts what is on disk first:
	// d/f1 60, d/f4 10, d/f5 10, f7 1, f8 1.
	other := NewWorkspaces(s.Workspaces.Dir, 100, 5)
	s.Workspaces = other
	mustFail(write("f9", 1), "would hold 6 files and 83 bytes")
}

// TestWorkspaceDefaultQuota: without configured limits a workspace holds at
// most 20,000 files and 512 MiB (checked before anything is written).
func TestWorkspaceDefaultQuota(t *testing.T) {
	w := NewWorkspaces(t.TempDir(), 0, 0)
	root, err := w.Open("d")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	many := make([]fileWrite, 20001)
	for i := range many {
		many[i] = fileWrite{path: fmt.Sprintf("f%d", i), size: 1}
	}
	if err := w.reserve("d", root, many[:20000]); err != nil {
		t.Fatalf("20,000 files: %v", err)
	}
	w.forget("d")
	if err := w.reserve("d", root, many); err == nil || !strings.Contains(err.Error(), "would hold 20001 files and 20001 bytes; its quota is 20000 files and 536870912 bytes") {
		t.Fatalf("20,001 files: %v", err)
	}
	if err := w.reserve("d", root, []fileWrite{{path: "big", size: 512 << 20}}); err != nil {
		t.Fatalf("512 MiB: %v", err)
	}
	w.forget("d")
	if err := w.reserve("d", root, []fileWrite{{path: "big", size: 512<<20 + 1}}); err == nil || !strings.Contains(err.Error(), "536870913 bytes; its quota") {
		t.Fatalf("512 MiB + 1: %v", err)
	}
}

// TestWorkspaceTTLFromLastUse: the sweeper counts a workspace's age from its
// last use, not its creation: a workspace made long ago but opened again
// since is kept.
func TestWorkspaceTTLFromLastUse(t *testing.T) {
	s, _ := newScaffold(t)
	ctx := context.Background()
	if _, err := s.FsWrite(ctx, contract.ActionInput{TaskID: "long", Input: map[string]any{"path": "f", "content": "x"}}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(s.Workspaces.Dir, "long"), old, old)
	// A later step only reads the workspace.
	if _, err := s.DebugLog(ctx, contract.ActionInput{TaskID: "long", Input: map[string]any{"listWorkspace": true}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Workspaces.Sweep(24*time.Hour, time.Now()); err != nil || n != 0 {
		t.Fatalf("sweep removed %d (%v), want 0: the workspace was used a moment ago", n, err)
	}
	if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, "long", "f")); err != nil {
		t.Fatal("a workspace in use was swept")
	}
	if n, err := s.Workspaces.Sweep(24*time.Hour, time.Now().Add(25*time.Hour)); err != nil || n != 1 {
		t.Fatalf("sweep a day later removed %d (%v), want 1", n, err)
	}
}

// BenchmarkWorkspaceWrite writes N files of one task through fs:write and
// reports the cost per file: with counters it stays flat as N grows (it
// used to walk the workspace on every write: quadratic).
func BenchmarkWorkspaceWrite(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			s := &Scaffold{Workspaces: NewWorkspaces(b.TempDir(), 0, 0)}
			ctx := context.Background()
			var total time.Duration
			for i := 0; i < b.N; i++ {
				task := fmt.Sprintf("t%d", i)
				t0 := time.Now()
				for j := range n {
					in := contract.ActionInput{TaskID: task, Input: map[string]any{"path": fmt.Sprintf("d%d/f%d", j%50, j), "content": "content"}}
					if _, err := s.FsWrite(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
				total += time.Since(t0)
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N*n), "ns/file")
		})
	}
}
