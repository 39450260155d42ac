package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDataDirIsPrivate starts rigger dev under umask 022 on a data dir left
// 0755 with a 0644 file in it (as an older rigger made them) and checks the
// dir becomes 0700 and nothing in it, however created (SQLite's -wal and
// -shm, the embedded Temporal's files, the secret key), is readable by group
// or others.
func TestDataDirIsPrivate(t *testing.T) {
	needBinary(t)
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "stale.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	startDev(t, data, freePorts(t))

	seen := map[string]bool{}
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		seen[rel] = true
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s is %v: group or others can access it", rel, info.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(data); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode: %v %v, want 0700", info.Mode(), err)
	}
	for _, want := range []string{"LOCK", "temporal.version", "temporal.db", "temporal.db-wal", "temporal-visibility.db", "rigger.db", "rigger.db-wal", "rigger-audit.db", "secret.key", "stale.txt"} {
		if !seen[want] {
			t.Errorf("data dir lacks %s (have %v): the check above did not cover it", want, seen)
		}
	}
}
