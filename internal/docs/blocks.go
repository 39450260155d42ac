package docs

import (
	"html"
	"regexp"
	"strings"
)

// Admonitions (!!! note "Title", ??? collapsible) and content tabs
// (=== "Tab") are expanded before goldmark parses a page: each becomes an
// HTML wrapper around its Markdown body, which goldmark then renders as
// usual (a CommonMark HTML block ends at a blank line, so the body between
// the opening and closing tags is Markdown). Fenced code is left alone, so
// a page can show the syntax. Blocks nest inside one another's bodies; at
// the top level they may be indented by at most three spaces, and deeper
// inside a list item (whose wrapper is then indented to stay in the item).

var (
	admonitionLine = regexp.MustCompile(`^( *)(!!!|\?\?\?\+?)[ \t]+([A-Za-z0-9_-]+(?:[ \t]+[A-Za-z0-9_-]+)*)(?:[ \t]+"(.*)")?[ \t]*$`)
	tabLine        = regexp.MustCompile(`^( *)===([!+]{0,2})[ \t]+"(.*)"[ \t]*$`)
	definitionLine = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:`)
	listItemLine   = regexp.MustCompile(`^( *)(?:[-*+]|[0-9]{1,9}[.)])( +|$)`)
)

const (
	// maxBlockDepth bounds how deep admonitions and tabs nest.
	maxBlockDepth = 16
	// maxQuoteDepth bounds the block quotes one line opens.
	maxQuoteDepth = 32
	// maxListLookBack bounds how far back a block indented by four or more
	// spaces looks for the list item it belongs to.
	maxListLookBack = 100
	// maxDefinitionRun bounds a run of link reference definitions: a blank
	// line is put between runs (which changes nothing, a definition may
	// stand alone), as goldmark's cost grows with the square of a run.
	maxDefinitionRun = 64
)

// expandBlocks rewrites admonitions and tabs of a Markdown page.
func expandBlocks(src []byte) []byte {
	s := strings.ReplaceAll(string(src), "\r\n", "\n")
	if !strings.Contains(s, "!!!") && !strings.Contains(s, "???") && !strings.Contains(s, "===") &&
		strings.Count(s, ">") <= maxQuoteDepth && strings.Count(s, "]:") <= maxDefinitionRun && !deepLine(s) {
		return []byte(s)
	}
	return []byte(strings.Join(expandLines(strings.Split(s, "\n"), 0), "\n"))
}

func expandLines(lines []string, depth int) []string {
	if depth > maxBlockDepth {
		return lines
	}
	out := make([]string, 0, len(lines))
	fence := ""
	defs := -1 // link reference definitions in a row since a blank line; -1 outside such a run
	for i := 0; i < len(lines); {
		l := lines[i]
		switch {
		case strings.TrimSpace(l) == "":
			defs = 0
		case definitionLine.MatchString(l) && defs >= 0:
			if defs++; defs > maxDefinitionRun {
				out = append(out, "")
				defs = 1
			}
		default:
			defs = -1
		}
		switch {
		case fence != "":
			if closesFence(l, fence) {
				fence = ""
			}
			out = append(out, l)
			i++
		case openFence(l) != "":
			fence = openFence(l)
			out = append(out, l)
			i++
		case admonitionLine.MatchString(l) && inBlock(lines, i):
			m := admonitionLine.FindStringSubmatch(l)
			col, _ := blockColumn(lines, i)
			body, next := indentedBody(lines, i+1, len(m[1])+4)
			open, closing := admonitionTags(m[2], m[3], m[4], strings.Contains(l[len(m[1])+len(m[2]):], `"`))
			block := append(open, "")
			block = append(block, expandLines(body, depth+1)...)
			block = append(block, "", closing, "")
			out = append(out, indentLines(block, col)...)
			i = next
		case tabLine.MatchString(l) && inBlock(lines, i):
			var set []string
			col, _ := blockColumn(lines, i)
			set, i = expandTabs(lines, i, depth)
			out = append(out, indentLines(set, col)...)
		default:
			out = append(out, limitQuotes(l))
			i++
		}
	}
	return out
}

// blockColumn says whether the block opening at lines[i] is one, and the
// column its expansion is written at: a block indented by at most three
// spaces is at the top (column 0); a deeper one must be inside a list
// item, at or after its content column and less than eight columns past
// its marker (MkDocs indents list content by four), and is written at the
// item's content column. Other deep lines are indented code.
func blockColumn(lines []string, i int) (int, bool) {
	indent := leadingSpaces(detab(lines[i]))
	if indent <= 3 {
		return 0, true
	}
	for j := i - 1; j >= 0 && j >= i-maxListLookBack; j-- {
		l := detab(lines[j])
		if strings.TrimSpace(l) == "" || leadingSpaces(l) >= indent {
			continue
		}
		m := listItemLine.FindStringSubmatch(l)
		if m == nil || len(m[0]) > indent || indent >= len(m[1])+8 {
			return 0, false
		}
		return len(m[0]), true
	}
	return 0, false
}

// inBlock says whether lines[i] may open a block (see blockColumn).
func inBlock(lines []string, i int) bool {
	_, ok := blockColumn(lines, i)
	return ok
}

// indentLines indents the non-blank lines of a block by n spaces, so an
// expanded block inside a list item stays in it.
func indentLines(block []string, n int) []string {
	if n == 0 {
		return block
	}
	pad := strings.Repeat(" ", n)
	for k, l := range block {
		if l != "" {
			block[k] = pad + l
		}
	}
	return block
}

// limitQuotes escapes the block-quote and list markers of a line past
// maxQuoteDepth, so they are text: goldmark's cost grows with the square
// of the nesting of one line ("> > > x", "- - - x").
func limitQuotes(l string) string {
	if i := deepAt(l); i >= 0 {
		return l[:i] + "\\" + l[i:]
	}
	return l
}

// deepAt is the index of the marker of line l that opens more than
// maxQuoteDepth nested quotes or lists, or -1.
func deepAt(l string) int {
	n := 0
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c == ' ' || c == '\t' || c >= '0' && c <= '9':
		case c == '>' || c == '-' || c == '*' || c == '+' || c == '.' || c == ')':
			if n++; n > maxQuoteDepth {
				return i
			}
		default:
			return -1
		}
	}
	return -1
}

// deepLine says whether a line of s nests too deep (see deepAt).
func deepLine(s string) bool {
	for line := range strings.SplitSeq(s, "\n") {
		if len(line) > maxQuoteDepth && deepAt(line) >= 0 {
			return true
		}
	}
	return false
}

// admonitionTags opens and closes one admonition: a <div>, or for ??? and
// ???+ a collapsible <details> (open with +). Without a quoted title the
// title is the type, capitalised; an empty quoted title ("") means none.
func admonitionTags(kind, classes, title string, quoted bool) ([]string, string) {
	fields := strings.Fields(classes)
	if !quoted {
		title = strings.ToUpper(fields[0][:1]) + fields[0][1:]
	}
	cls := html.EscapeString("admonition " + strings.Join(fields, " "))
	if strings.HasPrefix(kind, "???") {
		open := `<details class="` + cls + `">`
		if kind == "???+" {
			open = `<details class="` + cls + `" open>`
		}
		return []string{open, "<summary>" + html.EscapeString(title) + "</summary>"}, "</details>"
	}
	open := []string{`<div class="` + cls + `">`}
	if title != "" {
		open = append(open, `<p class="admonition-title">`+html.EscapeString(title)+`</p>`)
	}
	return open, "</div>"
}

// expandTabs turns consecutive === blocks starting at lines[i] into one
// tab set; === ! starts a new set. It returns the set and the next line.
func expandTabs(lines []string, i, depth int) ([]string, int) {
	m := tabLine.FindStringSubmatch(lines[i])
	indent := len(m[1])
	out := []string{`<div class="tabbed-set">`}
	selected := false
	for {
		body, next := indentedBody(lines, i+1, indent+4)
		cls := "tabbed-block"
		if strings.Contains(m[2], "+") && !selected {
			cls += " tabbed-selected"
			selected = true
		}
		out = append(out, `<div class="`+cls+`">`, `<p class="tabbed-label">`+html.EscapeString(m[3])+`</p>`, "")
		out = append(out, expandLines(body, depth+1)...)
		out = append(out, "", "</div>")
		j := next
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j < len(lines) {
			if m2 := tabLine.FindStringSubmatch(lines[j]); m2 != nil && len(m2[1]) == indent && !strings.Contains(m2[2], "!") {
				i, m = j, m2
				continue
			}
		}
		if !selected {
			out[1] = strings.Replace(out[1], `"tabbed-block"`, `"tabbed-block tabbed-selected"`, 1)
		}
		return append(out, "</div>", ""), next
	}
}

// indentedBody returns the lines from start that are blank or indented by
// at least indent columns, dedented, without trailing blank lines, and the
// index of the first line after them.
func indentedBody(lines []string, start, indent int) ([]string, int) {
	end := start
	last := start
	for end < len(lines) {
		l := detab(lines[end])
		if strings.TrimSpace(l) == "" {
			end++
			continue
		}
		if leadingSpaces(l) < indent {
			break
		}
		end++
		last = end
	}
	body := make([]string, 0, last-start)
	for _, l := range lines[start:last] {
		l = detab(l)
		if leadingSpaces(l) >= indent {
			l = l[indent:]
		} else {
			l = strings.TrimLeft(l, " ")
		}
		body = append(body, l)
	}
	return body, last
}

// detab expands the tabs of a line's indentation to four-column stops.
func detab(l string) string {
	if !strings.HasPrefix(strings.TrimLeft(l, " "), "\t") {
		return l
	}
	var b strings.Builder
	col := 0
	for i, c := range l {
		switch c {
		case ' ':
			b.WriteByte(' ')
			col++
		case '\t':
			n := 4 - col%4
			b.WriteString(strings.Repeat(" ", n))
			col += n
		default:
			b.WriteString(l[i:])
			return b.String()
		}
	}
	return b.String()
}

func leadingSpaces(l string) int {
	return len(l) - len(strings.TrimLeft(l, " "))
}

// openFence returns the fence marker (``` or ~~~, possibly longer) a line
// opens, or "".
func openFence(l string) string {
	if leadingSpaces(l) > 3 {
		return ""
	}
	t := strings.TrimLeft(l, " ")
	for _, c := range []byte{'`', '~'} {
		n := 0
		for n < len(t) && t[n] == c {
			n++
		}
		if n >= 3 {
			if c == '`' && strings.Contains(t[n:], "`") {
				return ""
			}
			return t[:n]
		}
	}
	return ""
}

// closesFence reports whether l closes a fence opened with marker.
func closesFence(l, marker string) bool {
	if leadingSpaces(l) > 3 {
		return false
	}
	t := strings.TrimRight(strings.TrimLeft(l, " "), " \t")
	if len(t) < len(marker) {
		return false
	}
	return strings.Trim(t, marker[:1]) == ""
}
