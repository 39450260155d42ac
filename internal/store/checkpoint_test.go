package store

import (
	"context"
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
