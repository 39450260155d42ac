package testtools

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ProcStat is /proc/<pid>/stat's fields after the command name (which may
// hold spaces and parentheses): state is [0], ppid [1], minor page faults
// [7]; utime [11], stime [12], cutime [13], cstime [14], in clock ticks
// (USER_HZ, 100 a second).
func ProcStat(pid int) ([]string, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:])), nil
}

// Ticks is the sum of ProcStat fields f[i]... as a duration.
func Ticks(f []string, i ...int) time.Duration {
	var n int
	for _, k := range i {
		v, _ := strconv.Atoi(f[k])
		n += v
	}
	return time.Duration(n) * 10 * time.Millisecond
}

// BusyProcess is another process keeping a core busy (a shell loop).
type BusyProcess struct {
	cmd     *exec.Cmd
	stopped bool
}

// StartBusyProcess starts a BusyProcess, stopped when the test ends. It
// also stops by itself once this process is gone, so a test binary killed
// part-way (a -timeout, a SIGKILL) leaves no loop spinning.
func StartBusyProcess(t testing.TB) *BusyProcess {
	t.Helper()
	cmd := exec.Command("sh", "-c", `while kill -0 "$0" 2>/dev/null; do :; done`, strconv.Itoa(os.Getpid()))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a busy process: %v", err)
	}
	p := &BusyProcess{cmd: cmd}
	t.Cleanup(p.Stop)
	return p
}

// Stop kills the process and waits for it (again: nothing).
func (p *BusyProcess) Stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// CPU is the CPU time the running process has used so far.
func (p *BusyProcess) CPU(t testing.TB) time.Duration {
	t.Helper()
	f, err := ProcStat(p.cmd.Process.Pid)
	if err != nil {
		t.Fatalf("busy process: %v", err)
	}
	return Ticks(f, 11, 12)
}
