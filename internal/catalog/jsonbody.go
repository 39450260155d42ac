package catalog

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// marshalBody is json.Marshal(e), byte for byte, written without
// reflection for what a parsed or decoded entity holds (maps of string
// keys, slices, strings, booleans, nil, int64, int and finite float64):
// encoding/json's map encoder, which reflects on every value and sorts
// each map's keys through reflect.Values, was a fifth of building an
// entity's row. Any other value anywhere in e (a Metadata, a
// json.Number, a typed slice) has encoding/json write the whole entity,
// as before. TestMarshalBodyIsEncodingJSONs compares both.
func marshalBody(e Entity) ([]byte, error) {
	w := writers.Get().(*bodyWriter)
	defer w.release()
	if w.value(map[string]any(e)) {
		// A copy of its own size: a body is held until its batch is
		// written, thousands of them during a load.
		return bytes.Clone(w.b), nil
	}
	return json.Marshal(e)
}

// writers keeps bodyWriters between entities, so their buffers grow once.
var writers = sync.Pool{New: func() any { return &bodyWriter{b: make([]byte, 0, 4096)} }}

// release empties w and hands it back to writers (unless a huge entity
// grew its buffer).
func (w *bodyWriter) release() {
	if cap(w.b) > 1<<20 {
		return
	}
	w.keys.drop(0)
	w.b, w.depth = w.b[:0], 0
	writers.Put(w)
}

// keyScratch is scratch space for sorting map keys down a walk of nested
// maps: a map's keys sit at its end while its values are walked, and
// nested maps' keys after them.
type keyScratch []string

// sorted appends m's keys, sorted, and returns them with where they
// start, to hand to drop once m's values are walked.
func (s *keyScratch) sorted(m map[string]any) (keys []string, from int) {
	from = len(*s)
	for k := range m {
		*s = append(*s, k)
	}
	keys = (*s)[from:]
	slices.Sort(keys)
	return keys, from
}

// drop gives back the keys from from on (a nested walk may have moved
// them to a larger array: the one held now is cleared).
func (s *keyScratch) drop(from int) {
	clear((*s)[from:])
	*s = (*s)[:from]
}

// bodyWriter appends JSON to b; keys is scratch space for sorting each
// map's keys (a map's keys sit at its end while its values are written);
// depth is how many maps and lists the value written is in.
type bodyWriter struct {
	b     []byte
	keys  keyScratch
	depth int
}

// maxBodyDepth is the deepest nesting bodyWriter writes: deeper (a value
// holding itself, which no parsed document does) is left to
// encoding/json, which reports a cycle.
const maxBodyDepth = 1000

// value appends v, or reports false for a value encoding/json is to write.
func (w *bodyWriter) value(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		if w.depth++; w.depth > maxBodyDepth {
			return false
		}
		defer func() { w.depth-- }()
	}
	switch t := v.(type) {
	case nil:
		w.b = append(w.b, "null"...)
	case string:
		w.b = appendJSONString(w.b, t)
	case bool:
		w.b = strconv.AppendBool(w.b, t)
	case int64:
		w.b = strconv.AppendInt(w.b, t, 10)
	case int:
		w.b = strconv.AppendInt(w.b, int64(t), 10)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return false // encoding/json's error
		}
		w.b = appendJSONFloat(w.b, t)
	case map[string]any:
		if t == nil {
			w.b = append(w.b, "null"...)
			return true
		}
		keys, from := w.keys.sorted(t)
		defer w.keys.drop(from)
		w.b = append(w.b, '{')
		for i, k := range keys {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = appendJSONString(w.b, k)
			w.b = append(w.b, ':')
			if !w.value(t[k]) {
				return false
			}
		}
		w.b = append(w.b, '}')
	case []any:
		if t == nil {
			w.b = append(w.b, "null"...)
			return true
		}
		w.b = append(w.b, '[')
		for i, item := range t {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			if !w.value(item) {
				return false
			}
		}
		w.b = append(w.b, ']')
	default:
		return false
	}
	return true
}

// appendJSONFloat appends a finite f as encoding/json writes a float64:
// the shortest decimal that reads back as f, in exponent form below 1e-6
// and from 1e21 on (two-digit negative exponents without their 0).
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// asciiEscapes is how encoding/json writes each ASCII byte inside a
// string: "" for the byte itself, else its escape (\" \\ \b \f \n \r
// \t, other control characters and < > & as \u00XX).
var asciiEscapes = func() (t [utf8.RuneSelf]string) {
	const hex = "0123456789abcdef"
	for c := range utf8.RuneSelf {
		switch {
		case c == '"' || c == '\\':
			t[c] = `\` + string(rune(c))
		case c == '\b':
			t[c] = `\b`
		case c == '\f':
			t[c] = `\f`
		case c == '\n':
			t[c] = `\n`
		case c == '\r':
			t[c] = `\r`
		case c == '\t':
			t[c] = `\t`
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			t[c] = `\u00` + string(hex[c>>4]) + string(hex[c&0xf])
		}
	}
	return t
}()

// jsonEscapes walks s as encoding/json writes it inside a string, calling
// each with the byte offset and length of a run s holds that is to be
// written as esc instead (the escapes of asciiEscapes, invalid UTF-8 as
// \ufffd, U+2028 and U+2029 as \u2028 and \u2029); bytes between runs are
// written as they are. jsonStringLen and appendJSONString share it.
func jsonEscapes(s string, each func(at, n int, esc string)) {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if esc := asciiEscapes[c]; esc != "" {
				each(i, 1, esc)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			each(i, size, `\ufffd`)
		case r == '\u2028':
			each(i, size, `\u2028`)
		case r == '\u2029':
			each(i, size, `\u2029`)
		}
		i += size
	}
}

// appendJSONString appends s quoted as encoding/json writes a string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	jsonEscapes(s, func(at, n int, esc string) {
		b = append(append(b, s[start:at]...), esc...)
		start = at + n
	})
	b = append(b, s[start:]...)
	return append(b, '"')
}
