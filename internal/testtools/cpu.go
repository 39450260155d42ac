package testtools

import (
	"syscall"
	"testing"
	"time"
)

// ChildCPU is the CPU time (user+system) of this process's waited-for
// children so far. Benchmarks of tools started as processes report its
// growth per iteration ([ReportChildCPU]): on a shared machine wall time
// measures the other load as much as the work, CPU time mostly the work.
func ChildCPU() time.Duration {
	return rusage(syscall.RUSAGE_CHILDREN)
}

// SelfCPU is the CPU time (user+system) of this process so far: what the
// code under benchmark spent itself, beside the processes it started
// (and the test binary's own few goroutines).
func SelfCPU() time.Duration {
	return rusage(syscall.RUSAGE_SELF)
}

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ReportChildCPU reports, as "cpu-ms/op", the children's CPU time since
// before (a ChildCPU reading) divided by the n iterations that ran.
func ReportChildCPU(b *testing.B, before time.Duration, n int) {
	b.Helper()
	if n > 0 {
		b.ReportMetric(float64(ChildCPU()-before)/float64(n)/float64(time.Millisecond), "cpu-ms/op")
	}
}

// ReportSelfCPU reports, as "self-cpu-ms/op", this process's CPU time
// since before (a SelfCPU reading) divided by the n iterations.
func ReportSelfCPU(b *testing.B, before time.Duration, n int) {
	b.Helper()
	if n > 0 {
		b.ReportMetric(float64(SelfCPU()-before)/float64(n)/float64(time.Millisecond), "self-cpu-ms/op")
	}
}
