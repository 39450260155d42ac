//go:build unix

package storetest

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used (user and system): a
// query's cost on SQLite (in process) whatever else loads the machine; on
// PostgreSQL only the client's share.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
