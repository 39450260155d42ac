package store

import (
	"runtime"
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
