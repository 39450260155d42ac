package postgres

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
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
	storetest.BenchSearchIngest(b, checkpointedStore, 10000, serverCPU(b))
}

// checkpointedStore is a benchmark's store with a Checkpoint method, so
// that BenchSearchIngest counts in each write's CPU time the writing out
// of the pages it dirtied (else the server's checkpointer does it during
// a later write, which it then seems to cost), and whose Close drops its
// database (autovacuum then visits only the databases in use).
func checkpointedStore(b *testing.B) store.Store {
	b.Helper()
	dsn := pg.DB(b, "bench")
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	admin, err := sql.Open("pgx", u.String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { admin.Close() })
	return &checkpointed{SQL: openStore(b, dsn), admin: admin, name: name}
}

type checkpointed struct {
	*store.SQL
	admin *sql.DB // on another database of the server
	name  string
}

// Checkpoint has the server write every dirty page out.
func (c *checkpointed) Checkpoint(ctx context.Context) error {
	_, err := c.admin.ExecContext(ctx, "CHECKPOINT")
	return err
}

// Close closes the store and drops its database.
func (c *checkpointed) Close() error {
	if err := c.SQL.Close(); err != nil {
		return err
	}
	_, err := c.admin.Exec("DROP DATABASE IF EXISTS " + c.name + " WITH (FORCE)")
	return err
}

// serverCPU reads the CPU time used so far by the PostgreSQL server the
// benchmarks run against: its postmaster's, every live process it started,
// and those that exited (the postmaster's children's time, counted as it
// reaps them: backends, autovacuum and parallel workers), from /proc (nil
// where there is none: the metrics then count this process alone). A live
// process's time is its scheduler's run time, in nanoseconds (stat's
// user and system times are in ticks of 10 ms: a sum of a dozen
// processes' was off by up to a tenth of a second).
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
			parent, reaped, ok := procStat(pid)
			if !ok || (pid != postmaster && parent != postmaster) {
				continue
			}
			if pid == postmaster {
				total += reaped
			}
			total += runTime(pid)
		}
		return total
	}
}

// procStat is a process's parent and the CPU time (user and system) of
// its children it waited for, from /proc/PID/stat.
func procStat(pid int) (parent int, reaped time.Duration, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// Fields after the command name (in parentheses, which may hold
	// spaces): state, ppid, ..., cutime (16th of the line), cstime (17th).
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 15 {
		return 0, 0, false
	}
	parent, _ = strconv.Atoi(f[1])
	cutime, _ := strconv.ParseInt(f[13], 10, 64)
	cstime, _ := strconv.ParseInt(f[14], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return parent, time.Duration(cutime+cstime) * time.Second / ticks, true
}

// runTime is the time process pid has run on a CPU, from
// /proc/PID/schedstat (0 if it exited meanwhile).
func runTime(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	ns, _ := strconv.ParseInt(f[0], 10, 64)
	return time.Duration(ns)
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
