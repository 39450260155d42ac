package store

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// lowNice is the scheduling niceness of runLowPriority's thread.
const lowNice = 19

// runLowPriority runs fn on an OS thread of its own at the lowest
// scheduling priority, and waits for it: other threads (the requests being
// served) get the CPU first. The thread is never handed back to the Go
// scheduler (an unprivileged process cannot raise its priority again): it
// exits with the goroutine.
func runLowPriority(fn func()) {
	done := make(chan any, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		defer func() { done <- recover() }()
		// Best effort: where it is refused, fn runs at normal priority.
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), lowNice)
		fn()
	}()
	if p := <-done; p != nil {
		panic(p)
	}
}

// processCPU is the CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MachineCPU is the CPU time every process of the machine has used so
// far (the first line of /proc/stat: user, nice, system, irq, softirq and
// steal; guest time is already in user), or this process's where
// /proc/stat cannot be read. Its resolution is the kernel's clock tick
// (USER_HZ, 10 ms).
func MachineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return processCPU()
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return processCPU()
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return processCPU()
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ
}

// userHZ is the unit of /proc/stat's times: 100 a second on every Linux
// architecture Go builds for (the kernel's USER_HZ, whatever its HZ).
const userHZ = 100
