package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestQuietWindow: a clock that moves by a tenth of the window or more is
// busy, one that moves by less is quiet, and a cancelled context ends the
// watch at once.
func TestQuietWindow(t *testing.T) {
	for _, c := range []struct {
		step  time.Duration
		quiet bool
	}{
		{0, true},
		{checkpointQuiet/10 - time.Millisecond, true},
		{checkpointQuiet / 10, false},
		{time.Second, false},
	} {
		var calls atomic.Int64
		cpu := func() time.Duration { return time.Duration(calls.Add(1)) * c.step }
		quiet, ok := quietWindow(context.Background(), cpu)
		if !ok || quiet != c.quiet {
			t.Errorf("a clock moving %v over the window: quiet %v, ok %v; want quiet %v", c.step, quiet, ok, c.quiet)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t0 := time.Now()
	if _, ok := quietWindow(ctx, func() time.Duration { return 0 }); ok {
		t.Error("quietWindow with a cancelled context: ok")
	}
	if d := time.Since(t0); d >= checkpointQuiet {
		t.Errorf("quietWindow with a cancelled context took %v", d)
	}
}

// busyClock is a Dialect.QuietCPU for the checkpointer's tests: still
// (quiet), or a second further at every read (busy).
type busyClock struct {
	busy atomic.Bool
	at   atomic.Int64
}

func (c *busyClock) read() time.Duration {
	if c.busy.Load() {
		return time.Duration(c.at.Add(int64(time.Second)))
	}
	return time.Duration(c.at.Load())
}

// ckptTimes are the checkpointer's timings a test runs with.
type ckptTimes struct{ delay, quiet, quietMax, every, postponeMax time.Duration }

// ckptStore is a SQLite file in WAL mode whose log only the checkpointer
// under test copies, and the clock it reads.
type ckptStore struct {
	s     *SQL
	path  string
	clock *busyClock
	// wrote is the bytes written so far.
	wrote int64
}

// newCkptStore starts a checkpointer with times on a new file, its clock
// busy or not, and runs the copy its start asks for (a store's opening
// writes) at once.
func newCkptStore(t *testing.T, times ckptTimes, busy bool) *ckptStore {
	t.Helper()
	saved := ckptTimes{checkpointDelay, checkpointQuiet, checkpointQuietMax, checkpointEvery, checkpointPostponeMax}
	checkpointDelay, checkpointQuiet, checkpointQuietMax, checkpointEvery, checkpointPostponeMax = times.delay, times.quiet, times.quietMax, times.every, times.postponeMax
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	c := &ckptStore{path: path, clock: &busyClock{}}
	c.clock.busy.Store(busy)
	c.s = &SQL{db: db, d: Dialect{Rebind: func(q string) string { return q }, SerializeWrites: true,
		Checkpoint: "PRAGMA wal_checkpoint(PASSIVE)", QuietCPU: c.clock.read}}
	c.s.startCheckpointer()
	t.Cleanup(func() {
		c.s.stopCheckpointer()
		db.Close()
		checkpointDelay, checkpointQuiet, checkpointQuietMax, checkpointEvery, checkpointPostponeMax = saved.delay, saved.quiet, saved.quietMax, saved.every, saved.postponeMax
	})
	c.flush(t)
	return c
}

// flush runs the pending copy through a flush, which must not wait for
// the quiet moment the copy would otherwise wait for (a minute or more in
// these tests).
func (c *ckptStore) flush(t *testing.T) {
	t.Helper()
	t0 := time.Now()
	c.s.ckpt.flush()
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("a flush took %v: it waited instead of running the copy at once", d)
	}
}

// write appends 256 KiB to the log (not copied: the connection does not
// checkpoint); through the store's write lock it tells the checkpointer,
// as a large batch or not, otherwise it is a write outside the store.
func (c *ckptStore) write(t *testing.T, throughStore, large bool) {
	t.Helper()
	if _, err := c.s.db.Exec(`INSERT INTO t VALUES (randomblob(262144))`); err != nil {
		t.Fatal(err)
	}
	c.wrote += 262144
	if throughStore {
		c.s.ckpt.wroteLog(large)
	}
}

// copied reports whether the database file holds what was written: the
// log's pages reach the file only through a copy.
func (c *ckptStore) copied(t *testing.T) bool {
	t.Helper()
	fi, err := os.Stat(c.path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size() >= c.wrote
}

// copiedWithin polls copied until it is true or d passed.
func (c *ckptStore) copiedWithin(t *testing.T, d time.Duration) bool {
	t.Helper()
	ok, _ := c.copiedBy(t, d)
	return ok
}

// copiedBy is copiedWithin, also returning when the last poll that found
// nothing copied began: a moment before the copy, whatever the polls'
// delays.
func (c *ckptStore) copiedBy(t *testing.T, d time.Duration) (bool, time.Time) {
	t.Helper()
	before := time.Now()
	for end := before.Add(d); ; time.Sleep(10 * time.Millisecond) {
		poll := time.Now()
		if c.copied(t) {
			return true, before
		}
		before = poll
		if time.Now().After(end) {
			return false, before
		}
	}
}

// TestCheckpointerCopiesWrites: a write through the store is copied into
// the file a moment later, even on a busy machine; a large batch waits for
// a quiet moment, and is copied once the machine is quiet.
func TestCheckpointerCopiesWrites(t *testing.T) {
	times := ckptTimes{delay: 50 * time.Millisecond, quiet: 50 * time.Millisecond, quietMax: time.Minute, every: time.Minute, postponeMax: time.Minute}
	c := newCkptStore(t, times, true)
	c.write(t, true, false)
	if !c.copiedWithin(t, 10*time.Second) {
		t.Fatal("a small write was not copied into the file")
	}

	c.write(t, true, true)
	time.Sleep(500 * time.Millisecond)
	if c.copied(t) {
		t.Fatal("a large batch was copied while the machine was busy")
	}
	c.clock.busy.Store(false)
	if !c.copiedWithin(t, 10*time.Second) {
		t.Fatal("a large batch was not copied once the machine was quiet")
	}
}

// TestCheckpointerBoundsTheWait: on a machine never quiet, a large batch
// is copied checkpointQuietMax after it committed, not later, not before.
func TestCheckpointerBoundsTheWait(t *testing.T) {
	times := ckptTimes{delay: 50 * time.Millisecond, quiet: 50 * time.Millisecond, quietMax: 800 * time.Millisecond, every: time.Minute, postponeMax: time.Minute}
	c := newCkptStore(t, times, true)
	t0 := time.Now()
	c.write(t, true, true)
	if !c.copiedWithin(t, 10*time.Second) {
		t.Fatal("a large batch on a busy machine was never copied")
	}
	if d := time.Since(t0); d < times.quietMax {
		t.Errorf("copied %v after the batch, before checkpointQuietMax (%v)", d, times.quietMax)
	}
}

// TestCheckpointerBackstop: what a write outside the store's lock leaves
// is copied by the backstop in a quiet moment; on a machine never quiet,
// checkpointPostponeMax after the last copy.
func TestCheckpointerBackstop(t *testing.T) {
	times := ckptTimes{delay: 50 * time.Millisecond, quiet: 50 * time.Millisecond, quietMax: time.Minute, every: 150 * time.Millisecond, postponeMax: 1500 * time.Millisecond}
	c := newCkptStore(t, times, false)
	c.write(t, false, false)
	ok, beforeCopy := c.copiedBy(t, 10*time.Second)
	if !ok {
		t.Fatal("the backstop did not copy a write outside the store on a quiet machine")
	}

	// Busy from here. A backstop that found the machine quiet just before
	// may still copy (nothing, before the write below): the last copy is
	// then later, and the bound below only looser.
	c.clock.busy.Store(true)
	time.Sleep(300 * time.Millisecond)
	c.write(t, false, false)
	time.Sleep(500 * time.Millisecond)
	if c.copied(t) {
		t.Fatal("the backstop copied on a busy machine before checkpointPostponeMax")
	}
	if !c.copiedWithin(t, 10*time.Second) {
		t.Fatal("the backstop never copied on a busy machine")
	}
	if d := time.Since(beforeCopy); d < times.postponeMax {
		t.Errorf("the backstop copied %v after the last copy on a busy machine, before checkpointPostponeMax (%v)", d, times.postponeMax)
	}
}

// TestCheckpointerFlushAndStop: a flush runs the pending copy at once and
// waits for it; stopping ends a wait for quiet at once, and a flush or a
// write after the stop returns without a copy.
func TestCheckpointerFlushAndStop(t *testing.T) {
	times := ckptTimes{delay: 50 * time.Millisecond, quiet: 50 * time.Millisecond, quietMax: time.Minute, every: time.Minute, postponeMax: time.Minute}
	c := newCkptStore(t, times, true)
	c.write(t, true, true)
	c.flush(t)
	if !c.copied(t) {
		t.Fatal("a flush returned before the pending copy ran")
	}
	flushed := make(chan struct{})
	go func() { c.s.ckpt.flush(); close(flushed) }() // nothing pending
	select {
	case <-flushed:
	case <-time.After(5 * time.Second):
		t.Fatal("a flush with nothing pending did not return")
	}

	// A large batch on a busy machine: the loop waits for a quiet moment
	// (waitFor) once the backstop's watch the flush above set off is over.
	c.write(t, true, true)
	time.Sleep(4 * times.quiet)
	stopped := make(chan struct{})
	go func() {
		c.s.stopCheckpointer()
		c.s.ckpt.flush()
		c.s.ckpt.wroteLog(true)
		c.s.ckpt.flush()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("stopping the checkpointer, or a flush after it, hung")
	}
	if c.copied(t) {
		t.Error("a batch was copied after the checkpointer stopped")
	}
}
