// Package jsnum formats numbers the way JavaScript does, for the places
// where rigger must match Backstage (Node) byte for byte: catalog search
// values and template expression output. Pure: no I/O.
package jsnum

import (
	"math"
	"strconv"
	"strings"
)

// Format is JavaScript's Number.prototype.toString for base 10: integers
// without a fraction, plain decimals between 1e-6 and 1e21, exponent form
// (1e+21, 1.5e-7) outside.
func Format(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if abs := math.Abs(f); abs >= 1e-6 && abs < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e+21, 1.5e-07
	mant, exp, _ := strings.Cut(s, "e")
	digits := strings.TrimLeft(exp[1:], "0")
	if digits == "" {
		digits = "0"
	}
	return mant + "e" + exp[:1] + digits
}
