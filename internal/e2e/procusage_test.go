package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/testtools"
)

// usageProc is a process whose CPU time and memory a benchmark reports.
// A tree (PostgreSQL: the postmaster and its backends) counts its live
// descendants and the children it reaped, and its memory is the sum of
// their proportional set sizes (Pss: shared memory counted once).
type usageProc struct {
	name string
	pid  int
	tree bool
}

// descendants lists the live processes under pid (not pid itself).
func descendants(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := map[int][]int{}
	for _, s := range stats {
		child, _ := strconv.Atoi(filepath.Base(filepath.Dir(s)))
		f, err := testtools.ProcStat(child)
		if err != nil {
			continue // it exited
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], child)
	}
	var out []int
	for queue := children[pid]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// cpu is the process's user+system CPU time; a tree's adds its live
// descendants' and the children it reaped.
func (u usageProc) cpu(tb testing.TB) time.Duration {
	tb.Helper()
	f, err := testtools.ProcStat(u.pid)
	if err != nil {
		tb.Fatal(err)
	}
	if !u.tree {
		return testtools.Ticks(f, 11, 12)
	}
	total := testtools.Ticks(f, 11, 12, 13, 14)
	for _, d := range descendants(u.pid) {
		if f, err := testtools.ProcStat(d); err == nil { // else it exited: its parent counts it once reaped
			total += testtools.Ticks(f, 11, 12)
		}
	}
	return total
}

// cpuOf is the CPU time of procs together, read when called.
func cpuOf(tb testing.TB, procs ...usageProc) func() time.Duration {
	return func() time.Duration {
		var total time.Duration
		for _, u := range procs {
			total += u.cpu(tb)
		}
		return total
	}
}

// memMiB is the process's peak RSS (VmHWM), or a tree's Pss now.
func (u usageProc) memMiB(tb testing.TB) float64 {
	tb.Helper()
	if !u.tree {
		return rssMiB(tb, u.pid, "VmHWM")
	}
	var kb float64
	for _, pid := range append([]int{u.pid}, descendants(u.pid)...) {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			if pid == u.pid {
				tb.Fatal(err)
			}
			continue
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Pss:" {
				v, _ := strconv.ParseFloat(f[1], 64)
				kb += v
			}
		}
	}
	return kb / 1024
}

// measureUsage samples the CPU time of procs now; the func it returns
// reports, for each, the CPU time used since and its memory, as metrics
// and as a log table.
func measureUsage(b *testing.B, procs []usageProc) (report func()) {
	before := make([]time.Duration, len(procs))
	for i, p := range procs {
		before[i] = p.cpu(b)
	}
	return func() {
		// One line: go test cuts a benchmark's log after a few lines.
		var parts []string
		for i, p := range procs {
			cpu, mem := (p.cpu(b) - before[i]).Seconds(), p.memMiB(b)
			b.ReportMetric(cpu, p.name+"-cpu-s")
			b.ReportMetric(mem, p.name+"-MiB")
			parts = append(parts, fmt.Sprintf("%s %.1f s/%.0f MiB", p.name, cpu, mem))
		}
		b.Logf("CPU time during the run / memory (peak RSS; PostgreSQL: Pss of its processes at the end): %s", strings.Join(parts, ", "))
	}
}
