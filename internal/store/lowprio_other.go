//go:build !linux

package store

import "time"

// runLowPriority runs fn (thread priorities are set on Linux only).
func runLowPriority(fn func()) { fn() }

// processCPU is not read here: the process always looks quiet.
func processCPU() time.Duration { return 0 }

// MachineCPU is processCPU here: other processes' time is read on Linux
// only.
func MachineCPU() time.Duration { return processCPU() }
