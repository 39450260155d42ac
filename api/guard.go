package api

import (
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// browserGuard keeps web pages in the user's browser from driving the API
// (in every mode, rigger dev's guest included):
//   - the Host header must be a loopback name (127.0.0.1, localhost, [::1],
//     any port) or server.baseUrl's host: a DNS-rebinding page's own host
//     name is refused (421);
//   - a state-changing request (POST, PUT, PATCH, DELETE) with an Origin
//     header must come from the server's own origin or server.baseUrl's (403);
//   - a state-changing request with a body must say it is JSON (415): a
//     page can send text/plain or a form to any origin without asking.
//
// Probes (/healthz, /readyz) skip the Host check: orchestrators send the
// pod's address.
func (s *Server) browserGuard() gin.HandlerFunc {
	baseHost := ""
	if u, err := url.Parse(s.deps.BaseURL); err == nil && u.Host != "" {
		baseHost = strings.ToLower(u.Hostname())
	}
	return func(c *gin.Context) {
		r := c.Request
		probe := r.URL.Path == "/healthz" || r.URL.Path == "/readyz"
		host := hostName(r.Host)
		if !probe && !loopbackName(host) && (baseHost == "" || host != baseHost) {
			writeStatus(c, http.StatusMisdirectedRequest, "MisdirectedRequestError",
				"host "+quoteHost(r.Host)+" is not served here: use 127.0.0.1, localhost or the host of server.baseUrl")
			c.Abort()
			return
		}
		if !stateChanging(r.Method) {
			c.Next()
			return
		}
		if oauthEndpoint(r) {
			// OAuth clients call these from any origin, with forms, and
			// without cookies (each handler checks its own input).
			c.Next()
			return
		}
		if origin, ok := r.Header["Origin"]; ok && !s.codecRequest(r) {
			if o := strings.Join(origin, ","); !s.ownOrigin(r, o) {
				writeStatus(c, http.StatusForbidden, "NotAllowedError",
					"cross-origin requests that change state are refused (origin "+quoteHost(strings.ToLower(o))+"); call the API from its own origin or server.baseUrl")
				c.Abort()
				return
			}
		}
		ct := r.Header.Get("Content-Type")
		if (ct != "" || r.ContentLength != 0) && !isJSON(ct) && !s.gitRequest(r) && !s.consentForm(r, ct) {
			writeStatus(c, http.StatusUnsupportedMediaType, "UnsupportedMediaTypeError",
				"a request that changes state must send Content-Type: application/json (got "+quoteHost(ct)+")")
			c.Abort()
			return
		}
		c.Next()
	}
}

// ownOrigin says whether origin is the request's own origin or
// server.baseUrl's.
func (s *Server) ownOrigin(r *http.Request, origin string) bool {
	o := strings.ToLower(origin)
	if o == "" {
		return false
	}
	if o == strings.ToLower(requestScheme(r)+"://"+r.Host) {
		return true
	}
	u, err := url.Parse(s.deps.BaseURL)
	return err == nil && u.Host != "" && o == strings.ToLower(u.Scheme+"://"+u.Host)
}

// hostName is the lower-cased host of a Host header, without port or
// IPv6 brackets.
func hostName(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
}

func loopbackName(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")))
}

// quoteHost quotes a header value for a message, bounded.
func quoteHost(v string) string {
	if len(v) > 100 {
		v = v[:100] + "…"
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return '?'
		}
		return r
	}, v) + `"`
}

// gitRequest is a git client's POST to rigger dev's git host: it carries
// git's own content types, and a push authorizes with a token the host
// minted, never a cookie, so no page can forge one.
// consentForm: the MCP consent page's form (same origin, checked above;
// CSRF token checked by oauthConsent).
func (s *Server) consentForm(r *http.Request, ct string) bool {
	return r.URL.Path == oauthConsentPath && strings.HasPrefix(ct, "application/x-www-form-urlencoded") && s.mcpOAuthOn()
}

func (s *Server) gitRequest(r *http.Request) bool {
	return s.deps.Dev && s.deps.GitHost != nil && strings.HasPrefix(r.URL.Path, "/git/")
}
