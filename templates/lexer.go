package templates

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind classifies the tokens of a Nunjucks expression.
type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokName             // identifier or keyword
	tokString           // quoted string, value unescaped
	tokNumber           // integer or decimal literal
	tokRegex            // r/pattern/flags
	tokPunct            // operator or punctuation
	tokEnd              // the closing delimiter: }} or %}
)

type token struct {
	kind  tokenKind
	text  string // identifier, operator, unescaped string or number text
	flags string // regular expression flags
	pos   int    // byte offset in the template source
	trim  bool   // tokEnd only: the delimiter was -}} or -%}
}

// matchPunct returns the operator or punctuation at the start of s, longest
// first so that "===" wins over "==" and "=", or "" if there is none.
func matchPunct(s string) string {
	if len(s) >= 3 {
		switch s[:3] {
		case "===", "!==":
			return s[:3]
		}
	}
	if len(s) >= 2 {
		switch s[:2] {
		case "==", "!=", "<=", ">=", "//", "**":
			return s[:2]
		}
	}
	if len(s) >= 1 && strings.IndexByte("()[]{},:.|~+-*/%<>=", s[0]) >= 0 {
		return s[:1]
	}
	return ""
}

// lexExpr tokenizes the inside of ${{ }} or {% %}, starting at src[pos], up
// to and including the closing delimiter end ("}}" or "%}"). Like Nunjucks it
// stops at the first closing delimiter outside a string literal. maxLen
// bounds the length of the expression.
func lexExpr(src string, pos int, end string, maxLen int) ([]token, int, error) {
	start := pos
	var toks []token
	for {
		if pos-start > maxLen {
			return nil, pos, fmt.Errorf("expression longer than %d bytes", maxLen)
		}
		// Skip white space (Nunjucks allows newlines inside expressions).
		for pos < len(src) && strings.IndexByte(" \t\r\n", src[pos]) >= 0 {
			pos++
		}
		if pos >= len(src) {
			return nil, pos, fmt.Errorf("unexpected end of template, expected %q", end)
		}
		if strings.HasPrefix(src[pos:], "-"+end) {
			toks = append(toks, token{kind: tokEnd, text: end, pos: pos, trim: true})
			return toks, pos + 1 + len(end), nil
		}
		if strings.HasPrefix(src[pos:], end) {
			toks = append(toks, token{kind: tokEnd, text: end, pos: pos})
			return toks, pos + len(end), nil
		}
		c := src[pos]
		switch {
		case c == '"' || c == '\'':
			s, next, err := lexString(src, pos)
			if err != nil {
				return nil, pos, err
			}
			toks = append(toks, token{kind: tokString, text: s, pos: pos})
			pos = next
		case c >= '0' && c <= '9':
			next := pos
			for next < len(src) && src[next] >= '0' && src[next] <= '9' {
				next++
			}
			if next+1 < len(src) && src[next] == '.' && src[next+1] >= '0' && src[next+1] <= '9' {
				next++
				for next < len(src) && src[next] >= '0' && src[next] <= '9' {
					next++
				}
			}
			toks = append(toks, token{kind: tokNumber, text: src[pos:next], pos: pos})
			pos = next
		case c == 'r' && pos+1 < len(src) && src[pos+1] == '/':
			pattern, flags, next, err := lexRegex(src, pos)
			if err != nil {
				return nil, pos, err
			}
			toks = append(toks, token{kind: tokRegex, text: pattern, flags: flags, pos: pos})
			pos = next
		case isIdentStart(src, pos):
			next := pos
			for next < len(src) && isIdentPart(src, next) {
				_, w := utf8.DecodeRuneInString(src[next:])
				next += w
			}
			toks = append(toks, token{kind: tokName, text: src[pos:next], pos: pos})
			pos = next
		default:
			p := matchPunct(src[pos:])
			if p == "" {
				r, _ := utf8.DecodeRuneInString(src[pos:])
				return nil, pos, fmt.Errorf("unexpected character %q", r)
			}
			toks = append(toks, token{kind: tokPunct, text: p, pos: pos})
			pos += len(p)
		}
	}
}

func isIdentStart(src string, pos int) bool {
	r, _ := utf8.DecodeRuneInString(src[pos:])
	return r == '_' || r == '$' || unicode.IsLetter(r)
}

func isIdentPart(src string, pos int) bool {
	r, _ := utf8.DecodeRuneInString(src[pos:])
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// lexString reads a quoted string starting at src[pos] and returns its
// unescaped value. Escapes are Nunjucks': \n, \t, \r, and \x for any other x.
func lexString(src string, pos int) (string, int, error) {
	quote := src[pos]
	var b strings.Builder
	i := pos + 1
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src):
			switch src[i+1] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(src[i+1])
			}
			i += 2
		case c == quote:
			return b.String(), i + 1, nil
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", pos, fmt.Errorf("unterminated string literal")
}

// lexRegex reads r/pattern/flags starting at src[pos].
func lexRegex(src string, pos int) (string, string, int, error) {
	var b strings.Builder
	i := pos + 2
	for i < len(src) {
		c := src[i]
		if c == '\\' && i+1 < len(src) {
			b.WriteByte(c)
			b.WriteByte(src[i+1])
			i += 2
			continue
		}
		if c == '/' {
			i++
			start := i
			for i < len(src) && strings.IndexByte("gimsuy", src[i]) >= 0 {
				i++
			}
			return b.String(), src[start:i], i, nil
		}
		if c == '\n' {
			break
		}
		b.WriteByte(c)
		i++
	}
	return "", "", pos, fmt.Errorf("unterminated regular expression literal")
}
