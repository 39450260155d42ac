package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkClusterIngest ingests the generated catalog (RIGGER_BENCH_SIZES,
// default 10k and 100k entities) on the production topology: the official
// Temporal server on PostgreSQL, rigger's own PostgreSQL, one rigger server
// and two rigger workers refreshing the catalog's static location. It
// reports the time from the cluster being ready until every entity is
// queryable, the owner and by-name
// query figures, and each process's CPU time and peak RSS; the same catalog
// in one rigger dev process on PostgreSQL is BenchmarkCatalog's
// postgres line, run beside it for the comparison.
func BenchmarkClusterIngest(b *testing.B) {
	needBinary(b)
	nodevBinary(b) // built before any clock starts
	for _, n := range benchSizes() {
		dir, m := generateCatalog(b, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			location := benchCatalogConfig + fmt.Sprintf("  locations:\n    - {type: file, target: %s}\n", filepath.Join(dir, "location.yaml"))
			t0 := time.Now()
			c := startCluster(b, 1, 2, location)
			up := time.Since(t0)
			ingest := waitQueryable(b, c.servers[0].api, c.token, m, t0)
			// The server registers the static location before it is
			// ready, so the workers may have begun a little earlier.
			b.ReportMetric(up.Seconds(), "s-cluster-start")
			b.ReportMetric((ingest - up).Seconds(), "s-to-queryable-after-ready")
			reportQueries(b, c.servers[0].api, c.token, m)
			usage := map[string]procUsage{
				"temporal":  usageOf(b, c.temporal.Pid(), false),
				"rigger-pg": usageOf(b, postmasterPid(b, c.store.Addr()), true),
				"server":    usageOf(b, c.servers[0].cmd.Process.Pid, false),
				"worker-1":  usageOf(b, c.workers[0].cmd.Process.Pid, false),
				"worker-2":  usageOf(b, c.workers[1].cmd.Process.Pid, false),
			}
			for name, u := range usage {
				b.ReportMetric(u.cpu.Seconds(), "s-cpu-"+name)
				b.ReportMetric(u.peakMiB, "MiB-peak-rss-"+name)
				b.Logf("%-9s cpu %6.1f s  peak RSS %6.1f MiB", name, u.cpu.Seconds(), u.peakMiB)
			}
		})
	}
}

// procUsage is a process's CPU time and peak RSS; for a PostgreSQL
// postmaster, its backends' too (their peak RSS is the largest one's).
type procUsage struct {
	cpu     time.Duration
	peakMiB float64
}

// usageOf reads /proc for pid and, with children, for its live children
// and the CPU time of those it reaped (cutime, cstime).
func usageOf(tb testing.TB, pid int, children bool) procUsage {
	tb.Helper()
	f := procStatFields(tb, pid)
	ticks := func(i int) time.Duration {
		v, _ := strconv.Atoi(f[i])
		return time.Duration(v) * 10 * time.Millisecond
	}
	u := procUsage{cpu: ticks(11) + ticks(12), peakMiB: rssMiB(tb, pid, "VmHWM")}
	if !children {
		return u
	}
	u.cpu += ticks(13) + ticks(14)
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		child, err := strconv.Atoi(filepath.Base(filepath.Dir(st)))
		if err != nil || child == pid {
			continue
		}
		raw, err := os.ReadFile(st)
		if err != nil {
			continue // gone
		}
		cf := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		if len(cf) < 13 || cf[1] != strconv.Itoa(pid) {
			continue
		}
		ut, _ := strconv.Atoi(cf[11])
		stt, _ := strconv.Atoi(cf[12])
		u.cpu += time.Duration(ut+stt) * 10 * time.Millisecond
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", child)); err == nil {
			if hwm := rssMiB(tb, child, "VmHWM"); hwm > u.peakMiB {
				u.peakMiB = hwm
			}
		}
	}
	return u
}

// postmasterPid is the pid of the PostgreSQL server listening on addr.
func postmasterPid(tb testing.TB, addr string) int {
	pid, _ := postmaster(tb, addr)
	return pid
}

// procStatFields are /proc/<pid>/stat's fields after the command name
// (which may hold spaces): index 1 is the parent's pid, 11 and 12 user
// and system time, 13 and 14 those of reaped children, in ticks of 10 ms.
func procStatFields(tb testing.TB, pid int) []string {
	tb.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
}
