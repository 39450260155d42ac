package jsnum

import (
	"math"
	"testing"
)

func TestFormat(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0", 1: "1", -2.5: "-2.5", 0.1: "0.1", 123456789012: "123456789012",
		1e21: "1e+21", 1.5e-7: "1.5e-7", 1e-6: "0.000001", -1e300: "-1e+300",
		math.Inf(1): "Infinity", math.Inf(-1): "-Infinity", math.NaN(): "NaN",
	} {
		if got := Format(f); got != want {
			t.Errorf("Format(%v) = %q, want %q", f, got, want)
		}
	}
}
