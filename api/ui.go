package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/errs"
)

// The browser UI: every GET or HEAD that no route answers and that is not
// the API's (/api, /healthz, /readyz, /.well-known) gets a file of the
// built UI or, for a deep link such as /catalog/default/component/x, its
// index.html, which routes in the browser.
//
//   - assets/ holds content-hashed names: cached for a year, immutable; a
//     name that is not there is a 404, never index.html (a stale page
//     asking for a previous build's script must not get HTML back);
//   - index.html and the other top-level files revalidate on every use
//     (no-cache, with an ETag);
//   - a .br or .gz written beside a file by the build is sent instead
//     when the client accepts that encoding;
//   - a binary built without the UI answers with a page saying how to
//     build it.
//
// Paths are names in an fs.FS, which cannot leave its root; a path with a
// ".." or "." segment, a backslash or a NUL is refused before any lookup.

const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	uiIndex          = "index.html"
	uiAssets         = "assets"
	uiDefaultContent = "application/octet-stream"
)

// uiFiles serves the UI's files. The FS never changes while the server
// runs, so what is learnt about a file (its ETag) is kept.
type uiFiles struct {
	fsys fs.FS
	// etags maps a file name to its quoted ETag.
	etags sync.Map
}

// uiDocumentPolicy is the CSP of the app's page: the API's policy plus
// 'unsafe-eval', because the launch form's JSON Schema validator (rjsf's
// ajv8) compiles each schema into a function. Scripts still load only
// from rigger's own origin, so there is no inline script and nothing from
// elsewhere to evaluate; API responses keep the strict policy. Precompiled
// validators would let this go (a known follow-up).
var uiDocumentPolicy = strings.Replace(contentSecurityPolicy, "script-src 'self'", "script-src 'self' 'unsafe-eval'", 1)

func newUIFiles(fsys fs.FS) *uiFiles { return &uiFiles{fsys: fsys} }

// built says whether the UI's index.html is there.
func (u *uiFiles) built() bool {
	if u.fsys == nil {
		return false
	}
	st, err := fs.Stat(u.fsys, uiIndex)
	return err == nil && !st.IsDir()
}

// noRoute answers every request no route takes: the UI for GET and HEAD
// outside the API's paths, the JSON 404 otherwise.
func (s *Server) noRoute(c *gin.Context) {
	r := c.Request
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !uiPath(r.URL.Path) {
		writeError(c, notFoundRoute(c))
		return
	}
	s.ui.serve(c)
}

// uiPath says whether a path may be the UI's: the API, the probes and the
// well-known URIs keep their JSON errors.
func uiPath(p string) bool {
	for _, reserved := range []string{"/api", "/healthz", "/readyz", "/.well-known"} {
		if p == reserved || strings.HasPrefix(p, reserved+"/") {
			return false
		}
	}
	return true
}

func (u *uiFiles) serve(c *gin.Context) {
	name, ok := uiName(c.Request.URL.Path)
	if !ok {
		writeError(c, errs.Invalid("the path %s is not valid", quoteHost(c.Request.URL.Path)))
		return
	}
	if name == uiAssets || strings.HasPrefix(name, uiAssets+"/") {
		if !u.isFile(name) {
			writeError(c, errs.NotFound("no file %s in the web UI's assets", quoteHost(c.Request.URL.Path)))
			return
		}
		u.serveFile(c, name, cacheImmutable)
		return
	}
	if !u.built() {
		serveNotBuilt(c)
		return
	}
	if name == "" || !u.isFile(name) {
		name = uiIndex // a deep link: the app routes it in the browser
	}
	if name == uiIndex {
		c.Header("Content-Security-Policy", uiDocumentPolicy)
	}
	u.serveFile(c, name, cacheRevalidate)
}

// uiName turns a URL path into a name in the UI's FS ("" for the root);
// false for a path that tries to climb out or hides a separator.
func uiName(p string) (string, bool) {
	if strings.ContainsAny(p, "\\\x00") {
		return "", false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return "", false
		}
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if name != "" && !fs.ValidPath(name) {
		return "", false
	}
	return name, true
}

// isFile says whether name is a regular file of the UI that may be served:
// not a directory (no listings) and no dot-file (dist/.keep).
func (u *uiFiles) isFile(name string) bool {
	if u.fsys == nil || name == "" {
		return false
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return false
		}
	}
	st, err := fs.Stat(u.fsys, name)
	return err == nil && st.Mode().IsRegular()
}

// precompressed are the encodings the build writes beside a file (suffix
// by coding), by preference when a client accepts them equally.
func precompressed() [][2]string { return [][2]string{{"br", ".br"}, {"gzip", ".gz"}} }

func (u *uiFiles) serveFile(c *gin.Context, name, cacheControl string) {
	file, coding := name, ""
	var have []string
	suffix := map[string]string{}
	for _, p := range precompressed() {
		if u.isFile(name + p[1]) {
			have = append(have, p[0])
			suffix[p[0]] = p[1]
		}
	}
	if chosen := chooseEncoding(c.Request.Header.Values("Accept-Encoding"), have); chosen != "" {
		coding, file = chosen, name+suffix[chosen]
	}
	body, err := fs.ReadFile(u.fsys, file)
	if err != nil {
		writeError(c, errs.NotFound("no file %s in the web UI", quoteHost(c.Request.URL.Path)))
		return
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", cacheControl)
	h.Add("Vary", "Accept-Encoding")
	h.Set("Content-Type", contentType(name))
	if coding != "" {
		// http.ServeContent leaves the length of an encoded body unsaid and
		// would cut ranges of the encoded bytes: send it whole, with its length.
		h.Set("Content-Encoding", coding)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		c.Request.Header.Del("Range")
	}
	h.Set("ETag", u.etag(file, body))
	http.ServeContent(c.Writer, c.Request, name, time.Time{}, bytes.NewReader(body))
}

func (u *uiFiles) etag(file string, body []byte) string {
	if v, ok := u.etags.Load(file); ok {
		return v.(string)
	}
	sum := sha256.Sum256(body)
	tag := `"` + hex.EncodeToString(sum[:12]) + `"`
	u.etags.Store(file, tag)
	return tag
}

// contentType is the media type for a file name; the headers forbid
// sniffing, so an unknown extension is plain bytes.
func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return uiDefaultContent
}

// chooseEncoding picks the content coding to send from the Accept-Encoding
// header values: the one of have (in preference order) with the highest
// q-value above 0, or "" for the file as it is. An encoding the header
// does not name gets "*"'s q-value. The file as it is is the fallback,
// preferred only when "identity" (or "*") is given a higher q-value.
func chooseEncoding(header []string, have []string) string {
	q := map[string]float64{}
	for _, v := range header {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding == "" {
				continue
			}
			if coding == "x-gzip" {
				coding = "gzip"
			}
			weight, ok := qValue(params)
			if !ok {
				continue
			}
			q[coding] = weight
		}
	}
	weight := func(coding string) float64 {
		if w, ok := q[coding]; ok {
			return w
		}
		if w, ok := q["*"]; ok {
			return w
		}
		return 0
	}
	best, bestQ := "", weight("identity")
	for _, coding := range have {
		if w := weight(coding); w > 0 && (w > bestQ || w == bestQ && best == "") {
			best, bestQ = coding, w
		}
	}
	return best
}

// qValue reads "q=0.5" among an encoding's parameters; 1 without one,
// false for a malformed one.
func qValue(params string) (float64, bool) {
	for _, p := range strings.Split(params, ";") {
		k, v, found := strings.Cut(strings.TrimSpace(p), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || w < 0 || w > 1 {
			return 0, false
		}
		return w, true
	}
	return 1, true
}

// notBuiltPage is what a binary built without the UI shows in its place.
// The CSP forbids inline scripts and styles, so it is plain HTML.
const notBuiltPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rigger: the web UI is not built</title>
</head>
<body>
<main>
<h1>The web UI is not built into this rigger</h1>
<p><strong>This binary was built without the web UI</strong>, so there is no page to show here.
The API under <code>/api/</code> works as usual.</p>
<p>To build the UI into the binary (needs Node.js 20 or later), from the repository's root run</p>
<pre>make build</pre>
<p>or by hand</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build
cd .. &amp;&amp; go build -o bin/rigger ./cmd/rigger</pre>
<p>then start the new binary again.</p>
</main>
</body>
</html>
`

func serveNotBuilt(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", cacheRevalidate)
	h.Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(c.Writer, c.Request, uiIndex, time.Time{}, strings.NewReader(notBuiltPage))
}
