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
