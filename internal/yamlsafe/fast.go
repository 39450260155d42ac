package yamlsafe

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// The fast reader reads the YAML most catalog and template files are written
// in — block mappings and sequences indented with spaces, one-line flow
// collections, plain and one-line quoted scalars, literal and folded block
// scalars, comments — into the node trees yaml.v3 builds for them: the
// same kinds, tags, styles, values, lines and columns (comments are not
// kept; nothing here reads them). It declines anything else: tabs, a CR
// not ending a line, anchors, aliases, tags, directives, multi-line plain
// or quoted scalars, explicit keys, and every syntax error, so
// EachDocument falls back to yaml.v3 from the document it declines, and
// yaml.v3 reports the error.
//
// It exists for speed: yaml.v3's scanner, parser and composer were two
// thirds of the CPU of parsing a catalog file (catalog.Parse); this reads
// the same file in one pass over its bytes, in a fifth of the time
// (BenchmarkDocuments). FuzzFastDocuments holds it to yaml.v3's trees.

// newFastParser returns a parser for data, or ok false for a stream with
// a character it does not read.
func newFastParser(data []byte) (p *fastParser, ok bool) {
	ascii, crlf, fine := screenBytes(data)
	if !fine {
		return nil, false
	}
	if crlf {
		// Each CR ends a line with the LF after it, where yaml.v3 reads
		// one line break (and counts no column): read the stream without.
		data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	}
	p = &fastParser{data: data, src: string(data), ascii: ascii, line: 1, colLine: -1}
	p.skipToContent()
	return p, true
}

// next reads the next document: more is false at the stream's end, and
// when the parser declines the rest (bad; this document included).
func (p *fastParser) next() (d Document, more bool) {
	if p.bad || p.eof() {
		return Document{}, false
	}
	start := p.line
	explicit := p.marker() == '-'
	if explicit {
		p.pos += 3
		p.endLine()
		p.skipToContent()
	} else if p.docs > 0 || p.marker() != 0 {
		p.decline() // content after a document that ended, or "..." first
		return Document{}, false
	}
	var root *yaml.Node
	if !p.eof() && p.marker() == 0 {
		if !explicit {
			start = p.line
		}
		root = p.block(-1)
		if p.bad {
			return Document{}, false
		}
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			root = nil // as Documents reads a null document
		}
	}
	if !p.eof() && p.marker() == '.' {
		p.pos += 3
		p.endLine()
		p.skipToContent()
	}
	if !p.eof() && p.marker() != '-' {
		p.decline() // what follows may change how yaml.v3 reads it
	}
	if p.bad {
		return Document{}, false
	}
	p.docs++
	return Document{Node: root, Line: start}, true
}

// screenBytes says whether data holds only what fastDocuments reads
// (printable text and line feeds, alone or after a CR; no tab, byte order
// mark or other character YAML treats as a line break), whether it is
// all ASCII and whether it holds a CR.
func screenBytes(data []byte) (ascii, crlf, ok bool) {
	ascii = true
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if c == '\r' && i+1 < len(data) && data[i+1] == '\n' {
				crlf = true
			} else if (c < 0x20 && c != '\n') || c == 0x7f {
				return false, false, false
			}
			i++
			continue
		}
		ascii = false
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 || !(r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd && r != 0xfeff || r >= 0x10000 && r <= 0x10ffff) ||
			r == 0x2028 || r == 0x2029 {
			return false, false, false
		}
		i += n
	}
	return ascii, crlf, true
}

// fastParser reads a stream line by line. pos is a byte offset in data,
// lineStart the offset of the line holding it and line that line's number
// (from 1). A method that finds something it does not read sets bad.
type fastParser struct {
	data []byte
	// src is data as one string: scalars are slices of it, not a string
	// each (so a value read keeps its whole stream in memory).
	src       string
	slab      []yaml.Node // nodes are cut from it, a block at a time
	pos       int
	lineStart int
	line      int
	ascii     bool
	bad       bool
	docs      int // documents read
	depth     int // collections open
	// resolved counts the scalars handed to yaml.v3 for a tag.
	resolved int
	// colAt and col are the last column counted on the line starting at
	// colLine (non-ASCII streams): columns are counted on from there.
	colLine, colAt, col int
}

// maxDepth is the deepest nesting of collections the fast reader reads:
// yaml.v3 refuses 10,000, and Screen less (its MaxDepth is at most
// 1,000), but a stream reaching it is left to yaml.v3, which stops there
// (the fast reader's recursion and nodes would not).
const maxDepth = 1000

// maxResolved bounds the scalars of a stream whose tag yaml.v3 is asked
// (numbers other than decimal integers, dates): each costs a yaml.v3
// parser, and a stream of thousands is read by yaml.v3 whole instead.
const maxResolved = 256

// open enters a collection; false (declined) past maxDepth. A collection
// opened leaves with leave.
func (p *fastParser) open() bool {
	p.depth++
	if p.depth > maxDepth {
		p.decline()
		return false
	}
	return true
}

// leave leaves the collection open entered.
func (p *fastParser) leave() { p.depth-- }

func (p *fastParser) eof() bool { return p.pos >= len(p.data) }

// at is the byte at i, or a line feed past the end.
func (p *fastParser) at(i int) byte {
	if i >= len(p.data) {
		return '\n'
	}
	return p.data[i]
}

// column is the 1-based column of offset i on the current line, counted in
// characters as yaml.v3 does.
func (p *fastParser) column(i int) int {
	if p.ascii {
		return i - p.lineStart + 1
	}
	if p.colLine != p.lineStart || i < p.colAt {
		p.colLine, p.colAt, p.col = p.lineStart, p.lineStart, 1
	}
	p.col += utf8.RuneCount(p.data[p.colAt:i])
	p.colAt = i
	return p.col
}

func (p *fastParser) node(kind yaml.Kind, tag, value string, i int) *yaml.Node {
	if len(p.slab) == 0 {
		p.slab = make([]yaml.Node, 64)
	}
	n := &p.slab[0]
	p.slab = p.slab[1:]
	n.Kind, n.Tag, n.Value, n.Line, n.Column = kind, tag, value, p.line, p.column(i)
	return n
}

// nextLine moves to the start of the next line.
func (p *fastParser) nextLine() {
	for p.pos < len(p.data) && p.data[p.pos] != '\n' {
		p.pos++
	}
	if p.pos < len(p.data) {
		p.pos++
		p.line++
		p.lineStart = p.pos
	}
}

// endLine ends a line after a node: only spaces and a comment may follow.
func (p *fastParser) endLine() {
	p.skipSpaces()
	if c := p.at(p.pos); c != '\n' && !(c == '#' && p.data[p.pos-1] == ' ') {
		p.decline()
		return
	}
	p.nextLine()
}

func (p *fastParser) skipSpaces() {
	for p.pos < len(p.data) && p.data[p.pos] == ' ' {
		p.pos++
	}
}

// skipToContent moves from the start of a line past blank and comment
// lines to the first character of the next line with content.
func (p *fastParser) skipToContent() {
	for p.pos < len(p.data) {
		p.skipSpaces()
		if c := p.at(p.pos); c != '\n' && c != '#' {
			return
		}
		p.nextLine()
	}
}

// indent is the indentation of the content line pos is on (pos is at its
// first character).
func (p *fastParser) indent() int { return p.pos - p.lineStart }

// marker is the document marker the line at pos starts with: '-' for
// "---", '.' for "..." (the rest of its line must be blank or a comment),
// or 0. A directive is declined.
func (p *fastParser) marker() byte {
	if p.indent() != 0 || p.eof() {
		return 0
	}
	d := p.data[p.pos:]
	if len(d) >= 3 && (string(d[:3]) == "---" || string(d[:3]) == "...") && (len(d) == 3 || d[3] == ' ' || d[3] == '\n') {
		return d[0]
	}
	if d[0] == '%' {
		p.decline()
	}
	return 0
}

// isItem says whether i starts a block sequence item ("-" then a space or
// the line's end).
func (p *fastParser) isItem(i int) bool {
	return p.at(i) == '-' && (p.at(i+1) == ' ' || p.at(i+1) == '\n')
}

// block reads the node starting at pos, on a content line, whose parent
// collection is indented by parent. It returns at the next content line.
func (p *fastParser) block(parent int) *yaml.Node {
	if p.marker() != 0 {
		p.decline()
		return nil
	}
	ind := p.indent()
	switch {
	case p.isItem(p.pos):
		return p.sequence(ind)
	case p.keyEnd(p.pos) >= 0:
		return p.mapping(ind)
	}
	return p.value(parent)
}

// sequence reads a block sequence whose items start at column ind.
func (p *fastParser) sequence(ind int) *yaml.Node {
	if !p.open() {
		return nil
	}
	defer p.leave()
	seq := p.node(yaml.SequenceNode, "!!seq", "", p.pos)
	for !p.bad {
		p.pos++ // the dash
		p.skipSpaces()
		var item *yaml.Node
		switch c := p.at(p.pos); {
		case c == '\n' || c == '#' && p.data[p.pos-1] == ' ':
			item = p.empty(p.lineStart + ind + 1)
			p.nextLine()
			p.skipToContent()
			if !p.eof() && p.indent() > ind {
				item = p.block(ind)
			}
		case p.isItem(p.pos):
			p.decline() // "- - x"
		case p.keyEnd(p.pos) >= 0:
			item = p.mapping(p.indent())
		default:
			item = p.value(ind)
		}
		if p.bad {
			return nil
		}
		seq.Content = append(seq.Content, item)
		if p.eof() {
			break
		}
		if i := p.indent(); i > ind {
			p.decline()
		} else if i < ind || !p.isItem(p.pos) || p.marker() != 0 {
			break
		}
	}
	return seq
}

// empty is the null node yaml.v3 makes for a missing value at offset i.
func (p *fastParser) empty(i int) *yaml.Node {
	return p.node(yaml.ScalarNode, "!!null", "", i)
}

// mapping reads a block mapping whose keys start at column ind.
func (p *fastParser) mapping(ind int) *yaml.Node {
	if !p.open() {
		return nil
	}
	defer p.leave()
	m := p.node(yaml.MappingNode, "!!map", "", p.pos)
	for !p.bad {
		end := p.keyEnd(p.pos)
		if end < 0 {
			p.decline()
			return nil
		}
		key := p.scalarAt(p.pos, end)
		p.pos = end + 1 // past the colon
		colon := p.pos
		p.skipSpaces()
		var val *yaml.Node
		if c := p.at(p.pos); c == '\n' || c == '#' && p.data[p.pos-1] == ' ' {
			val = p.empty(colon)
			p.nextLine()
			p.skipToContent()
			if !p.eof() && p.marker() == 0 {
				if i := p.indent(); i > ind {
					val = p.block(ind)
				} else if i == ind && p.isItem(p.pos) {
					val = p.sequence(ind)
				}
			}
		} else {
			val = p.value(ind)
		}
		if p.bad || key == nil {
			p.decline()
			return nil
		}
		m.Content = append(m.Content, key, val)
		if p.eof() || p.marker() != 0 {
			break
		}
		if i := p.indent(); i > ind {
			p.decline()
		} else if i < ind {
			break
		}
	}
	return m
}

// keyEnd is the offset of the colon ending the simple key that starts at
// i ("name:" then a space or the line's end), or -1 when none starts
// there.
func (p *fastParser) keyEnd(i int) int {
	switch c := p.at(i); c {
	case '\'', '"':
		j := p.quotedEnd(i)
		if j < 0 {
			return -1
		}
		for j < len(p.data) && p.data[j] == ' ' {
			j++
		}
		if p.at(j) == ':' && (p.at(j+1) == ' ' || p.at(j+1) == '\n') && j-i < 1000 {
			return j
		}
		return -1
	default:
		if !plainStart(p.data, i, false) {
			return -1
		}
	}
	for j := i; j < len(p.data) && j-i < 1000; j++ { // as in flow below
		switch p.data[j] {
		case '\n':
			return -1
		case '#':
			if p.data[j-1] == ' ' {
				return -1
			}
		case ':':
			if c := p.at(j + 1); c == ' ' || c == '\n' {
				return j
			}
		}
	}
	return -1
}

// plainStart says whether a plain scalar may start at i; flow says it is
// inside a flow collection.
func plainStart(data []byte, i int, flow bool) bool {
	if i >= len(data) {
		return false
	}
	switch data[i] {
	case '?':
		return false // legal before a non-blank, and left to yaml.v3
	case ':':
		if flow {
			return false
		}
		fallthrough
	case '-':
		next := byte('\n')
		if i+1 < len(data) {
			next = data[i+1]
		}
		return next != ' ' && next != '\n' && !(flow && strings.IndexByte(",[]{}", next) >= 0)
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\n':
		return false
	}
	return true
}

// scalarAt is the plain or quoted scalar written from i to end (a key).
func (p *fastParser) scalarAt(i, end int) *yaml.Node {
	if c := p.data[i]; c == '\'' || c == '"' {
		return p.quoted(i)
	}
	for end > i && p.data[end-1] == ' ' {
		end--
	}
	return p.plain(i, end)
}

// plain is the plain scalar written from start to end; pos moves to end.
func (p *fastParser) plain(start, end int) *yaml.Node {
	text := p.src[start:end]
	tag, ok := p.plainTag(text)
	if !ok {
		p.decline()
		return nil
	}
	p.pos = end
	return p.node(yaml.ScalarNode, tag, text, start)
}

// value reads a node written on the rest of the line at pos: a scalar, a
// flow collection or a block scalar's header (whose text follows), in a
// block collection indented by parent. It returns at the next content
// line.
func (p *fastParser) value(parent int) *yaml.Node {
	var n *yaml.Node
	switch c := p.data[p.pos]; c {
	case '|', '>':
		return p.blockScalar(parent)
	case '[', '{':
		n = p.flow()
	case '\'', '"':
		n = p.quoted(p.pos)
	default:
		if !plainStart(p.data, p.pos, false) {
			p.decline()
			return nil
		}
		start := p.pos
		end := p.plainEnd(start)
		if end < 0 {
			p.decline()
			return nil
		}
		n = p.plain(start, end)
	}
	if p.bad || n == nil {
		p.decline()
		return nil
	}
	p.endLine()
	p.skipToContent()
	return n
}

// plainEnd is where a one-line plain scalar in block context starting at
// i ends (trailing spaces excluded), or -1 when it holds ": " (an error
// yaml.v3 reports).
func (p *fastParser) plainEnd(i int) int {
	end := i
	for j := i; j < len(p.data); j++ {
		switch c := p.data[j]; c {
		case '\n':
			return end
		case ' ':
			continue
		case '#':
			if p.data[j-1] == ' ' {
				return end
			}
		case ':':
			if n := p.at(j + 1); n == ' ' || n == '\n' {
				return -1
			}
		}
		end = j + 1
	}
	return end
}

// quoted reads the one-line quoted scalar starting at i and leaves pos
// after its closing quote.
func (p *fastParser) quoted(i int) *yaml.Node {
	end := p.quotedEnd(i)
	if end < 0 {
		p.decline()
		return nil
	}
	raw := p.src[i+1 : end-1]
	var text string
	n := p.node(yaml.ScalarNode, "!!str", "", i)
	if p.data[i] == '\'' {
		n.Style = yaml.SingleQuotedStyle
		text = strings.ReplaceAll(raw, "''", "'")
	} else {
		n.Style = yaml.DoubleQuotedStyle
		var ok bool
		if text, ok = unescape(raw); !ok {
			p.decline()
			return nil
		}
	}
	n.Value = text
	p.pos = end
	return n
}

// quotedEnd is the offset after the quote closing the quoted scalar that
// starts at i, or -1 when it does not close on its line.
func (p *fastParser) quotedEnd(i int) int {
	q := p.data[i]
	for j := i + 1; j < len(p.data); j++ {
		switch c := p.data[j]; {
		case c == '\n':
			return -1
		case c == '\\' && q == '"':
			j++
			if p.at(j) == '\n' {
				return -1
			}
		case c == q:
			if q == '\'' && p.at(j+1) == '\'' {
				j++
				continue
			}
			return j + 1
		}
	}
	return -1
}

// unescape decodes a double-quoted scalar's escapes; ok is false for one
// it does not know or a code point YAML refuses.
func unescape(raw string) (string, bool) {
	if strings.IndexByte(raw, '\\') < 0 {
		return raw, true
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(raw) {
			return "", false
		}
		var width int
		switch raw[i] {
		case '0':
			b.WriteByte(0)
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'v':
			b.WriteByte('\v')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'e':
			b.WriteByte(0x1b)
		case ' ', '"', '\'', '\\': // as yaml.v3 (which has no \/)
			b.WriteByte(raw[i])
		case 'x':
			width = 2
		case 'u':
			width = 4
		case 'U':
			width = 8
		default:
			return "", false
		}
		if width == 0 {
			continue
		}
		if i+1+width > len(raw) {
			return "", false
		}
		v, err := strconv.ParseUint(raw[i+1:i+1+width], 16, 32)
		if err != nil || v >= 0xd800 && v <= 0xdfff || v > 0x10ffff {
			return "", false
		}
		b.WriteRune(rune(v))
		i += width
	}
	return b.String(), true
}

// plainTag is the tag yaml.v3 resolves a plain scalar to. Strings, booleans
// and nulls are told here; a scalar that may be a number or a timestamp is
// resolved by yaml.v3 itself. ok is false for "<<" (a merge key).
func (p *fastParser) plainTag(s string) (string, bool) {
	switch s[0] {
	case 'y', 'Y', 'n', 'N', 't', 'T', 'f', 'F', 'o', 'O', '~':
		switch s {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return "!!bool", true
		case "~", "null", "Null", "NULL":
			return "!!null", true
		}
		return "!!str", true
	case '+', '-', '.', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if tag, ok := decimalTag(s); ok {
			return tag, true
		}
		if p.resolved++; p.resolved > maxResolved {
			return "", false
		}
		return resolvedTag(s)
	case '<':
		if s == "<<" {
			return "", false
		}
	}
	return "!!str", true
}

// decimalTag tells the tag of a decimal integer (a port, a count): ok is
// false for any other scalar.
func decimalTag(s string) (string, bool) {
	digits := strings.TrimPrefix(s, "-")
	if len(digits) > 0 && len(digits) <= 18 && (digits[0] != '0' || digits == "0") &&
		strings.Trim(digits, "0123456789") == "" {
		return "!!int", true
	}
	return "", false
}

// resolvedTag asks yaml.v3 for the tag of plain scalar s (which starts
// like a number).
func resolvedTag(s string) (string, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil || len(doc.Content) != 1 {
		return "", false
	}
	n := doc.Content[0]
	if n.Kind != yaml.ScalarNode || n.Style != 0 || n.Value != s {
		return "", false
	}
	return n.Tag, true
}

// flow reads a one-line flow collection starting at pos and leaves pos
// after its closing bracket.
func (p *fastParser) flow() *yaml.Node {
	if !p.open() {
		return nil
	}
	defer p.leave()
	open := p.data[p.pos]
	n := p.node(yaml.SequenceNode, "!!seq", "", p.pos)
	closer := byte(']')
	if open == '{' {
		n.Kind, n.Tag, closer = yaml.MappingNode, "!!map", '}'
	}
	n.Style = yaml.FlowStyle
	p.pos++
	for !p.bad {
		p.skipSpaces()
		if p.at(p.pos) == closer && len(n.Content) == 0 {
			p.pos++
			return n
		}
		if open == '{' {
			keyStart := p.pos
			key := p.flowItem(true)
			if p.bad {
				return nil
			}
			// yaml.v3 looks no further than 1024 characters for a key's colon.
			if p.at(p.pos) != ':' || p.at(p.pos+1) != ' ' || p.pos-keyStart >= 1000 {
				p.decline()
				return nil
			}
			p.pos++
			p.skipSpaces()
			n.Content = append(n.Content, key)
		}
		item := p.flowItem(false)
		if p.bad {
			return nil
		}
		n.Content = append(n.Content, item)
		switch p.at(p.pos) {
		case ',':
			p.pos++
			p.skipSpaces()
			if p.at(p.pos) == closer {
				p.decline() // a trailing comma
			}
		case closer:
			p.pos++
			return n
		default:
			p.decline()
		}
	}
	return nil
}

// flowItem reads a scalar or a nested collection inside a flow collection
// and the spaces after it; key says it is a flow mapping's key.
func (p *fastParser) flowItem(key bool) *yaml.Node {
	var n *yaml.Node
	switch c := p.at(p.pos); c {
	case '[', '{':
		if key {
			p.decline()
			return nil
		}
		n = p.flow()
	case '\'', '"':
		n = p.quoted(p.pos)
	default:
		if !plainStart(p.data, p.pos, true) {
			p.decline()
			return nil
		}
		start, end := p.pos, p.pos
	scan:
		for j := start; ; j++ {
			switch c := p.at(j); c {
			case '\n', ',', '[', ']', '{', '}':
				break scan
			case ' ':
				continue
			case '#':
				if p.data[j-1] == ' ' {
					p.decline() // a comment inside the collection
					return nil
				}
			case '?':
				p.decline() // ends a plain scalar in a flow collection
				return nil
			case ':':
				if n := p.at(j + 1); n == ' ' || n == '\n' {
					if key {
						break scan
					}
					p.decline() // a single pair inside a sequence
					return nil
				}
			}
			end = j + 1
		}
		n = p.plain(start, end)
	}
	if p.bad || n == nil {
		p.decline()
		return nil
	}
	p.skipSpaces()
	if !key && p.at(p.pos) == ':' {
		p.decline() // a single-pair mapping inside a sequence
	}
	return n
}

// blockScalar reads a literal (|) or folded (>) scalar whose header is at
// pos, in a block collection indented by parent, with clip, strip (-) or
// keep (+) chomping. An explicit indentation, leading blank lines, a line
// of spaces longer than the indentation and a folded scalar's more
// indented lines are declined.
func (p *fastParser) blockScalar(parent int) *yaml.Node {
	if parent < 0 {
		p.decline()
		return nil
	}
	n := p.node(yaml.ScalarNode, "!!str", "", p.pos)
	folded := p.data[p.pos] == '>'
	n.Style = yaml.LiteralStyle
	if folded {
		n.Style = yaml.FoldedStyle
	}
	p.pos++
	chomp := p.at(p.pos)
	if chomp == '-' || chomp == '+' {
		p.pos++
	} else {
		chomp = 0
	}
	if c := p.at(p.pos); c != ' ' && c != '\n' {
		p.decline()
		return nil
	}
	p.endLine()
	if p.bad {
		return nil
	}
	var lines []string // content lines, with the blank ones among them
	ind, trailing := -1, 0
	for !p.eof() { // pos is at a line's start
		start, i := p.pos, p.pos
		for i < len(p.data) && p.data[i] == ' ' {
			i++
		}
		spaces, blank := i-start, p.at(i) == '\n'
		if ind < 0 {
			if blank || spaces <= parent {
				break // leading blank lines, or no content
			}
			ind = spaces
		}
		if blank {
			if spaces > ind {
				p.decline()
				return nil
			}
			if i < len(p.data) { // a line break, not the stream's end
				trailing++
			}
			p.nextLine()
			continue
		}
		if spaces < ind {
			break // the line after the scalar
		}
		if folded && spaces > ind {
			p.decline()
			return nil
		}
		for ; trailing > 0; trailing-- {
			lines = append(lines, "")
		}
		end := i
		for end < len(p.data) && p.data[end] != '\n' {
			end++
		}
		if end == len(p.data) {
			p.decline() // no final line break: chomping differs
			return nil
		}
		lines = append(lines, p.src[start+ind:end])
		p.pos = end
		p.nextLine()
	}
	if len(lines) == 0 {
		p.decline()
		return nil
	}
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			switch {
			case !folded:
				b.WriteByte('\n')
			case l == "":
				b.WriteByte('\n')
			case lines[i-1] != "":
				b.WriteByte(' ')
			}
		}
		b.WriteString(l)
	}
	switch chomp {
	case 0:
		b.WriteByte('\n')
	case '+':
		b.WriteString(strings.Repeat("\n", trailing+1))
	}
	n.Value = b.String()
	p.skipToContent()
	return n
}

// decline gives the stream up to yaml.v3.
func (p *fastParser) decline() { p.bad = true }
