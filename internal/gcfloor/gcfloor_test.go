package gcfloor

import (
	"runtime"
	"runtime/metrics"
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
	f := Start(100, 1<<30)
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
