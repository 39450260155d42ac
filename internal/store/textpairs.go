package store

import (
	"fmt"
	"strings"
)

// parseTextPairs reads PostgreSQL's text form of a two-dimensional text
// array of [type, target] pairs (relationsCol's, "{}" for none): the
// relations of ref. PostgreSQL quotes an element that is empty, is NULL
// in any case, or holds a brace, a comma, a double quote, a backslash or
// white space, and escapes a double quote or backslash within quotes
// with a backslash; an unquoted NULL is SQL's NULL, which neither column
// holds. An element without an escape shares raw's memory.
func parseTextPairs(ref, raw string) ([]Relation, error) {
	p := textArray{s: raw}
	bad := func() ([]Relation, error) {
		return nil, fmt.Errorf("relations of %s: not a text array of pairs at byte %d of %d", ref, p.i, len(raw))
	}
	if !p.next('{') {
		return bad()
	}
	out := make([]Relation, 0, strings.Count(raw, "},{")+1)
	if !p.next('}') {
		for {
			if !p.next('{') {
				return bad()
			}
			typ, ok := p.elem()
			if !ok || !p.next(',') {
				return bad()
			}
			target, ok := p.elem()
			if !ok || !p.next('}') {
				return bad()
			}
			out = append(out, Relation{Source: ref, Type: typ, Target: target})
			if p.next('}') {
				break
			}
			if !p.next(',') {
				return bad()
			}
		}
	}
	if p.i != len(raw) {
		return bad()
	}
	return out, nil
}

// textArray reads an array's text form from s, at i.
type textArray struct {
	s string
	i int
}

// next consumes c if it is next.
func (p *textArray) next(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// elem consumes an element, quoted or not; ok is false for none (or NULL).
func (p *textArray) elem() (v string, ok bool) {
	if !p.next('"') {
		start := p.i
		for p.i < len(p.s) && !quoted[p.s[p.i]] {
			p.i++
		}
		v = p.s[start:p.i]
		return v, v != "" && !strings.EqualFold(v, "NULL")
	}
	start := p.i
	var b []byte // the element unescaped, once it has an escape
	for ; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		switch c {
		case '"':
			v = p.s[start:p.i]
			if b != nil {
				v = string(b)
			}
			p.i++
			return v, true
		case '\\':
			if b == nil {
				b = []byte(p.s[start:p.i])
			}
			if p.i++; p.i == len(p.s) {
				return "", false
			}
			c = p.s[p.i]
		}
		if b != nil {
			b = append(b, c)
		}
	}
	return "", false
}

// quoted are the bytes PostgreSQL quotes an array element for holding
// (array_isspace's white space among them).
var quoted = func() (q [256]bool) {
	for _, c := range []byte("{},\"\\ \t\n\r\v\f") {
		q[c] = true
	}
	return q
}()
