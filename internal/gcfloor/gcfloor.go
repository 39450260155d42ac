// Package gcfloor keeps the garbage collector's heap goal at least a fixed
// headroom above the live heap. With GOGC alone the goal is twice the live
// heap: a process whose live heap is small (rigger dev's is ~35 MB once a
// catalog is loaded) then collects every few dozen requests, and the
// requests that run beside a collection (mark assists, a worker taking one
// of few cores) were most of the slowest ones. With a headroom of H the
// goal is max(live*(1+GOGC/100), live+H): a small heap collects less often,
// a large one exactly as with GOGC.
//
// The headroom is memory the process keeps while it works. Once it is
// idle (it allocated less than a small amount over a whole idle period:
// no requests), the floor is lifted and the heap handed back to the
// system (debug.FreeOSMemory), so an idle server holds what it needs, not
// the headroom; the floor returns with the first busy period.
//
// It changes only the GC percent, after each collection and at each idle
// period; it must not read the environment (cmd/rigger decides whether to
// start it) or allocate on a request's path.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Floor is a running heap floor.
type Floor struct {
	base     int
	headroom uint64
	mu       sync.Mutex
	stopped  bool
	// relaxed: the last idle period found the process idle; the base
	// percent holds until a busy one.
	relaxed bool
	sample  []metrics.Sample
	done    chan struct{}
	onIdle  func()
}

// IdleBytes is how little a process may allocate over an idle period and
// still count as idle: a request allocates tens of kilobytes (a by-name
// read ~35 kB), an idle rigger server or rigger dev under 512 kB in 10 s.
const IdleBytes = 1 << 20

// Start keeps each collection's heap goal at least headroom bytes above
// the live heap, with base as the GC percent otherwise (GOGC's 100 when
// the process was not told another); over each idle period (none: never)
// in which the process allocated under IdleBytes it lifts the floor and
// returns the heap's free memory to the system, then calls onIdle (if not
// nil; on the floor's own goroutine). Stop undoes it.
func Start(base int, headroom uint64, idle time.Duration, onIdle func()) *Floor {
	f := &Floor{base: base, headroom: headroom, done: make(chan struct{}), onIdle: onIdle, sample: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/allocs:bytes"},
	}}
	f.tune()
	f.arm()
	if idle > 0 {
		go f.watch(idle)
	}
	return f
}

// watch relaxes the floor at the end of each idle period in which the
// process allocated under IdleBytes, and restores it at the end of the
// first one that allocated more.
func (f *Floor) watch(idle time.Duration) {
	t := time.NewTicker(idle)
	defer t.Stop()
	last := f.allocated()
	for {
		select {
		case <-f.done:
			return
		case <-t.C:
		}
		now := f.allocated()
		if f.idle(now-last < IdleBytes) {
			// Outside the lock: the collection's finalizer calls tune.
			freeOSMemory()
			if f.onIdle != nil {
				f.onIdle()
			}
			now = f.allocated()
		}
		last = now
	}
}

// idle records whether the last period was idle, sets the GC percent to
// match, and reports whether the floor was just relaxed (the heap is then
// to be handed back).
func (f *Floor) idle(idle bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped || idle == f.relaxed {
		return false
	}
	f.relaxed = idle
	if idle {
		debug.SetGCPercent(f.base)
		return true
	}
	f.setLocked()
	return false
}

// freeOSMemory hands the heap's free memory back (a test counts its calls).
var freeOSMemory = debug.FreeOSMemory

// allocated is the bytes the process has allocated on the heap so far.
func (f *Floor) allocated() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	metrics.Read(f.sample)
	if f.sample[1].Value.Kind() == metrics.KindUint64 {
		return f.sample[1].Value.Uint64()
	}
	return 0
}

// Percent is the GC percent for a live heap of live bytes.
func (f *Floor) Percent(live uint64) int {
	if live == 0 {
		live = 1
	}
	p := f.headroom * 100 / live
	if p > 1<<20 { // a tiny heap: bounded, so no overflow
		p = 1 << 20
	}
	return max(f.base, int(p))
}

// tune sets the GC percent for the live heap of the last collection (the
// base while the floor is relaxed).
func (f *Floor) tune() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped || f.relaxed {
		return
	}
	f.setLocked()
}

// setLocked sets the floor's percent for the live heap of the last
// collection; f.mu is held.
func (f *Floor) setLocked() {
	metrics.Read(f.sample)
	var live uint64
	if f.sample[0].Value.Kind() == metrics.KindUint64 {
		live = f.sample[0].Value.Uint64()
	}
	debug.SetGCPercent(f.Percent(live))
}

// arm has the next collection call tune: a finalizer runs once the
// object it watches is found unreachable, which the next cycle does.
func (f *Floor) arm() {
	sentinel := new([64]byte)
	runtime.SetFinalizer(sentinel, func(*[64]byte) {
		f.tune()
		f.mu.Lock()
		stopped := f.stopped
		f.mu.Unlock()
		if !stopped {
			f.arm()
		}
	})
}

// Stop restores the base GC percent; collections no longer tune it.
func (f *Floor) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stopped {
		close(f.done)
	}
	f.stopped = true
	debug.SetGCPercent(f.base)
}
