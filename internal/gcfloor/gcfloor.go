// Package gcfloor keeps the garbage collector's heap goal at least a fixed
// headroom above the live heap. With GOGC alone the goal is twice the live
// heap: a process whose live heap is small (rigger dev's is ~35 MB once a
// catalog is loaded) then collects every few dozen requests, and the
// requests that run beside a collection (mark assists, a worker taking one
// of few cores) were most of the slowest ones. With a headroom of H the
// goal is max(live*(1+GOGC/100), live+H): a small heap collects less often,
// a large one exactly as with GOGC.
//
// It changes only the GC percent, after each collection; it must not read
// the environment (cmd/rigger decides whether to start it) or allocate on
// a request's path.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Floor is a running heap floor.
type Floor struct {
	base     int
	headroom uint64
	mu       sync.Mutex
	stopped  bool
	sample   []metrics.Sample
}

// Start keeps each collection's heap goal at least headroom bytes above
// the live heap, with base as the GC percent otherwise (GOGC's 100 when
// the process was not told another). Stop undoes it.
func Start(base int, headroom uint64) *Floor {
	f := &Floor{base: base, headroom: headroom, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	f.tune()
	f.arm()
	return f
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

// tune sets the GC percent for the live heap of the last collection.
func (f *Floor) tune() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
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
	f.stopped = true
	debug.SetGCPercent(f.base)
}
