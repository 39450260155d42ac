//go:build !linux

package store

import "time"

// runLowPriority runs fn (thread priorities are set on Linux only).
func runLowPriority(fn func()) { fn() }

// processCPU is not read here: the process always looks quiet.
func processCPU() time.Duration { return 0 }
