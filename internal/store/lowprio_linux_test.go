package store

import (
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/testtools"
)

// TestParseProcStat: the busy time is user, nice, system, irq, softirq
// and steal, never idle, iowait or guest time (already in user and nice).
func TestParseProcStat(t *testing.T) {
	for _, c := range []struct {
		line string
		busy time.Duration
		ok   bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"cpu  1 20 300 4000000 50000 600000 7000000 80000000 900000000 1", 87600321 * 10 * time.Millisecond, true},
		{"cpu 10 0 5 99999 7 0 0 0", 15 * 10 * time.Millisecond, true},
		// gVisor exports only zeros: no clock at all.
		{"cpu  0 0 0 0 0 0 0 0 0 0", 0, false},
		{"cpu0 1 2 3 4 5 6 7 8 9 10", 0, false},
		{"cpu  1 2 3", 0, false},
		{"cpu  1 2 x 4 5 6 7 8 9 10", 0, false},
		{"", 0, false},
	} {
		busy, ok := parseProcStat(c.line)
		if busy != c.busy || ok != c.ok {
			t.Errorf("parseProcStat(%q) = %v, %v; want %v, %v", c.line, busy, ok, c.busy, c.ok)
		}
	}
}

// TestMachineCPUCountsOtherProcesses: MachineCPU moves with another
// process's CPU time, which this process's own clock does not see.
func TestMachineCPUCountsOtherProcesses(t *testing.T) {
	m0, p0 := MachineCPU(), processCPU()
	other := testtools.StartBusyProcess(t)
	var used time.Duration
	for deadline := time.Now().Add(20 * time.Second); used < 300*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("the busy process used only %v of CPU in 20 s", used)
		}
		time.Sleep(50 * time.Millisecond)
		used = other.CPU(t)
	}
	machine, own := MachineCPU()-m0, processCPU()-p0
	// The machine's clock holds the other process's time (less a tick of
	// rounding at each end); this process only slept meanwhile.
	if machine < used-2*time.Second/userHZ {
		t.Fatalf("MachineCPU moved by %v while another process used %v", machine, used)
	}
	if own >= used/2 {
		t.Fatalf("this process used %v while it waited: the comparison says nothing", own)
	}
}
