package store

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// On PostgreSQL, search_docs.tsv is built here, not by to_tsvector: the
// words of label, title, meta and text as searchWords splits them (the
// tokenizer the query side splits a term with, and SQLite's FTS5 its
// text), weighted A, B, C and D, numbered one after another across the
// fields, and written as a tsvector literal the column's input function
// reads. PostgreSQL's text parser then never runs on a write (four
// to_tsvector calls a row were the largest part of what indexing added to
// an ingest); what a term's words can match is what they match on SQLite.
//
// to_tsvector's limits hold: a word of 2047 bytes or more is left out
// (as to_tsvector leaves it; the input function refuses one longer),
// positions stop at 16383, and a word keeps its first 255 positions.
const (
	tsMaxWordBytes = 2046
	tsMaxPos       = 16383
	tsMaxPositions = 255
)

// tsWeights are the weights of search_docs' label, title, meta and text.
var tsWeights = [4]byte{'A', 'B', 'C', 'D'}

// tsWord is one word of a row at its position, with its field's weight
// in the top two bits (A=3 ... D=0), as a tsvector keeps it.
type tsWord struct {
	word string
	pos  uint16
}

// searchVector is the tsvector literal of a row's four fields (label,
// title, meta, text); words, if set, is called with each field's words
// (the typo vocabulary takes the first three's).
func searchVector(fields [4]string, words func(field int, w []string)) string {
	var all []tsWord
	var ws []string
	pos := 0
	for f, text := range fields {
		ws = appendSearchWords(ws[:0], text)
		if words != nil {
			words(f, ws)
		}
		weight := uint16(3-f) << 14
		for _, w := range ws {
			if len(w) > tsMaxWordBytes {
				continue
			}
			pos = min(pos+1, tsMaxPos)
			all = append(all, tsWord{w, uint16(pos) | weight})
		}
	}
	// By word, each word's positions in order (a stable sort of words in
	// position order).
	slices.SortStableFunc(all, func(a, b tsWord) int { return strings.Compare(a.word, b.word) })
	b := make([]byte, 0, 16*len(all))
	n := 0 // positions written of the current word
	for i, w := range all {
		if i == 0 || w.word != all[i-1].word {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendLexeme(b, w.word)
			n = 0
		} else if n == tsMaxPositions || w.pos&tsMaxPos == all[i-1].pos&tsMaxPos {
			// Past the limit, or a repeat of the last position (past
			// 16383: the first, higher, weight stays).
			continue
		}
		if n == 0 {
			b = append(b, ':')
		} else {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(w.pos&tsMaxPos), 10)
		if wt := w.pos >> 14; wt != 0 {
			b = append(b, tsWeights[3-wt])
		}
		n++
	}
	return string(b)
}

// appendLexeme appends w as a quoted tsvector lexeme: a quote or
// backslash in it is doubled, so nothing in a word is tsvector syntax
// (searchWords leaves only letters, digits and marks, but the literal
// does not rely on it).
func appendLexeme(b []byte, w string) []byte {
	b = append(b, '\'')
	for i := 0; i < len(w); i++ {
		if c := w[i]; c == '\'' || c == '\\' {
			b = append(b, c)
		}
		b = append(b, w[i])
	}
	return append(b, '\'')
}

// appendSearchWords appends the words of text (searchWords), without
// copying a word that is lower-case already.
func appendSearchWords(out []string, text string) []string {
	start, lower := -1, true
	for i := 0; i <= len(text); {
		r, size := utf8.RuneError, 1
		if i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				r = rune(c)
			} else {
				r, size = utf8.DecodeRuneInString(text[i:])
			}
		}
		inWord := i < len(text) && (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r))
		switch {
		case inWord && start < 0:
			start, lower = i, true
			fallthrough
		case inWord:
			if lower && (r >= utf8.RuneSelf || 'A' <= r && r <= 'Z') && unicode.ToLower(r) != r {
				lower = false
			}
		case start >= 0:
			w := text[start:i]
			if !lower {
				w = strings.ToLower(w)
			}
			out = append(out, w)
			start = -1
		}
		i += size
	}
	return out
}
