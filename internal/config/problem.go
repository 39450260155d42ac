package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration: where it is (file, line
// and column when it comes from a file) and the dotted key path. Load, Parse
// and Validate return every problem they find, joined with errors.Join; use
// Problems to get them back as values.
type Problem struct {
	// File is the name given to Parse or Load; empty for Validate.
	File string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Path is the dotted key path, e.g. catalog.locations[2].type; empty for
	// the document as a whole.
	Path string
	// Message says what is wrong. It never holds a secret's value.
	Message string
}

// Error formats the problem as file:line:col: path: message, leaving out
// what is unknown.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
			if p.Column > 0 {
				b.WriteString(":" + strconv.Itoa(p.Column))
			}
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems returns the problems err is made of (nil if it holds none).
func Problems(err error) []*Problem {
	var out []*Problem
	var walk func(error)
	walk = func(e error) {
		if p, ok := e.(*Problem); ok {
			out = append(out, p)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
		}
	}
	walk(err)
	return out
}

// maxProblems bounds how many problems one error reports, so a garbage file
// cannot produce megabytes of messages (or spend seconds writing them).
const maxProblems = 50

// problems collects up to maxProblems problems and counts the rest.
type problems struct {
	list  []*Problem
	extra int
}

// full reports whether further problems are only counted; callers use it to
// skip building messages nobody will read.
func (ps *problems) full() bool { return len(ps.list) >= maxProblems }

func (ps *problems) add(p *Problem) {
	if ps.full() {
		ps.extra++
		return
	}
	ps.list = append(ps.list, p)
}

// err joins the problems (nil if there are none).
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	errs := make([]error, 0, len(ps.list)+1)
	for _, p := range ps.list {
		errs = append(errs, p)
	}
	if ps.extra > 0 {
		errs = append(errs, fmt.Errorf("... and %d more problems", ps.extra))
	}
	return errors.Join(errs...)
}

// quote quotes a value for a message, shortened if it is long.
func quote(s string) string {
	const limit = 80
	if len(s) > limit {
		cut := limit
		for cut > 0 && s[cut]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}
