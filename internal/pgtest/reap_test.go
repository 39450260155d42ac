package pgtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestReapStopsOrphans: reap stops a server whose test process is gone and
// removes its directory; it leaves a live owner's server, a directory with
// no owner, and any process that does not run the data directory it names.
func TestReapStopsOrphans(t *testing.T) {
	root := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	deadPid := gone.Process.Pid
	// server lays out a server directory: its owner (pid, or none when 0)
	// and a stand-in postmaster whose command line names the data
	// directory, as postgres -D does.
	server := func(name string, owner int, fake bool) (string, *exec.Cmd) {
		dir := filepath.Join(root, name)
		data := filepath.Join(dir, "data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			t.Fatal(err)
		}
		if owner != 0 {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(owner)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		pid := os.Getpid() // not running data: must not be signalled
		var cmd *exec.Cmd
		if fake {
			cmd = exec.Command("sh", "-c", "sleep 60; exit 0", "postgres", "-D", data)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
			pid = cmd.Process.Pid
		}
		if err := os.WriteFile(filepath.Join(data, "postmaster.pid"), []byte(strconv.Itoa(pid)+"\n"+data+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir, cmd
	}
	orphan, orphanPM := server("rigger-pg-orphan", deadPid, true)
	owned, ownedPM := server("rigger-pg-owned", os.Getpid(), true)
	unowned, _ := server("rigger-pg-unowned", 0, true)
	reused, _ := server("rigger-pg-reused", deadPid, false)

	exited := make(chan error, 1)
	go func() { exited <- orphanPM.Wait() }()
	removed := reap(root)
	slices.Sort(removed)
	if want := []string{orphan, reused}; !slices.Equal(removed, want) {
		t.Errorf("reap removed %v, want %v", removed, want)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Error("the orphaned server's postmaster still runs")
	}
	for _, dir := range []string{owned, unowned} {
		if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); err != nil {
			t.Errorf("%s: %v; a server whose owner lives, or that has none, must be left alone", dir, err)
		}
	}
	if !alive(ownedPM.Process.Pid) {
		t.Error("a live owner's server was stopped")
	}
}
