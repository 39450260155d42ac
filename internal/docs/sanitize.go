package docs

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// newPolicy is the sanitizer every page goes through: text markup, lists,
// tables, images, links and the classes and ids the renderer emits; no
// scripts, event handlers, styles, frames, forms, embedded objects, <base>,
// <meta> or inline SVG; links are http(s), mailto or relative; data: URLs
// only for raster images.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowStandardURLs()
	p.RequireNoFollowOnLinks(false)
	p.AllowURLSchemeWithCustomPolicy("data", rasterDataURL)
	p.AllowElements(
		"a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
		"dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
		"h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre",
		"q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strike", "strong", "sub", "summary", "sup",
		"table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var", "wbr",
	)
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^[A-Za-z0-9_ -]{1,200}$`)).Globally()
	p.AllowAttrs("id").Matching(regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_:.-]{0,199}$`)).Globally()
	p.AllowAttrs("title", "lang", "dir").Globally()
	p.AllowAttrs("role").Matching(regexp.MustCompile(`^[a-z-]{1,40}$`)).Globally()
	p.AllowAttrs("aria-checked", "aria-disabled", "aria-hidden").Matching(regexp.MustCompile(`^(true|false)$`)).Globally()
	p.AllowAttrs("aria-label").Globally()
	// Links: http(s), mailto or relative, never data: (the data scheme is
	// allowed above for images only; this pattern keeps it off links).
	p.AllowAttrs("href").Matching(regexp.MustCompile(`^(?i:(?:https?|mailto):|[^:/?#]*(?:[/?#]|$))`)).OnElements("a")
	p.AllowAttrs("src", "alt").OnElements("img")
	p.AllowAttrs("width", "height").Matching(bluemonday.NumberOrPercent).OnElements("img")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|right|center)$`)).OnElements("th", "td")
	p.AllowAttrs("colspan", "rowspan").Matching(bluemonday.Integer).OnElements("th", "td")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowAttrs("open").Matching(regexp.MustCompile(`^(open)?$`)).OnElements("details")
	p.AllowAttrs("tabindex").Matching(regexp.MustCompile(`^0$`)).OnElements("pre")
	p.AllowAttrs("datetime").OnElements("time", "del", "ins")
	p.RequireNoReferrerOnFullyQualifiedLinks(true)
	// Drop the content of elements whose text is not prose.
	p.SkipElementsContent("svg", "math", "template", "textarea", "select", "button", "form")
	return p
}

// rasterDataURL allows data: URLs of base64 PNG, JPEG, GIF and WebP images.
func rasterDataURL(u *url.URL) bool {
	media, data, ok := strings.Cut(u.Opaque, ",")
	if !ok {
		return false
	}
	switch strings.ToLower(media) {
	case "image/png;base64", "image/jpeg;base64", "image/gif;base64", "image/webp;base64":
	default:
		return false
	}
	_, err := base64.StdEncoding.DecodeString(data)
	return err == nil
}

// section is the text under one heading, for the search index.
type section struct {
	id, title string
	text      string
	level     int
}

// outline reads sanitized page HTML: the headings with an id (the table of
// contents), the page's whole text and the text under each heading.
func outline(body string) ([]Heading, string, []section) {
	toc := []Heading{}
	var secs []section
	var all, cur, title strings.Builder
	level := 0       // > 0 while inside a heading with an id
	diagram := false // inside a Mermaid block: its source is not text to search
	closeSection := func() {
		if len(secs) > 0 {
			secs[len(secs)-1].text = collapse(cur.String())
		}
		cur.Reset()
	}
	z := html.NewTokenizer(strings.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			closeSection()
			return toc, collapse(all.String()), secs
		case html.StartTagToken:
			name, hasAttr := z.TagName()
			if l := headingLevel(name); l > 0 && hasAttr {
				for {
					k, v, more := z.TagAttr()
					if string(k) == "id" {
						closeSection()
						level = l
						title.Reset()
						secs = append(secs, section{id: string(v), level: l})
						break
					}
					if !more {
						break
					}
				}
			}
			if string(name) == "pre" && hasAttr && mermaidPre(z) {
				diagram = true
			}
			if blockTag(name) {
				all.WriteByte(' ')
				cur.WriteByte(' ')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if string(name) == "pre" {
				diagram = false
			}
			if level > 0 && headingLevel(name) == level {
				t := collapse(title.String())
				secs[len(secs)-1].title = t
				toc = append(toc, Heading{Level: level, ID: secs[len(secs)-1].id, Title: t})
				level = 0
			}
			if blockTag(name) {
				all.WriteByte(' ')
				cur.WriteByte(' ')
			}
		case html.TextToken:
			if diagram {
				continue
			}
			t := z.Text()
			all.Write(t)
			if level > 0 {
				title.Write(t)
			} else {
				cur.Write(t)
			}
		}
	}
}

// blockTag reports whether a tag separates words.
func blockTag(name []byte) bool {
	switch string(name) {
	case "p", "li", "div", "pre", "td", "th", "tr", "br", "dt", "dd", "blockquote", "summary", "details",
		"table", "ul", "ol", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "caption", "img":
		return true
	}
	return false
}

func headingLevel(name []byte) int {
	if len(name) == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6' {
		return int(name[1] - '0')
	}
	return 0
}

// collapse joins a text's words with single spaces.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// mermaidPre says whether the <pre> start tag z is at holds a diagram.
func mermaidPre(z *html.Tokenizer) bool {
	for {
		k, v, more := z.TagAttr()
		if string(k) == "class" && slices.Contains(strings.Fields(string(v)), "mermaid") {
			return true
		}
		if !more {
			return false
		}
	}
}
