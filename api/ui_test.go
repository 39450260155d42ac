package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/riggerdev/rigger/internal/auth"
)

const (
	testIndex  = `<!doctype html><html><head><title>Rigger</title><script type="module" src="/assets/app-abc123.js"></script></head><body><div id="root"></div></body></html>`
	testJS     = `console.log("the app");` + "\n"
	testCSS    = `body { color: black }`
	testSecret = "SECRET-OUTSIDE-THE-UI"
)

// testUI is a built UI as web.Dist() gives it: the sub-tree dist/ of a
// larger FS, whose secret.txt beside dist/ must never be reachable.
func testUI(t *testing.T) fs.FS {
	t.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write([]byte(testJS)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	root := fstest.MapFS{
		"secret.txt":                   {Data: []byte(testSecret)},
		"dist/.keep":                   {Data: []byte("keep")},
		"dist/index.html":              {Data: []byte(testIndex)},
		"dist/favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"dist/assets/app-abc123.js":    {Data: []byte(testJS)},
		"dist/assets/app-abc123.js.gz": {Data: gz.Bytes()},
		// Not real brotli: the test only checks these bytes are the ones sent.
		"dist/assets/app-abc123.js.br": {Data: []byte("BROTLI-BYTES")},
		"dist/assets/app-abc123.css":   {Data: []byte(testCSS)},
	}
	sub, err := fs.Sub(root, "dist")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func uiServer(t *testing.T, ui fs.FS) http.Handler {
	t.Helper()
	return New(Deps{Logger: discardLogger(), Auth: auth.NewServiceTokens(nil), UI: ui}).Handler()
}

// uiGet sends method path with the given request headers (name, value pairs).
func uiGet(h http.Handler, method, target string, headers ...string) *httptest.ResponseRecorder {
	req := loopbackRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// wantJSONError checks an answer is the API's JSON error with status and name.
func wantJSONError(t *testing.T, w *httptest.ResponseRecorder, status int, name string) {
	t.Helper()
	var e errorBody
	if w.Code != status || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, type %q, want %d JSON; body %.300s", w.Code, w.Header().Get("Content-Type"), status, w.Body.String())
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Name != name || e.Error.Message == "" {
		t.Fatalf("body %s: want a JSON error named %s (%v)", w.Body.String(), name, err)
	}
}

// TestUIIndexAtDeepLinks: the root and every deep link outside the API get
// index.html, revalidated on each use, with the security headers.
func TestUIIndexAtDeepLinks(t *testing.T) {
	h := uiServer(t, testUI(t))
	for _, p := range []string{
		"/", "/index.html", "/catalog", "/catalog/default/component/x",
		"/catalog/default/component/name.with.dots", "/create/templates/default/foo",
		"/tasks/0b6f7a9e-1c2d?after=3", "/apis", "/api-docs", "/healthzz", "/.keep",
	} {
		t.Run(p, func(t *testing.T) {
			w := uiGet(h, "GET", p)
			if w.Code != http.StatusOK || w.Body.String() != testIndex {
				t.Fatalf("status %d, body %.200q; want index.html", w.Code, w.Body.String())
			}
			hd := w.Header()
			if hd.Get("Content-Type") != "text/html; charset=utf-8" || hd.Get("Cache-Control") != "no-cache" || hd.Get("ETag") == "" {
				t.Errorf("headers %v", hd)
			}
			if !strings.Contains(hd.Get("Content-Security-Policy"), "script-src 'self'") || hd.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("security headers missing: %v", hd)
			}
		})
	}
	t.Run("HEAD", func(t *testing.T) {
		w := uiGet(h, "HEAD", "/catalog/default/component/x")
		if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(testIndex)) {
			t.Fatalf("HEAD: status %d, length %q, body %d bytes", w.Code, w.Header().Get("Content-Length"), w.Body.Len())
		}
	})
	t.Run("Revalidate", func(t *testing.T) {
		tag := uiGet(h, "GET", "/").Header().Get("ETag")
		if w := uiGet(h, "GET", "/catalog", "If-None-Match", tag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Fatalf("If-None-Match %s: status %d", tag, w.Code)
		}
	})
	t.Run("TopLevelFile", func(t *testing.T) {
		w := uiGet(h, "GET", "/favicon.svg")
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/svg+xml" || w.Header().Get("Cache-Control") != "no-cache" {
			t.Fatalf("favicon: status %d, headers %v", w.Code, w.Header())
		}
	})
}

// TestUIAssets: hashed assets are cached for a year, typed by extension,
// and sent precompressed as the client's Accept-Encoding prefers.
func TestUIAssets(t *testing.T) {
	h := uiServer(t, testUI(t))
	const js = "/assets/app-abc123.js"
	cases := []struct {
		accept, want string // want: the Content-Encoding, "" for the file as it is
	}{
		{"", ""},
		{"gzip", "gzip"},
		{"gzip, deflate", "gzip"},
		{"x-gzip", "gzip"},
		{"gzip, br", "br"},
		{"br", "br"},
		{"BR", "br"},
		{"br;q=0.5, gzip", "gzip"},
		{"br;q=0.5, gzip;q=0.4", "br"},
		{"br;q=0, gzip;q=0", ""},
		{"br;q=0", ""},
		{"*", "br"},
		{"gzip;q=0.8, *;q=0.1", "gzip"},
		{"*;q=0, identity", ""},
		{"identity;q=0, gzip", "gzip"},
		{"br;q=banana, gzip", "gzip"},
		{"br;q=2, gzip", "gzip"},
		{"deflate", ""},
	}
	for _, c := range cases {
		t.Run("Accept-Encoding "+c.accept, func(t *testing.T) {
			w := uiGet(h, "GET", js, "Accept-Encoding", c.accept)
			hd := w.Header()
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			if hd.Get("Cache-Control") != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q", hd.Get("Cache-Control"))
			}
			if hd.Get("Content-Type") != "text/javascript; charset=utf-8" {
				t.Errorf("Content-Type %q", hd.Get("Content-Type"))
			}
			if hd.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary %q", hd.Get("Vary"))
			}
			if hd.Get("Content-Encoding") != c.want {
				t.Fatalf("Content-Encoding %q, want %q", hd.Get("Content-Encoding"), c.want)
			}
			switch c.want {
			case "":
				if w.Body.String() != testJS {
					t.Errorf("body %q, want the plain file", w.Body.String())
				}
			case "br":
				if w.Body.String() != "BROTLI-BYTES" {
					t.Errorf("body %q, want the .br file", w.Body.String())
				}
			case "gzip":
				zr, err := gzip.NewReader(w.Body)
				if err != nil {
					t.Fatal(err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil || string(plain) != testJS {
					t.Errorf("gunzipped body %q (%v), want the file", plain, err)
				}
			}
		})
	}
	t.Run("NoVariant", func(t *testing.T) {
		w := uiGet(h, "GET", "/assets/app-abc123.css", "Accept-Encoding", "br, gzip")
		if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "" || w.Body.String() != testCSS ||
			w.Header().Get("Content-Type") != "text/css; charset=utf-8" {
			t.Fatalf("css: status %d, headers %v, body %q", w.Code, w.Header(), w.Body.String())
		}
	})
	t.Run("ETagPerEncoding", func(t *testing.T) {
		plain := uiGet(h, "GET", js).Header().Get("ETag")
		br := uiGet(h, "GET", js, "Accept-Encoding", "br").Header().Get("ETag")
		if plain == "" || br == "" || plain == br {
			t.Fatalf("ETags plain %q, br %q: want two different ones", plain, br)
		}
		if w := uiGet(h, "GET", js, "Accept-Encoding", "br", "If-None-Match", br); w.Code != http.StatusNotModified {
			t.Errorf("If-None-Match with the br ETag: status %d, want 304", w.Code)
		}
		if w := uiGet(h, "GET", js, "Accept-Encoding", "gzip", "If-None-Match", br); w.Code != http.StatusOK {
			t.Errorf("gzip with the br ETag: status %d, want 200", w.Code)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		w := uiGet(h, "HEAD", js, "Accept-Encoding", "br")
		if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len("BROTLI-BYTES")) || w.Header().Get("Content-Encoding") != "br" {
			t.Fatalf("HEAD: status %d, headers %v, %d body bytes", w.Code, w.Header(), w.Body.Len())
		}
	})
}

// TestUIMissingAsset: under /assets only files answer; anything else is a
// JSON 404, never index.html (nor a directory listing).
func TestUIMissingAsset(t *testing.T) {
	h := uiServer(t, testUI(t))
	for _, p := range []string{"/assets/app-old999.js", "/assets", "/assets/", "/assets/nested/x.css", "/assets/app-abc123.js/x"} {
		t.Run(p, func(t *testing.T) {
			w := uiGet(h, "GET", p)
			if strings.Contains(w.Body.String(), "root") {
				t.Fatalf("served index.html for a missing asset")
			}
			if p == "/assets/" && w.Code == http.StatusMovedPermanently {
				return // gin's trailing-slash redirect to /assets, itself a 404
			}
			wantJSONError(t, w, http.StatusNotFound, "NotFoundError")
		})
	}
}

// TestUIKeepsAPIErrors: the API's paths, the probes' and the well-known
// URIs keep their JSON 404; so do methods other than GET and HEAD.
func TestUIKeepsAPIErrors(t *testing.T) {
	h := uiServer(t, testUI(t))
	for _, c := range []struct{ method, path string }{
		{"GET", "/api"}, {"GET", "/api/"}, {"GET", "/api/nothing-here"}, {"GET", "/api/catalog/entities"},
		{"HEAD", "/api/nothing-here"}, {"GET", "/healthz/x"}, {"GET", "/readyz/x"},
		{"GET", "/.well-known/openid-configuration"}, {"GET", "/.well-known/x/y"},
		{"POST", "/catalog"}, {"DELETE", "/"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			w := uiGet(h, c.method, c.path)
			if c.path == "/api/" && w.Code == http.StatusMovedPermanently {
				return // gin's trailing-slash redirect to /api, itself a 404
			}
			if c.method == "HEAD" {
				if w.Code != http.StatusNotFound || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
					t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
				}
				return
			}
			wantJSONError(t, w, http.StatusNotFound, "NotFoundError")
			if !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("no CSP on the error")
			}
		})
	}
}

// TestUITraversal: a path that climbs with "..", however spelt (raw,
// percent-encoded, behind backslashes), is refused before any file is
// opened; nothing outside the UI's root is ever sent.
func TestUITraversal(t *testing.T) {
	h := uiServer(t, testUI(t))
	for _, p := range []string{
		"/../secret.txt",
		"/assets/../../secret.txt",
		"/assets/../index.html",
		"/%2e%2e/secret.txt",
		"/assets/%2e%2e/%2e%2e/secret.txt",
		"/assets/%2E%2E/%2E%2E/secret.txt",
		"/assets/..%2fsecret.txt",
		"/assets/..%2f..%2fsecret.txt",
		"/assets/..%5c..%5csecret.txt",
		"/assets%5c..%5c..%5csecret.txt",
		"/assets/./app-abc123.js",
		"/catalog/%00/x",
		"/..",
	} {
		t.Run(p, func(t *testing.T) {
			w := uiGet(h, "GET", p)
			if strings.Contains(w.Body.String(), testSecret) {
				t.Fatalf("sent the file outside the UI")
			}
			wantJSONError(t, w, http.StatusBadRequest, "InputError")
		})
	}
	t.Run("Backslash", func(t *testing.T) {
		req := loopbackRequest("GET", "/assets/x", nil)
		req.URL.Path = `/assets\..\..\secret.txt`
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		wantJSONError(t, w, http.StatusBadRequest, "InputError")
	})
}

// TestUINotBuilt: a binary without the built UI answers the root and deep
// links with a plain page that says how to build it; assets are 404s.
func TestUINotBuilt(t *testing.T) {
	for name, ui := range map[string]fs.FS{
		"nil":       nil,
		"only keep": fstest.MapFS{".keep": {Data: []byte("keep")}},
	} {
		t.Run(name, func(t *testing.T) {
			h := uiServer(t, ui)
			for _, p := range []string{"/", "/catalog/default/component/x", "/create"} {
				w := uiGet(h, "GET", p)
				body := w.Body.String()
				if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
					t.Fatalf("%s: status %d, type %q", p, w.Code, w.Header().Get("Content-Type"))
				}
				for _, want := range []string{"not built", "make build", "npm ci", "npm run build", "Node.js 20", "go build"} {
					if !strings.Contains(body, want) {
						t.Errorf("%s: page does not say %q:\n%s", p, want, body)
					}
				}
				// The CSP blocks inline scripts and styles: the page has none.
				for _, banned := range []string{"<script", "<style", "style="} {
					if strings.Contains(body, banned) {
						t.Errorf("%s: page contains %s", p, banned)
					}
				}
				if w.Header().Get("Cache-Control") != "no-cache" {
					t.Errorf("%s: Cache-Control %q", p, w.Header().Get("Cache-Control"))
				}
			}
			wantJSONError(t, uiGet(h, "GET", "/assets/app-abc123.js"), http.StatusNotFound, "NotFoundError")
			wantJSONError(t, uiGet(h, "GET", "/api/nothing"), http.StatusNotFound, "NotFoundError")
		})
	}
}

// FuzzUIName: whatever the path, a name uiName accepts stays inside the
// FS's root.
func FuzzUIName(f *testing.F) {
	for _, s := range []string{"/", "/assets/a.js", "/../x", "/a/../../b", `/a\b`, "/a/./b", "//a//b/", "/%2e%2e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, ok := uiName(p)
		if !ok {
			return
		}
		if name != "" && !fs.ValidPath(name) {
			t.Fatalf("uiName(%q) = %q, not a valid fs path", p, name)
		}
		if strings.Contains(name, "..") && path.Clean("/"+name) != "/"+name {
			t.Fatalf("uiName(%q) = %q climbs", p, name)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == ".." {
				t.Fatalf("uiName(%q) accepted a path with a .. segment", p)
			}
		}
	})
}

// FuzzChooseEncoding: the chosen encoding is always one the file has.
func FuzzChooseEncoding(f *testing.F) {
	for _, s := range []string{"", "gzip", "br;q=0.5, gzip", "*;q=0", "br;q=x", ";;,,q="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		for _, have := range [][]string{nil, {"gzip"}, {"br", "gzip"}} {
			got := chooseEncoding([]string{header}, have)
			if got != "" && !strings.Contains(","+strings.Join(have, ",")+",", ","+got+",") {
				t.Fatalf("chooseEncoding(%q, %v) = %q", header, have, got)
			}
		}
	})
}

// The app's page may compile JSON Schemas (rjsf's ajv8 validator needs
// 'unsafe-eval'); everything else keeps the strict policy, and no page may
// run inline script.
func TestUIDocumentPolicy(t *testing.T) {
	if !strings.Contains(uiDocumentPolicy, "script-src 'self' 'unsafe-eval';") || strings.Contains(uiDocumentPolicy, "unsafe-inline") {
		t.Fatalf("document policy: %s", uiDocumentPolicy)
	}
	if strings.Contains(contentSecurityPolicy, "unsafe-eval") {
		t.Fatalf("the API's policy must stay strict: %s", contentSecurityPolicy)
	}
}
