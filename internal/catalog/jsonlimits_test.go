package catalog

import (
	"strings"
	"testing"
)

func TestCheckJSONLimits(t *testing.T) {
	lim := Limits{EntityBytes: 200, MaxDepth: 3, MaxStringLength: 20}
	nest := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	for _, c := range []struct{ raw, want string }{
		{`{"kind":"Component","metadata":{"name":"x"}}`, ""},
		{nest(4), ""}, // depths 0..3
		{nest(5), "deeper than the limit of 3"},
		{`{"a":[[[[1]]]]}`, "deeper than the limit of 3"},
		{`{"a":"` + strings.Repeat("x", 21) + `"}`, "string or key of 21 bytes"},
		{`{"` + strings.Repeat("k", 21) + `":1}`, "string or key of 21 bytes"},
		{`{"a":"` + strings.Repeat("x", 19) + `"` + strings.Repeat(`,"b":"`+strings.Repeat("y", 19)+`"`, 8) + `}`, "more than the limit of 200"},
		{`{"a": 1` + strings.Repeat(" ", 300) + `}`, ""}, // whitespace is not stored
	} {
		err := CheckJSONLimits([]byte(c.raw), lim)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%.60s: %v, want %q", c.raw, err, c.want)
		}
	}
}
