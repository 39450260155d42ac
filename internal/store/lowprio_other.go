//go:build !linux

package store

// runLowPriority runs fn (thread priorities are set on Linux only).
func runLowPriority(fn func()) { fn() }
