package catalog

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMarshalBodyIsEncodingJSONs: marshalBody writes exactly what
// json.Marshal writes (the stored body and its hash depend on it), for
// generated entities holding every kind of value and tricky strings and
// floats, for every entity of the corpus, and for values it leaves to
// encoding/json.
func TestMarshalBodyIsEncodingJSONs(t *testing.T) {
	check := func(name string, e Entity) {
		t.Helper()
		want, wantErr := json.Marshal(e)
		got, err := marshalBody(e)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("%s:\nmarshalBody  %q (%v)\njson.Marshal %q (%v)", name, got, err, want, wantErr)
		}
	}

	// Strings: every escape, every byte alone, invalid UTF-8, the line
	// separators, HTML characters, multi-byte runes.
	var strs []string
	for c := range 256 {
		strs = append(strs, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"z")
	}
	strs = append(strs, "", `"\/`, "\u2028\u2029", "x\u2028y", "<script>&amp;</script>", "ünïcødé ✓ 𝄞",
		"\xff\xfe", "a\xc3", "\xe2\x80", "\xed\xa0\x80", "tab\there\nnew\r\b\f", "\x00\x1f\x7f")
	for i, s := range strs {
		check("string "+string(rune('A'+i%26)), Entity{"s": s, s: "key", "list": []any{s}})
		// The size limits' count of the same escapes (jsonStringLen).
		if b, _ := json.Marshal(s); jsonStringLen(s) != len(b) {
			t.Fatalf("jsonStringLen(%q) = %d, encoding/json writes %d bytes", s, jsonStringLen(s), len(b))
		}
	}

	// Numbers: around the exponent-form bounds, negative zero, extremes.
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99999e-7, 1e-7, 1e20, 1e21, 9.999999e20, 123456789.125,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64, 5e-324, 1e-9, 1.5e-10, 2.5e300, 1e100}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		f := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			floats = append(floats, f)
		}
	}
	for _, f := range floats {
		check("float", Entity{"f": f, "l": []any{f, int64(f) / 3}})
	}
	for _, n := range []int64{0, -1, math.MaxInt64, math.MinInt64} {
		check("int", Entity{"n": n, "i": int(n)})
	}

	// Random nested entities of the plain kinds.
	var gen func(depth int) any
	gen = func(depth int) any {
		switch k := rng.IntN(9); {
		case k == 0:
			return nil
		case k == 1:
			return rng.IntN(2) == 0
		case k == 2:
			return rng.Int64() - math.MaxInt64/2
		case k == 3:
			return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(50)-25))
		case k < 6 || depth > 4:
			return strs[rng.IntN(len(strs))]
		case k == 6:
			l := make([]any, rng.IntN(5))
			for i := range l {
				l[i] = gen(depth + 1)
			}
			return l
		default:
			m := make(map[string]any, 4)
			for range rng.IntN(6) {
				m[strs[rng.IntN(len(strs))]] = gen(depth + 1)
			}
			return m
		}
	}
	for range 500 {
		e := Entity{}
		for range 1 + rng.IntN(8) {
			e[strs[rng.IntN(len(strs))]] = gen(0)
		}
		check("random", e)
	}
	check("nil map and list", Entity{"m": map[string]any(nil), "l": []any(nil), "empty": map[string]any{}, "none": []any{}})

	// Values encoding/json writes itself: the same bytes, or its error.
	check("json.Number", Entity{"n": json.Number("12.50")})
	check("typed slice", Entity{"tags": []string{"b", "<a>"}, "deep": map[string]any{"x": []any{map[string]string{"k": "v"}}}})
	check("Metadata", Entity{"metadata": Metadata{Name: "n", Extra: map[string]any{"zz": 1.5}}})
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	check("cycle", Entity{"c": cyclic})
	deep := map[string]any{"leaf": "x"}
	for range 1500 {
		deep = map[string]any{"d": []any{deep}}
	}
	check("deeper than the writer goes", Entity{"deep": deep})
	check("nil entity", Entity(nil))
	check("NaN", Entity{"f": math.NaN()})
	check("Inf", Entity{"f": []any{math.Inf(-1)}})

	// Every entity of the corpus, as parsed.
	n := 0
	err := filepath.WalkDir(corpusRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".yml") && !strings.HasSuffix(p, ".json") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		docs, _ := Parse(p, data, DefaultLimits())
		for _, d := range docs {
			if d.Entity != nil {
				check(p, d.Entity)
				n++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("only %d corpus entities compared (is shared/corpus beside the repository?)", n)
	}
}
