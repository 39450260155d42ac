package activities

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

func newScaffold(t *testing.T) (*Scaffold, string) {
	t.Helper()
	r, err := templates.NewRenderer(templates.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	ws := filepath.Join(base, "workspaces")
	return &Scaffold{Renderer: r, Workspaces: NewWorkspaces(ws, 0, 0), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, base
}

// sentinel is a file outside every workspace that no action may touch.
func sentinel(t *testing.T, base string) string {
	t.Helper()
	p := filepath.Join(base, "authorized_keys")
	if err := os.WriteFile(p, []byte("do not touch"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTraversalRefused(t *testing.T) {
	s, base := newScaffold(t)
	ctx := context.Background()
	outside := sentinel(t, base)
	root, err := s.Workspaces.Open("task-1")
	if err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(s.Workspaces.Dir, "task-1")
	// Symlinks planted in the workspace (as a fetched skeleton could).
	os.Symlink(outside, filepath.Join(ws, "to-outside"))
	os.Symlink("to-outside", filepath.Join(ws, "chain"))
	os.Symlink(filepath.Join(base, "nope"), filepath.Join(ws, "dangling"))
	os.Symlink(base, filepath.Join(ws, "dirlink"))
	root.Close()

	cases := []struct {
		name   string
		run    func() (contract.ActionOutput, error)
		want   string
		intact bool
	}{
		{"write ../../", func() (contract.ActionOutput, error) {
			return s.FsWrite(ctx, contract.ActionInput{TaskID: "task-1", Input: map[string]any{"path": "../../.ssh/authorized_keys", "content": "x"}})
		}, "leaves the task workspace", true},
		{"write absolute", func() (contract.ActionOutput, error) {
			return s.FsWrite(ctx, contract.ActionInput{TaskID: "task-1", Input: map[string]any{"path": outside, "content": "x"}})
		}, "absolute paths are not allowed", true},
		{"write through symlink", func() (contract.ActionOutput, error) {
			return s.FsWrite(ctx, contract.ActionInput{TaskID: "task-1", Input: map[string]any{"path": "to-outside", "content": "x"}})
		}, "outside the task workspace", true},
		{"write through symlink chain", func() (contract.ActionOutput, error) {
			return s.FsWrite(ctx, contract.ActionInput{TaskID: "task-1", Input: map[string]any{"path": "chain", "content": "x"}})
		}, "outside the task workspace", true},
		{"write through dangling symlink", func() (contract.ActionOutput, error) {
			return s.FsWrite(ctx, contract.ActionInput{TaskID: "task-1", Input: map[string]any{"path": "dangling", "content": "x"}})
		}, "outside the task workspace", true},
		{"write under a symlinked dir", func() (contract.ActionOutput, error) {
			return s.FsWrite(ctx, contract.ActionInput{TaskID: "task-1", Input: map[string]any{"path": "dirlink/authorized_keys", "content": "x"}})
		}, "outside the task workspace", true},
		{"debug:log reads outside", func() (contract.ActionOutput, error) {
			return s.DebugLog(ctx, contract.ActionInput{TaskID: "task-1", Input: map[string]any{"listWorkspace": "with-contents"}})
		}, "outside the task workspace", true},
		{"delete ..", func() (contract.ActionOutput, error) {
			return s.FsDelete(ctx, contract.ActionInput{TaskID: "task-1", Input: map[string]any{"files": []any{".."}}})
		}, "leaves the task workspace", true},
		{"delete the workspace", func() (contract.ActionOutput, error) {
			return s.FsDelete(ctx, contract.ActionInput{TaskID: "task-1", Input: map[string]any{"files": []any{"."}}})
		}, "refusing to delete the whole workspace", true},
		{"rename to outside", func() (contract.ActionOutput, error) {
			return s.FsRename(ctx, contract.ActionInput{TaskID: "task-1", Input: map[string]any{"files": []any{map[string]any{"from": "chain", "to": "../x"}}}})
		}, "leaves the task workspace", true},
		{"bad task id", func() (contract.ActionOutput, error) {
			return s.FsWrite(ctx, contract.ActionInput{TaskID: "../escape", Input: map[string]any{"path": "a", "content": "x"}})
		}, "invalid task id", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			if got, _ := os.ReadFile(outside); string(got) != "do not touch" {
				t.Fatalf("the file outside the workspace changed: %q", got)
			}
			if _, err := os.Stat(base); err != nil {
				t.Fatal("the directory above the workspace is gone")
			}
		})
	}
}

func TestFileActions(t *testing.T) {
	s, _ := newScaffold(t)
	ctx := context.Background()
	in := func(m map[string]any) contract.ActionInput { return contract.ActionInput{TaskID: "t", Input: m} }
	if _, err := s.FsWrite(ctx, in(map[string]any{"path": "src/main.go", "content": "package main\n"})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FsWrite(ctx, in(map[string]any{"path": "a/../README.md", "content": "# hi\n"})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FsRename(ctx, in(map[string]any{"files": []any{map[string]any{"from": "README.md", "to": "docs/index.md"}}})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FsRename(ctx, in(map[string]any{"files": []any{map[string]any{"from": "src/main.go", "to": "docs/index.md"}}})); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("rename over an existing file without overwrite: %v", err)
	}
	out, err := s.DebugLog(ctx, in(map[string]any{"message": "hello", "listWorkspace": "with-contents"}))
	if err != nil {
		t.Fatal(err)
	}
	logs := strings.Join(out.Logs, "\n")
	for _, want := range []string{"hello", "docs/index.md:\n# hi", "src/main.go:\npackage main"} {
		if !strings.Contains(logs, want) {
			t.Errorf("debug:log output lacks %q:\n%s", want, logs)
		}
	}
	if _, err := s.FsDelete(ctx, in(map[string]any{"files": []any{"src/*.go"}})); err != nil {
		t.Fatal(err)
	}
	out, _ = s.DebugLog(ctx, in(map[string]any{"listWorkspace": true}))
	if got := strings.Join(out.Logs, ","); got != "docs/index.md" {
		t.Fatalf("workspace after delete: %s", got)
	}
}

func TestRender(t *testing.T) {
	s, _ := newScaffold(t)
	c := contract.ScaffoldContext{TaskID: "t", Parameters: map[string]any{"name": "svc", "envs": []any{"a", "b"}, "n": int64(3)}, Steps: map[string]map[string]any{}}
	out, err := s.Render(context.Background(), contract.RenderInput{Context: c, StepID: "s", Each: "${{ parameters.envs }}",
		Input: map[string]any{"message": "${{ parameters.name }}-${{ each.value }}", "count": "${{ parameters.n }}"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 2 || out.Items[1].Input["message"] != "svc-b" || out.Items[0].Input["count"] != int64(3) {
		t.Fatalf("render: %+v", out)
	}
	out, err = s.Render(context.Background(), contract.RenderInput{Context: c, StepID: "s", If: "${{ parameters.name == 'other' }}", Input: map[string]any{}})
	if err != nil || !out.Skip {
		t.Fatalf("if false: %+v %v", out, err)
	}
	if _, err := s.Render(context.Background(), contract.RenderInput{Context: c, StepID: "s", Input: map[string]any{"x": "${{ parameters.name | nope }}"}}); err == nil || !strings.Contains(err.Error(), "step s: input") {
		t.Fatalf("bad expression: %v", err)
	}
}

// TestWorkspaceQuota: every write checks the task's quota first (found in
// review: a dry run could fill the disk before its result was measured).
func TestWorkspaceQuota(t *testing.T) {
	s, _ := newScaffold(t)
	s.Workspaces.MaxBytes, s.Workspaces.MaxFiles = 1000, 3
	ctx := context.Background()
	in := func(path string, n int) contract.ActionInput {
		return contract.ActionInput{TaskID: "q", Input: map[string]any{"path": path, "content": strings.Repeat("x", n)}}
	}
	if _, err := s.FsWrite(ctx, in("a", 600)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FsWrite(ctx, in("b", 600)); err == nil || !strings.Contains(err.Error(), "quota is 3 files and 1000 bytes") {
		t.Fatalf("over the byte quota: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, "q", "b")); err == nil {
		t.Fatal("the file over quota was written")
	}
	s.FsWrite(ctx, in("c", 1))
	s.FsWrite(ctx, in("d", 1))
	if _, err := s.FsWrite(ctx, in("e", 1)); err == nil || !strings.Contains(err.Error(), "would hold 4 files") {
		t.Fatalf("over the file quota: %v", err)
	}
}

// TestActionLogsBounded: what an action logs is recorded in history, so it
// is bounded in line length and total bytes (found in review: listing a
// large workspace with contents could exceed Temporal's payload limit).
func TestActionLogsBounded(t *testing.T) {
	s, _ := newScaffold(t)
	ctx := context.Background()
	for i := range 20 {
		if _, err := s.FsWrite(ctx, contract.ActionInput{TaskID: "big", Input: map[string]any{"path": fmt.Sprintf("f%02d", i), "content": strings.Repeat("y", 60<<10)}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.Actions()["debug:log"](ctx, contract.ActionInput{TaskID: "big", Input: map[string]any{"listWorkspace": "with-contents"}})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, l := range out.Logs {
		total += len(l)
	}
	if total > maxActionLogBytes+maxLogLine || !strings.Contains(out.Logs[len(out.Logs)-1], "more log lines not kept") {
		t.Fatalf("%d log bytes in %d lines; last %q", total, len(out.Logs), out.Logs[len(out.Logs)-1][:40])
	}
}

func TestWorkspaceSweep(t *testing.T) {
	s, _ := newScaffold(t)
	ctx := context.Background()
	for _, id := range []string{"old-task", "new-task"} {
		if _, err := s.FsWrite(ctx, contract.ActionInput{TaskID: id, Input: map[string]any{"path": "f", "content": "x"}}); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(s.Workspaces.Dir, "old-task"), old, old)
	os.WriteFile(filepath.Join(s.Workspaces.Dir, "not a task"), nil, 0o600)
	n, err := s.Workspaces.Sweep(24*time.Hour, time.Now())
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, "old-task")); err == nil {
		t.Error("the old workspace is still there")
	}
	if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, "new-task", "f")); err != nil {
		t.Error("the recent workspace was deleted")
	}
	if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, "not a task")); err != nil {
		t.Error("a file that is not a workspace was deleted")
	}
}
