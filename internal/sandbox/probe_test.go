package sandbox

import (
	"strings"
	"testing"
)

// A kernel whose Landlock cannot deny truncate(2) (ABI 1 and 2: Linux
// 5.13 to 6.1) does not count as confining: with sandbox.required a step
// is refused rather than run able to empty the worker's files (review).
func TestReportOldLandlockIsMissing(t *testing.T) {
	for abi, want := range map[int]bool{1: true, 2: true, 3: false, 7: false} {
		r := Report{LandlockABI: abi, UserNetNS: true, NoNewPrivs: true}
		m := strings.Join(r.missing(Spec{Network: true}), "; ")
		if got := strings.Contains(m, "truncation"); got != want {
			t.Errorf("ABI %d: missing %q", abi, m)
		}
	}
}

// Before Landlock ABI 6 (Linux 6.12) a tool may signal the worker (same
// uid): every run says so in its warning, for a non-root worker (user
// namespaces) as for a root one (own network namespace), and
// sandbox.required still runs it (review L4).
func TestOldLandlockWarnsOfSignals(t *testing.T) {
	for _, root := range []bool{false, true} {
		for abi, want := range map[int]bool{3: true, 5: true, 6: false, 7: false} {
			rep := Report{LandlockABI: abi, UserNetNS: true, NetNS: root, NoNewPrivs: true}
			r := New(Options{Required: true, Probe: func() Report { return rep }})
			for _, network := range []bool{false, true} {
				_, warning, err := r.plan(Spec{Path: "/bin/true", Dir: "/tmp", Network: network})
				if err != nil {
					t.Fatalf("ABI %d: refused: %v", abi, err)
				}
				if got := strings.Contains(warning, "signal the worker"); got != want {
					t.Errorf("root %v, ABI %d, network %v: warning %q", root, abi, network, warning)
				}
			}
		}
	}
	// With something missing too, the warning names both.
	r := New(Options{Probe: func() Report { return Report{LandlockABI: 4, UserNetNSErr: "simulated", NoNewPrivs: true} }})
	_, warning, err := r.plan(Spec{Path: "/bin/true", Dir: "/tmp"})
	if err != nil || !strings.Contains(warning, "network cut-off") || !strings.Contains(warning, "signal the worker") {
		t.Errorf("warning %q, %v", warning, err)
	}
}
