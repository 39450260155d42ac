package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// contentSecurityPolicy lets a page load scripts, styles, images and
// connections only from rigger's own origin: no inline script, no eval, no
// plugin, and no page may frame it.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries, API and UI
// alike: the CSP above, no MIME sniffing, no framing, no referrer leaving
// the site, an isolated browsing context, and HSTS when server.baseUrl is
// https. Sign-in and token responses must never be cached.
func (s *Server) securityHeaders() gin.HandlerFunc {
	hsts := strings.HasPrefix(strings.ToLower(s.deps.BaseURL), "https://")
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		if strings.HasPrefix(c.Request.URL.Path, "/api/auth/") {
			h.Set("Cache-Control", "no-store")
		}
		c.Next()
	}
}

// csrfGuard protects requests a browser authenticates by cookie (the
// session's refresh cookie): one that changes state must prove it comes
// from rigger's own pages, by an Origin header equal to the server's own
// origin or server.baseUrl's, or by Sec-Fetch-Site: same-origin. A
// missing Origin is not enough there (browserGuard lets it pass for
// cookie-less clients such as the CLI): a form or an old browser might not
// send one. Requests without cookies carry their credential in a header a
// foreign page cannot set, so they do not need this.
func (s *Server) csrfGuard() gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if !stateChanging(r.Method) || r.Header.Get("Cookie") == "" {
			c.Next()
			return
		}
		if r.Header.Get("Sec-Fetch-Site") == "same-origin" || s.ownOrigin(r, r.Header.Get("Origin")) {
			c.Next()
			return
		}
		writeStatus(c, http.StatusForbidden, "NotAllowedError",
			"a request that sends cookies and changes state must come from rigger's own pages (Origin or Sec-Fetch-Site: same-origin); this one did not")
		c.Abort()
	}
}

func stateChanging(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}
