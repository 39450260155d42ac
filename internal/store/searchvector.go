package store

import (
	"strconv"
	"strings"
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

// searchVector is the tsvector literal of a row's four fields (label,
// title, meta, text); words, if set, is called with each field's words
// (the typo vocabulary takes the first three's).
func searchVector(fields [4]string, words func(field int, w []string)) string {
	type entry struct {
		word string
		pos  []uint16 // weight in the top 2 bits, as tsvector keeps it
	}
	var entries []entry
	index := map[string]int{}
	pos := 0
	for f, text := range fields {
		ws := searchWords(text)
		if words != nil {
			words(f, ws)
		}
		weight := uint16(3-f) << 14 // A=3 ... D=0
		for _, w := range ws {
			if len(w) > tsMaxWordBytes {
				continue
			}
			pos = min(pos+1, tsMaxPos)
			i, ok := index[w]
			if !ok {
				i = len(entries)
				index[w] = i
				entries = append(entries, entry{word: w})
			}
			e := &entries[i]
			// Positions only grow, so a repeat of the last (past the
			// limit) is the only duplicate; it keeps the first
			// field's, higher, weight.
			if n := len(e.pos); n < tsMaxPositions && (n == 0 || int(e.pos[n-1]&tsMaxPos) != pos) {
				e.pos = append(e.pos, uint16(pos)|weight)
			}
		}
	}
	var b strings.Builder
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(' ')
		}
		writeLexeme(&b, e.word)
		for j, p := range e.pos {
			if j == 0 {
				b.WriteByte(':')
			} else {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(int(p & tsMaxPos)))
			if w := p >> 14; w != 0 {
				b.WriteByte(tsWeights[3-w])
			}
		}
	}
	return b.String()
}

// writeLexeme writes w as a quoted tsvector lexeme: a quote or backslash
// in it is doubled, so nothing in a word is tsvector syntax (searchWords
// leaves only letters, digits and marks, but the literal does not rely
// on it).
func writeLexeme(b *strings.Builder, w string) {
	b.WriteByte('\'')
	if strings.ContainsAny(w, `'\`) {
		w = strings.ReplaceAll(strings.ReplaceAll(w, `\`, `\\`), `'`, `''`)
	}
	b.WriteString(w)
	b.WriteByte('\'')
}
