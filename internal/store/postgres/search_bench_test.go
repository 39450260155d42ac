package postgres

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

func benchStore(b *testing.B) store.Store {
	b.Helper()
	return openStore(b, pg.DB(b, "bench"))
}

// BenchmarkSearchQuery: search latency at RIGGER_BENCH_SIZES entities
// (default 100,000) and a tenth as many docs pages.
func BenchmarkSearchQuery(b *testing.B) {
	for _, n := range storetest.BenchSizes() {
		b.Run(fmt.Sprint(n), func(b *testing.B) { storetest.BenchSearchQuery(b, benchStore, n, serverCPU(b)) })
	}
}

// BenchmarkSearchIngest: what the search index adds to writing 10,000
// entities.
func BenchmarkSearchIngest(b *testing.B) {
	storetest.BenchSearchIngest(b, benchStore, 10000, serverCPU(b))
}

// serverCPU reads the CPU time (user and system) used so far by the
// PostgreSQL server the benchmarks run against: its postmaster and every
// process it started, from /proc (nil where there is none: the metrics
// then count this process alone). Backends that exited are not counted;
// the store keeps its connections.
func serverCPU(b *testing.B) func() time.Duration {
	db, err := sql.Open("pgx", pg.DB(b, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var backend int
	if err := db.QueryRow(`SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	postmaster, _, ok := procStat(backend)
	if !ok {
		return nil
	}
	return func() time.Duration {
		var total time.Duration
		dirs, _ := os.ReadDir("/proc")
		for _, d := range dirs {
			pid, err := strconv.Atoi(d.Name())
			if err != nil {
				continue
			}
			if parent, cpu, ok := procStat(pid); ok && (parent == postmaster || pid == postmaster) {
				total += cpu
			}
		}
		return total
	}
}

// procStat is a process's parent and CPU time (user and system), from
// /proc/PID/stat.
func procStat(pid int) (parent int, cpu time.Duration, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// Fields after the command name (in parentheses, which may hold
	// spaces): state, ppid, ..., utime (14th of the line), stime (15th).
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, 0, false
	}
	parent, _ = strconv.Atoi(f[1])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return parent, time.Duration(utime+stime) * time.Second / ticks, true
}

// BenchmarkPickerQuery: an entity picker's queries at RIGGER_BENCH_SIZES
// components (default 100,000).
func BenchmarkPickerQuery(b *testing.B) {
	for _, n := range storetest.BenchSizes() {
		b.Run(fmt.Sprint(n), func(b *testing.B) { storetest.BenchPickerQuery(b, benchStore, n) })
	}
}

// BenchmarkCatalogRead: an owner's page and a lookup by name at
// RIGGER_BENCH_SIZES components (default 100,000).
func BenchmarkCatalogRead(b *testing.B) {
	for _, n := range storetest.BenchSizes() {
		b.Run(fmt.Sprint(n), func(b *testing.B) { storetest.BenchCatalogRead(b, benchStore, n) })
	}
}
