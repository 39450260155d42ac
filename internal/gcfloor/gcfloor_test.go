package gcfloor

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// TestPercent: the floor raises GOGC for a heap smaller than the headroom
// and leaves the base for a larger one.
func TestPercent(t *testing.T) {
	f := &Floor{base: 100, headroom: 128 << 20}
	for _, c := range []struct {
		live uint64
		want int
	}{
		{32 << 20, 400},
		{128 << 20, 100},
		{512 << 20, 100},
		{0, 1 << 20},
	} {
		if got := f.Percent(c.live); got != c.want {
			t.Errorf("live %d MiB: percent %d, want %d", c.live>>20, got, c.want)
		}
	}
}

// TestFloorFollowsCollections: started, the process's GOGC becomes the
// floor's percent for its live heap, again after later collections; Stop
// restores the base.
func TestFloorFollowsCollections(t *testing.T) {
	before := gogc()
	f := Start(100, 1<<30, 0, nil)
	defer f.Stop()
	keep := make([][]byte, 0, 64)
	for i := 0; i < 3; i++ {
		keep = append(keep, make([]byte, 8<<20)) // the live heap grows
		runtime.GC()
		deadline := time.Now().Add(5 * time.Second)
		var live uint64
		for {
			s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			metrics.Read(s)
			live = s[0].Value.Uint64()
			if gogc() == f.Percent(live) || time.Now().After(deadline) {
				break
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
		if got := gogc(); got != f.Percent(live) || got <= 100 {
			t.Fatalf("collection %d: GOGC %d, want %d for %d MiB live", i, got, f.Percent(live), live>>20)
		}
	}
	runtime.KeepAlive(keep)
	f.Stop()
	if got := gogc(); got != 100 {
		t.Fatalf("after Stop: GOGC %d, want 100 (was %d before)", got, before)
	}
}

// sink keeps the busy phases' allocations from being optimized away.
var sink []byte

// TestIdleLiftsTheFloor: a period in which the process allocates under
// IdleBytes lifts the floor (the base percent) and hands the heap's free
// memory back, once, then calls onIdle; the first busy period brings the
// floor back.
func TestIdleLiftsTheFloor(t *testing.T) {
	const period = 200 * time.Millisecond // long beside a loaded machine's pauses
	var freed, told atomic.Int64
	defer func(f func()) { freeOSMemory = f }(freeOSMemory)
	freeOSMemory = func() { freed.Add(1) }
	f := Start(100, 1<<30, period, func() {
		if freed.Load() != told.Add(1) {
			t.Error("onIdle called without the heap handed back first")
		}
	})
	defer f.Stop()
	waitFor := func(what string, ok func() bool, work func()) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: GOGC %d and %d hand-backs after 10 s", what, gogc(), freed.Load())
			}
			if work != nil {
				work()
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	floored := func() bool { return gogc() > 100 }
	// Busy (more than IdleBytes a period) and collecting: the floor is set.
	busy := func() { sink = make([]byte, IdleBytes); runtime.GC() }
	waitFor("the floor set", floored, busy)
	before := freed.Load()
	sink = nil
	waitFor("idle", func() bool { return gogc() == 100 }, nil)
	waitFor("the heap handed back", func() bool { return freed.Load() > before }, nil)
	time.Sleep(3 * period) // more idle periods: no more hand-backs
	if n := freed.Load() - before; n != 1 {
		t.Fatalf("idle: the heap handed back %d times, want once", n)
	}
	if told.Load() != freed.Load() {
		t.Fatalf("onIdle called %d times for %d hand-backs", told.Load(), freed.Load())
	}
	waitFor("busy again", floored, busy)
	sink = nil
	f.Stop()
	if got := gogc(); got != 100 {
		t.Fatalf("after Stop: GOGC %d, want 100", got)
	}
}
