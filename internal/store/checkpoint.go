package store

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointer copies a write-ahead log into its database file
// (Dialect.Checkpoint) for a store whose connections do not do it as they
// commit: SQLite's did, in the commit of whichever write found the log past
// 1000 pages, so a small write now and then paid for copying what others
// wrote, and a large batch's commit copied the whole batch (780 MB at 100k
// entities, ~2 s) while the queries that had just started to see it ran
// beside it, at two to four times their usual p99 on two cores, even with
// the copy at the lowest scheduling priority.
//
// Here the copy runs on a goroutine of its own, at low priority, a moment
// after writes (checkpointDelay: the writes of that moment share one copy),
// and after a large batch once the readers are quiet (checkpointQuiet), for
// checkpointQuietMax at most; so do Open's own writes (a migration, a
// search index rebuilt). A backstop every checkpointEvery copies what
// writes outside the store's write lock left. Readers meanwhile read the
// batch's pages from the log, which costs them far less than the copy did.
//
// "Quiet" is read from Dialect.QuietCPU: on SQLite the CPU time of the
// whole machine, as a SQLite file is only shared by processes of one
// machine. When it was this process's, a rigger worker that loaded a file
// a rigger server reads copied it once the worker was quiet, while the
// server answered the queries that had just started to see the batch: at
// 100k entities their owner p99 was 5.8-7.4 ms instead of 4.0-6.7
// (medians 6.9 and 4.9 ms over 8 runs each).
type checkpointer struct {
	// kick wakes the loop: a write committed, or a flush asks.
	kick chan struct{}
	// largeAt is when the latest large batch among the writes the next
	// copy takes committed (zero: none), firstLargeAt the first; now asks
	// that copy to run at once (flush). pending says a write waits for a
	// copy, and settled is closed once that copy ran (or the checkpointer
	// stopped), so flush can wait for it.
	mu           sync.Mutex
	largeAt      time.Time
	firstLargeAt time.Time
	now          bool
	pending      bool
	stopped      bool
	settled      chan struct{}
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	// reported is set once a failed copy was logged.
	reported atomic.Bool
}

// The checkpointer's timings (variables so that a test can shorten them
// before a checkpointer starts).
var (
	checkpointDelay    = time.Second
	checkpointQuietMax = 30 * time.Second
	checkpointEvery    = 30 * time.Second
	// checkpointQuiet is the window over which the readers' clock
	// (Dialect.QuietCPU) must have moved by under a tenth of a core before
	// a large batch's copy, or a backstop's, runs.
	checkpointQuiet = 250 * time.Millisecond
	// checkpointPostponeMax bounds the wait from the first large batch a
	// copy is to take: large batches that keep coming under
	// checkpointQuietMax apart on a machine never quiet would otherwise
	// put it off for good, and the log would grow with each.
	checkpointPostponeMax = 2 * checkpointQuietMax
)

// startCheckpointer starts the store's checkpointer if its dialect has one.
func (s *SQL) startCheckpointer() {
	if s.d.Checkpoint == "" {
		return
	}
	c := &s.ckpt
	c.kick = make(chan struct{}, 1)
	c.settled = make(chan struct{})
	close(c.settled)
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Go(func() { s.checkpointLoop(ctx) })
	c.wroteLog(true)
}

// stopCheckpointer stops the checkpointer (the database copies what is
// left as its last connection closes).
func (s *SQL) stopCheckpointer() {
	if s.ckpt.cancel != nil {
		s.ckpt.cancel()
		s.ckpt.wg.Wait()
	}
}

// wroteLog tells the checkpointer a write committed; large says it was a
// large batch, whose copy waits for a quiet moment.
func (c *checkpointer) wroteLog(large bool) {
	if c.kick == nil {
		return
	}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	if large {
		c.largeAt = time.Now()
		if c.firstLargeAt.IsZero() {
			c.firstLargeAt = c.largeAt
		}
	}
	if !c.pending {
		c.pending = true
		c.settled = make(chan struct{})
	}
	c.mu.Unlock()
	c.wake()
}

func (c *checkpointer) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// flush runs the pending copy now, if one is pending, and waits for it.
func (c *checkpointer) flush() {
	if c.kick == nil {
		return
	}
	c.mu.Lock()
	c.now = c.pending
	settled := c.settled
	c.mu.Unlock()
	c.wake()
	<-settled
}

func (s *SQL) checkpointLoop(ctx context.Context) {
	c := &s.ckpt
	defer func() {
		// Nothing waits on a copy that will not come.
		c.mu.Lock()
		c.stopped = true
		if c.pending {
			c.pending = false
			close(c.settled)
		}
		c.mu.Unlock()
	}()
	cpu := s.d.QuietCPU
	if cpu == nil {
		cpu = processCPU
	}
	backstop := time.NewTicker(checkpointEvery)
	defer backstop.Stop()
	lastCopy := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-backstop.C:
		case <-c.kick:
		}
		c.mu.Lock()
		pending := c.pending
		c.mu.Unlock()
		if pending && !c.waitFor(ctx, cpu) {
			return
		}
		if !pending {
			// The backstop, with nothing of this process's to copy: what
			// another process wrote (its own checkpointer copies it, by
			// checkpointPostponeMax at the latest) or a write outside the
			// store's lock left, copied in a quiet moment, not beside the
			// queries a large batch's wait kept the copy from; on a
			// machine never quiet, checkpointPostponeMax after the last
			// copy all the same.
			quiet, ok := quietWindow(ctx, cpu)
			if !ok {
				return
			}
			if !quiet && time.Since(lastCopy) < checkpointPostponeMax {
				continue
			}
		}
		c.mu.Lock()
		c.now, c.largeAt, c.firstLargeAt = false, time.Time{}, time.Time{}
		settled := c.settled
		pending, c.pending = c.pending, false
		c.mu.Unlock()
		complete, err := s.copyLog(ctx)
		lastCopy = time.Now()
		if pending {
			close(settled)
		}
		if err != nil && ctx.Err() == nil && !c.reported.Swap(true) {
			slog.Default().Warn("store: copying the write-ahead log into the database file failed; the next write tries again, and later failures are not logged",
				"statement", s.d.Checkpoint, "err", err)
		}
		if err == nil && !complete {
			// A reader (of this process or another) still used frames
			// the copy could not write over: the rest a moment later.
			c.wroteLog(false)
		}
	}
}

// copyLog runs Dialect.Checkpoint on a low-priority thread, holding the
// store's write lock as the commits that copied did, so that no write of
// this process lands in the log while it is copied and the next write
// starts the log over (SQLite starts over only after a complete copy).
// It reports whether the copy took every frame.
func (s *SQL) copyLog(ctx context.Context) (complete bool, err error) {
	defer s.lockWritesOnly()()
	runLowPriority(func() {
		var busy, frames, copied int64
		err = s.db.QueryRowContext(ctx, s.d.Checkpoint).Scan(&busy, &frames, &copied)
		complete = busy == 0 && copied >= frames
	})
	return complete, err
}

// waitFor waits before a copy: checkpointDelay for the writes of that
// moment to share it, or, once a large batch is among them, until the
// readers' CPU clock (cpu) moved by under a tenth of a core over
// checkpointQuiet, for checkpointQuietMax at most after the latest large
// batch (checkpointPostponeMax after the first). A flush ends the wait at
// once. It reports false when the store is closing.
func (c *checkpointer) waitFor(ctx context.Context, cpu func() time.Duration) bool {
	start := time.Now()
	windowStart, last := start, cpu()
	for {
		c.mu.Lock()
		now, largeAt, firstLargeAt := c.now, c.largeAt, c.firstLargeAt
		c.mu.Unlock()
		large := !largeAt.IsZero()
		if now {
			return true
		}
		left := checkpointDelay - time.Since(start)
		if large {
			// From the latest large batch: each gets its quiet wait, up
			// to checkpointPostponeMax from the first.
			left = min(checkpointQuietMax-time.Since(largeAt), checkpointPostponeMax-time.Since(firstLargeAt))
		}
		if left <= 0 {
			return true
		}
		if large {
			left = min(left, checkpointQuiet-time.Since(windowStart))
		}
		t := time.NewTimer(max(left, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		case <-c.kick:
			t.Stop()
		}
		if !large || time.Since(windowStart) < checkpointQuiet {
			continue // a write's kick, or a small write's moment not over
		}
		used := cpu()
		if used-last < checkpointQuiet/10 {
			return true
		}
		windowStart, last = time.Now(), used
	}
}

// quietWindow watches cpu for checkpointQuiet and says whether it moved by
// under a tenth of a core meanwhile; ok is false when ctx ended first.
func quietWindow(ctx context.Context, cpu func() time.Duration) (quiet, ok bool) {
	c0 := cpu()
	t := time.NewTimer(checkpointQuiet)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-t.C:
	}
	return cpu()-c0 < checkpointQuiet/10, true
}
