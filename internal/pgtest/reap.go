package pgtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ownerFile names, in a server's directory, the test process that started
// it. A test binary that ends without Stop (a panic, os.Exit, a kill: Go
// runs no deferred call then) leaves its server running; the next start
// anywhere on the machine stops it (reap).
const ownerFile = "owner"

// markOwner records this process as dir's owner.
func markOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// reap stops the servers under root whose owning test process is gone,
// and removes their directories. A server is stopped only when the
// process its postmaster.pid names has this server's data directory on
// its command line (a pid reused by another process is left alone).
// Directories without an owner (a server still being set up by a
// release before this one) are left as they are. It returns the
// directories it removed.
func reap(root string) []string {
	owners, _ := filepath.Glob(filepath.Join(root, "rigger-pg-*", ownerFile))
	var removed []string
	for _, f := range owners {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		owner, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil || owner <= 0 || alive(owner) {
			continue
		}
		dir := filepath.Dir(f)
		data := filepath.Join(dir, "data")
		if pid := postmaster(data); pid > 0 {
			// Immediate shutdown: the postmaster ends its backends.
			_ = syscall.Kill(pid, syscall.SIGQUIT)
			for deadline := time.Now().Add(10 * time.Second); alive(pid) && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			if alive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if os.RemoveAll(dir) == nil {
			removed = append(removed, dir)
		}
	}
	return removed
}

// alive reports whether process pid exists (a zombie counts as gone). It
// reads /proc itself: testtools.ProcStat's package tests import this one.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	// The state follows the command's closing parenthesis.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// postmaster is the pid data's postmaster.pid names when that process
// runs this data directory, else 0.
func postmaster(data string) int {
	raw, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || !bytes.Contains(cmdline, []byte(data)) {
		return 0
	}
	return pid
}
