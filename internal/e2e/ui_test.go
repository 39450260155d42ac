package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestUIServedByBinary: the binary `make build` makes serves its embedded
// UI the way browsers need it: index.html at / and at deep links
// (revalidated), every asset index.html names with a year-long immutable
// cache, its media type and a precompressed body when accepted; a missing
// asset and an unknown /api route are JSON 404s.
func TestUIServedByBinary(t *testing.T) {
	needBinary(t)
	p := startDev(t, t.TempDir(), freePorts(t))
	needBuiltUI(t, p.api)
	// No transparent gzip: the test reads what the server sends.
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(method, path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, p.api+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}

	resp, index := get("GET", "/")
	if resp.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("GET /: headers %v", resp.Header)
	}
	for _, deep := range []string{"/catalog/default/component/x", "/create/templates/default/foo", "/tasks/abc"} {
		if resp, body := get("GET", deep); resp.StatusCode != http.StatusOK || !bytes.Equal(body, index) {
			t.Errorf("GET %s: status %d, not index.html", deep, resp.StatusCode)
		}
	}

	assets := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+\.(js|css))"`).FindAllStringSubmatch(string(index), -1)
	if len(assets) < 2 {
		t.Fatalf("index.html names %d assets, want a script and a stylesheet:\n%s", len(assets), index)
	}
	types := map[string]string{"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
	for _, a := range assets {
		path, ext := a[1], a[2]
		t.Run(path, func(t *testing.T) {
			resp, plain := get("GET", path)
			if resp.StatusCode != http.StatusOK || len(plain) == 0 {
				t.Fatalf("status %d, %d bytes", resp.StatusCode, len(plain))
			}
			h := resp.Header
			if h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("Content-Type") != types[ext] ||
				h.Get("Vary") != "Accept-Encoding" || h.Get("Content-Encoding") != "" {
				t.Errorf("identity: headers %v", h)
			}
			if len(plain) < 512 {
				return // the build compresses only larger files
			}
			resp, br := get("GET", path, "Accept-Encoding", "gzip, deflate, br")
			if resp.Header.Get("Content-Encoding") != "br" || len(br) == 0 || len(br) >= len(plain) || resp.Header.Get("Content-Length") != strconv.Itoa(len(br)) {
				t.Errorf("br: Content-Encoding %q, %d of %d bytes, Content-Length %q", resp.Header.Get("Content-Encoding"), len(br), len(plain), resp.Header.Get("Content-Length"))
			}
			resp, gz := get("GET", path, "Accept-Encoding", "gzip")
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(bytes.NewReader(gz))
			if err != nil {
				t.Fatal(err)
			}
			if unz, err := io.ReadAll(zr); err != nil || !bytes.Equal(unz, plain) {
				t.Errorf("gzip body does not decompress to the file (%v)", err)
			}
			if resp, _ := get("GET", path, "Accept-Encoding", "gzip", "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match: status %d, want 304", resp.StatusCode)
			}
			if resp, body := get("HEAD", path, "Accept-Encoding", "br"); resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Content-Encoding") != "br" {
				t.Errorf("HEAD: status %d, %d body bytes, headers %v", resp.StatusCode, len(body), resp.Header)
			}
		})
	}

	for _, path := range []string{"/assets/index-00000000.js", "/api/no-such-route"} {
		resp, body := get("GET", path)
		var e struct {
			Error struct{ Name string } `json:"error"`
		}
		if resp.StatusCode != http.StatusNotFound || json.Unmarshal(body, &e) != nil || e.Error.Name != "NotFoundError" {
			t.Errorf("GET %s: status %d, body %.200s; want a JSON 404", path, resp.StatusCode, body)
		}
	}
}
