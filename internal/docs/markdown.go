package docs

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	xhtml "golang.org/x/net/html"
	"golang.org/x/text/unicode/norm"
)

const (
	// chromaStyle is the highlighting style written to assets/chroma.css.
	chromaStyle = "github"
	// maxHighlightBytes bounds a code block chroma highlights; a larger one
	// is shown as plain text (chroma's lexers are backtracking regexps).
	maxHighlightBytes = 256 << 10
)

// pageRenderer turns one page's Markdown into sanitized HTML. It is built once
// per build and used by one goroutine.
type pageRenderer struct {
	md     goldmark.Markdown
	blocks *blockRenderer
	policy *bluemonday.Policy
	css    []byte
}

func newRenderer() (*pageRenderer, error) {
	style := styles.Get(chromaStyle)
	formatter := chromahtml.New(chromahtml.WithClasses(true))
	var css bytes.Buffer
	if err := formatter.WriteCSS(&css, style); err != nil {
		return nil, fmt.Errorf("highlighting stylesheet: %w", err)
	}
	blocks := &blockRenderer{formatter: formatter, style: style}
	md := goldmark.New(
		goldmark.WithExtensions(
			extension.Linkify,
			extension.Strikethrough,
			extension.TaskList,
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
			extension.Footnote,
		),
		goldmark.WithParserOptions(parser.WithAttribute()),
		goldmark.WithRendererOptions(
			gmhtml.WithUnsafe(), // raw HTML reaches the sanitizer, which decides
			renderer.WithNodeRenderers(util.Prioritized(blocks, 100)),
		),
	)
	return &pageRenderer{md: md, blocks: blocks, policy: newPolicy(), css: css.Bytes()}, nil
}

// rendered is one page after rendering.
type rendered struct {
	body     string // sanitized article HTML
	h1       string // text of the first level-1 heading
	toc      []Heading
	text     string // the page's text, for search
	sections []section
}

// linkFunc rewrites one relative link or image destination of a page; ok
// is false when the target does not exist.
type linkFunc func(dest string) (rewritten string, ok bool)

// render renders src; broken receives each relative link to a missing file
// as written.
func (r *pageRenderer) render(src []byte, links linkFunc, broken func(string)) (rendered, error) {
	src = expandBlocks(src)
	doc := r.md.Parser().Parse(text.NewReader(src))
	var out rendered
	ids := newIDSet()
	// Highlighted code waits in slots; the page holds an unguessable
	// placeholder paragraph for each until it is sanitized.
	nonce := "rigger" + rand.Text()
	// Markdown links are rewritten on the tree and marked done; links in
	// raw HTML (<img src="diagram.png" width="300">) are rewritten on the
	// sanitized page, which holds both kinds, so the mark tells them apart.
	done := nonce + "~"
	var slots []string
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			title := plainText(n, src)
			if n.Level == 1 && out.h1 == "" {
				out.h1 = title
			}
			id := ""
			if v, ok := n.AttributeString("id"); ok {
				if b, ok := v.([]byte); ok {
					id = string(b)
				}
			}
			if id == "" || ids.used[id] {
				id = slugify(title)
			}
			id = ids.unique(id)
			n.SetAttributeString("id", []byte(id))
		case *ast.FencedCodeBlock:
			if lang := strings.ToLower(string(n.Language(src))); lang != "mermaid" {
				slot := nonce + strconv.Itoa(len(slots))
				slots = append(slots, r.blocks.highlight(lang, codeOf(n, src)))
				n.SetAttributeString(slotAttr, []byte(slot))
			}
			return ast.WalkSkipChildren, nil
		case *ast.Link:
			n.Destination = markRelative(rewriteDest(n.Destination, links, broken), done)
		case *ast.Image:
			n.Destination = markRelative(rewriteDest(n.Destination, links, broken), done)
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		return out, err
	}
	buf := &boundedBuffer{max: maxRendered(len(src))}
	if err := buf.render(func() error { return r.md.Renderer().Render(buf, src, doc) }); err != nil {
		return out, err
	}
	out.body = rewriteRawLinks(r.policy.Sanitize(buf.String()), done, links, broken)
	if len(slots) > 0 {
		pairs := make([]string, 0, 2*len(slots))
		for i, h := range slots {
			pairs = append(pairs, "<p>"+nonce+strconv.Itoa(i)+"</p>", h)
		}
		out.body = strings.NewReplacer(pairs...).Replace(out.body)
	}
	out.toc, out.text, out.sections = outline(out.body)
	return out, nil
}

// rewriteDest rewrites a relative destination and reports a missing one.
func rewriteDest(dest []byte, links linkFunc, broken func(string)) []byte {
	d := string(dest)
	if !relativeDest(d) {
		return dest
	}
	nd, ok := links(d)
	if !ok {
		p, _, _ := strings.Cut(d, "#")
		p, _, _ = strings.Cut(p, "?")
		broken(p)
		return dest
	}
	return []byte(nd)
}

// markRelative prefixes a relative destination with the done mark.
func markRelative(dest []byte, done string) []byte {
	if !relativeDest(string(dest)) {
		return dest
	}
	return append([]byte(done), dest...)
}

// relativeDest says whether a destination is relative to the page: not
// empty, not an anchor, not absolute and without a scheme.
func relativeDest(d string) bool {
	return d != "" && !strings.HasPrefix(d, "#") && !strings.HasPrefix(d, "/") && !hasScheme(d)
}

// rewriteRawLinks strips the done mark from the links Markdown wrote and
// rewrites the relative links raw HTML wrote, as Markdown's are. It walks
// the sanitized page with an HTML tokenizer and touches only the href of
// <a> and the src of <img> start tags: every other byte is copied as the
// sanitizer wrote it, and a changed tag is written again with its values
// escaped.
func rewriteRawLinks(body, done string, links linkFunc, broken func(string)) string {
	if !strings.Contains(body, "href=") && !strings.Contains(body, "src=") {
		return body
	}
	var out strings.Builder
	out.Grow(len(body))
	z := xhtml.NewTokenizer(strings.NewReader(body))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return out.String()
		}
		raw := z.Raw()
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			out.Write(raw)
			continue
		}
		tok := z.Token()
		attr := ""
		switch tok.Data {
		case "a":
			attr = "href"
		case "img":
			attr = "src"
		}
		changed := false
		for i, a := range tok.Attr {
			if attr == "" || a.Namespace != "" || a.Key != attr {
				continue
			}
			v := a.Val
			if rest, ok := strings.CutPrefix(v, done); ok {
				v = rest
			} else if relativeDest(v) {
				v = string(rewriteDest([]byte(v), links, broken))
			}
			if v != a.Val {
				tok.Attr[i].Val, changed = v, true
			}
		}
		if changed {
			out.WriteString(tok.String())
		} else {
			out.Write(raw)
		}
	}
}

// plainText is the text of a heading's inline content, without markup.
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(src))
			if c.SoftLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.AutoLink:
			b.Write(c.Label(src))
			return ast.WalkSkipChildren, nil
		case *ast.RawHTML:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}

var (
	slugDrop  = regexp.MustCompile(`[^\w\s-]`)
	slugSpace = regexp.MustCompile(`[-\s]+`)
	idCount   = regexp.MustCompile(`^(.*)_([0-9]+)$`)
)

// slugify makes a heading anchor the way MkDocs' toc extension does:
// decomposed to ASCII, punctuation dropped, lower case, runs of spaces and
// hyphens turned into one hyphen.
func slugify(s string) string {
	s = norm.NFKD.String(s)
	var b strings.Builder
	for _, c := range s {
		if c < 128 {
			b.WriteRune(c)
		}
	}
	s = strings.ToLower(strings.TrimSpace(slugDrop.ReplaceAllString(b.String(), "")))
	return slugSpace.ReplaceAllString(s, "-")
}

// idSet hands out unique heading anchors the way MkDocs does: a taken id
// gets a _1 suffix, or its own _N suffix bumped. next remembers the last
// suffix of each stem so that many equal headings stay linear.
type idSet struct {
	used map[string]bool
	next map[string]int
}

func newIDSet() *idSet { return &idSet{used: map[string]bool{}, next: map[string]int{}} }

func (s *idSet) unique(id string) string {
	if id != "" && !s.used[id] {
		s.used[id] = true
		return id
	}
	stem, n := id, 1
	if m := idCount.FindStringSubmatch(id); m != nil {
		if v, err := strconv.Atoi(m[2]); err == nil {
			stem, n = m[1], v+1
		}
	}
	n = max(n, s.next[stem])
	for s.used[stem+"_"+strconv.Itoa(n)] {
		n++
	}
	s.next[stem] = n + 1
	id = stem + "_" + strconv.Itoa(n)
	s.used[id] = true
	return id
}

// blockRenderer renders fenced code (highlighted by chroma with CSS
// classes; mermaid kept as escaped source for the UI) and task-list
// checkboxes (as a disabled indicator, never an <input>).
type blockRenderer struct {
	formatter *chromahtml.Formatter
	style     *chroma.Style
}

func (r *blockRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindFencedCodeBlock, r.fencedCode)
	reg.Register(extast.KindTaskCheckBox, r.taskCheckBox)
}

// fencedCode writes a mermaid block as escaped source, and any other block
// as the placeholder paragraph render put in its attributes: render
// replaces it with the highlighted HTML once the page is sanitized.
func (r *blockRenderer) fencedCode(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.FencedCodeBlock)
	if slot, ok := n.AttributeString(slotAttr); ok {
		_, _ = w.WriteString("<p>")
		_, _ = w.Write(slot.([]byte))
		_, _ = w.WriteString("</p>\n")
		return ast.WalkSkipChildren, nil
	}
	_, _ = w.WriteString(`<pre class="mermaid">`)
	_, _ = w.WriteString(html.EscapeString(codeOf(n, src)))
	_, _ = w.WriteString("</pre>\n")
	return ast.WalkSkipChildren, nil
}

// slotAttr is the attribute render sets on a fenced code block to name
// its placeholder.
const slotAttr = "rigger-slot"

func codeOf(n *ast.FencedCodeBlock, src []byte) string {
	var code strings.Builder
	lines := n.Lines()
	for i := range lines.Len() {
		seg := lines.At(i)
		code.Write(seg.Value(src))
	}
	return code.String()
}

// highlight renders code with chroma's CSS classes. Its output is built
// by chroma from escaped token text and fixed class names, so it is put
// in the page after the sanitizer has run (which halves the sanitizer's
// work on code-heavy pages).
func (r *blockRenderer) highlight(lang, code string) string {
	lexer := lexers.Get(lang)
	if lexer == nil || len(code) > maxHighlightBytes {
		lexer = lexers.Fallback
	}
	cls := "highlight"
	if l := slugify(lang); l != "" {
		cls += " language-" + l
	}
	var b strings.Builder
	b.WriteString(`<div class="` + cls + `">`)
	it, err := chroma.Coalesce(lexer).Tokenise(nil, code)
	if err == nil {
		err = r.formatter.Format(&b, r.style, it)
	}
	if err != nil {
		b.Reset()
		b.WriteString(`<div class="` + cls + `"><pre class="chroma"><code>` + html.EscapeString(code) + "</code></pre>")
	}
	b.WriteString("</div>")
	return b.String()
}

func (r *blockRenderer) taskCheckBox(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	if node.(*extast.TaskCheckBox).IsChecked {
		_, _ = w.WriteString(`<span class="task-list-indicator task-checked" role="checkbox" aria-checked="true" aria-disabled="true">☑</span> `)
	} else {
		_, _ = w.WriteString(`<span class="task-list-indicator" role="checkbox" aria-checked="false" aria-disabled="true">☐</span> `)
	}
	return ast.WalkContinue, nil
}

// relURL is the relative URL from the page whose directory URL is fromDir
// ("" or "guide/") to the site path to ("other/", "img/x.png", "" for home).
func relURL(fromDir, to string) string {
	f := segments(fromDir)
	isDir := to == "" || strings.HasSuffix(to, "/")
	t := segments(to)
	limit := len(t)
	if !isDir {
		limit--
	}
	i := 0
	for i < len(f) && i < limit && f[i] == t[i] {
		i++
	}
	parts := make([]string, 0, len(f)-i+len(t)-i)
	for range len(f) - i {
		parts = append(parts, "..")
	}
	parts = append(parts, t[i:]...)
	r := strings.Join(parts, "/")
	if isDir {
		if r == "" {
			return "./"
		}
		r += "/"
	}
	return (&url.URL{Path: r}).String()
}

func segments(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// resolveLink resolves a relative destination written on page from: a
// page (to its directory URL), a folder with a home page, or an asset.
func (s *source) resolveLink(from *page, dest string) (string, bool) {
	u, err := url.Parse(dest)
	if err != nil || u.Path == "" {
		return dest, true
	}
	target := path.Join(path.Dir(from.src), u.Path)
	if target == ".." || strings.HasPrefix(target, "../") {
		return dest, false
	}
	var to string
	if pg, ok := s.pages[target]; ok {
		to = pg.url
	} else if _, ok := s.assets[target]; ok {
		to = target
	} else if pg := s.folderPage(target); pg != nil {
		to = pg.url
	} else {
		return dest, false
	}
	r := relURL(from.url, to)
	if u.RawQuery != "" {
		r += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		r += "#" + u.EscapedFragment()
	}
	return r, true
}

// folderPage is the home page of folder dir, if it has one.
func (s *source) folderPage(dir string) *page {
	return s.byURL[pageDirURL(dir)]
}

// pageDirURL is the site path of folder dir's home page.
func pageDirURL(dir string) string {
	if dir == "." || dir == "" {
		return ""
	}
	return dir + "/"
}

// maxRendered bounds the HTML one page of n bytes renders to before
// sanitizing: Markdown amplifies (a link reference definition used
// thousands of times), and the renderer would otherwise build it all.
func maxRendered(n int) int { return 8*n + 1<<20 }

// errPageTooLarge stops a render whose output passed its bound.
var errPageTooLarge = errors.New("the page renders to more HTML than its size allows (a link reference or other construct repeated too often?)")

// boundedBuffer is a bytes.Buffer that stops the render writing into it
// once it holds max bytes: the renderer ignores write errors, so the
// buffer panics with errPageTooLarge and render recovers it.
type boundedBuffer struct {
	bytes.Buffer
	max int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		panic(errPageTooLarge)
	}
	return b.Buffer.Write(p)
}

func (b *boundedBuffer) WriteString(s string) (int, error) {
	if b.Len()+len(s) > b.max {
		panic(errPageTooLarge)
	}
	return b.Buffer.WriteString(s)
}

// render runs fn, turning the buffer's panic into errPageTooLarge.
func (b *boundedBuffer) render(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if v != errPageTooLarge { //nolint:errorlint // the sentinel itself
				panic(v)
			}
			err = errPageTooLarge
		}
	}()
	return fn()
}
