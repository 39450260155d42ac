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
// far (the first line of /proc/stat; in a container, usually the host's),
// or this process's where /proc/stat cannot be read or holds only zeros
// (gVisor's). Its resolution is the kernel's clock tick (USER_HZ, 10 ms).
func MachineCPU() time.Duration {
	// The first line only: the file goes on with a line per CPU and
	// every interrupt's count (tens of KiB on a large machine).
	f, err := os.Open("/proc/stat")
	if err != nil {
		return processCPU()
	}
	var b [512]byte
	n, err := f.Read(b[:])
	f.Close()
	line, _, complete := strings.Cut(string(b[:n]), "\n")
	if err != nil || !complete {
		return processCPU()
	}
	busy, ok := parseProcStat(line)
	if !ok {
		return processCPU()
	}
	return busy
}

// parseProcStat reads /proc/stat's first line ("cpu user nice system idle
// iowait irq softirq steal guest guest_nice", in USER_HZ ticks): the time
// spent busy (user, nice, system, irq, softirq, steal; guest time is
// already in user and nice), and false for a line it cannot read or whose
// times are all zero.
func parseProcStat(line string) (time.Duration, bool) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var busy, all int64
	for i := 1; i < len(f); i++ {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, false
		}
		all += n
		switch i {
		case 1, 2, 3, 6, 7, 8:
			busy += n
		}
	}
	if all == 0 {
		return 0, false
	}
	return time.Duration(busy) * (time.Second / userHZ), true
}

// userHZ is the unit of /proc/stat's times: 100 a second on every Linux
// architecture Go builds for (the kernel's USER_HZ, whatever its HZ).
const userHZ = 100
