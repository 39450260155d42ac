// Package jsonscan reads members of JSON documents taken to be valid (a
// body the catalog marshalled, as the hash stored beside it says, or one
// json.Valid accepted) without decoding what the caller does not ask for:
// an entity's answer spliced from its stored bytes, and the few fields a
// policy decision needs out of a body of hundreds. It does not validate:
// on malformed input it returns an error or reads something, but never
// reads past its input or panics.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// Members calls fn with each member of the JSON object b (valid JSON), in
// order, duplicates included: its key unquoted (b's own bytes when it has
// no escape) and as written, and its value's bytes.
func Members(b []byte, fn func(key, rawKey, val []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("not a JSON object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for i < len(b) {
		end := skipValue(b, i)
		rawKey := b[i:end]
		if len(rawKey) < 2 || rawKey[0] != '"' || rawKey[len(rawKey)-1] != '"' {
			return errors.New("malformed JSON object")
		}
		key := rawKey[1 : len(rawKey)-1]
		if bytes.IndexByte(rawKey, '\\') >= 0 {
			var k string
			if err := json.Unmarshal(rawKey, &k); err != nil {
				return err
			}
			key = []byte(k)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errors.New("malformed JSON object")
		}
		i = skipSpace(b, i+1)
		end = skipValue(b, i)
		if end == i {
			return errors.New("malformed JSON object")
		}
		if err := fn(key, rawKey, b[i:end]); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == '}' {
			return nil
		}
		if i >= len(b) || b[i] != ',' {
			return errors.New("malformed JSON object")
		}
		i = skipSpace(b, i+1)
	}
	return errors.New("malformed JSON object")
}

// Elements calls fn with the bytes of each element of the JSON array b
// (valid JSON), in order.
func Elements(b []byte, fn func(val []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return errors.New("not a JSON array")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for i < len(b) {
		end := skipValue(b, i)
		if end == i {
			return errors.New("malformed JSON array")
		}
		if err := fn(b[i:end]); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ']' {
			return nil
		}
		if i >= len(b) || b[i] != ',' {
			return errors.New("malformed JSON array")
		}
		i = skipSpace(b, i+1)
	}
	return errors.New("malformed JSON array")
}

// String is the JSON value val as a Go string, as json.Unmarshal into an
// any would give it; false when val is not a string.
func String(val []byte) (string, bool) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return "", false
	}
	inner := val[1 : len(val)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	// Escapes, or bytes json.Unmarshal replaces with U+FFFD.
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return "", false
	}
	return s, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue is the end of the (valid) JSON value starting at b[i]; at
// most len(b), whatever b holds (an unterminated string ends there).
func skipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return min(i+1, len(b))
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}
