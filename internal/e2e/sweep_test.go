package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWorkspaceSweeperRuns: rigger dev's workers sweep task workspaces
// unused for longer than scaffolder.workspaceTTL (24 h by default) when
// they start: an old one is deleted, a recent one kept.
func TestWorkspaceSweeperRuns(t *testing.T) {
	needBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	for _, task := range []string{"old-task", "recent-task"} {
		if err := os.MkdirAll(filepath.Join(data, "workspaces", task), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, "workspaces", task, "f"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-25 * time.Hour)
	if err := os.Chtimes(filepath.Join(data, "workspaces", "old-task"), old, old); err != nil {
		t.Fatal(err)
	}
	p := startDev(t, data, freePorts(t))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(data, "workspaces", "old-task")); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the workspace unused for 25 h was not swept")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(data, "workspaces", "recent-task", "f")); err != nil {
		t.Errorf("the recent workspace was swept: %v", err)
	}
	if n := countLogs(p.stderr.String(), map[string]any{"msg": "deleted old task workspaces", "count": 1}); n != 1 {
		t.Errorf("sweep log lines: %d, want 1", n)
	}
}
