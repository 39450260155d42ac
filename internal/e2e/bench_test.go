package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rssMiB reads a process's resident set size from /proc.
func rssMiB(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb / 1024
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// BenchmarkDevStartup measures exec → /readyz on a new and on an existing data
// dir, and RSS once ready.
func BenchmarkDevStartup(b *testing.B) {
	needBinary(b)
	var fresh, existing time.Duration
	var rss float64
	for range b.N {
		dir := b.TempDir()
		for round := range 2 {
			ps := freePorts(b)
			t0 := time.Now()
			p := startDev(b, dir, ps)
			d := time.Since(t0)
			if round == 0 {
				fresh += d
				time.Sleep(2 * time.Second) // let start-up settle before reading RSS
				rss += rssMiB(b, p.cmd.Process.Pid, "VmRSS")
			} else {
				existing += d
			}
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			p.wait(b, 30*time.Second)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(fresh.Milliseconds())/n, "ms-ready-new-dir")
	b.ReportMetric(float64(existing.Milliseconds())/n, "ms-ready-existing-dir")
	b.ReportMetric(rss/n, "MiB-rss-idle")
}

// BenchmarkHelloLatency runs the two-activity hello workflow through the API
// 50 times in sequence (after 5 warm-ups) and reports p50/p99.
func BenchmarkHelloLatency(b *testing.B) {
	needBinary(b)
	p := startDev(b, b.TempDir(), freePorts(b))
	run := func() time.Duration {
		t0 := time.Now()
		var r helloResp
		if code := doJSON(b, "POST", p.api+"/api/dev/hello", map[string]any{"name": "bench"}, &r); code != http.StatusOK || r.Status != "completed" {
			b.Fatalf("hello: %d %+v", code, r)
		}
		return time.Since(t0)
	}
	for range 5 {
		run()
	}
	b.ResetTimer()
	var lat []time.Duration
	for range b.N * 50 {
		lat = append(lat, run())
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "ms-p99")
	b.ReportMetric(rssMiB(b, p.cmd.Process.Pid, "VmHWM"), "MiB-peak-rss")
}
