package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// MCP clients act as the person who connected them: rigger is their
// OAuth 2.1 authorization server (MCP authorization, 2025-06-18): the
// protected-resource metadata of /api/mcp (RFC 9728), the authorization
// server's metadata (RFC 8414), dynamic client registration (RFC 7591),
// the authorization code grant with PKCE S256 behind the person's consent,
// rotating refresh tokens and revocation (RFC 7009). The tokens are
// rigger's own (internal/auth/mcp.go): audience <baseUrl>/api/mcp,
// accepted on /api/mcp only.

// MCPOAuthStore keeps registered clients and authorization codes.
type MCPOAuthStore = store.OAuthStore

// MCPOAuthDeps configure the authorization server for MCP clients. Its
// routes are served when Store is set and so are Tokens.Issuer,
// Tokens.Sessions and SignIn (the person signs in to consent).
type MCPOAuthDeps struct {
	Store MCPOAuthStore
	// Registration is mcp.registration: "open" (default) lets clients
	// register themselves (redirect URIs limited by AllowedRedirectURIs),
	// "off" keeps to Clients.
	Registration string
	// AllowedRedirectURIs are mcp.allowedRedirectUris: patterns a
	// registered redirect URI must match (see redirectAllowed); default
	// DefaultMCPRedirectURIs (loopback only, RFC 8252).
	AllowedRedirectURIs []string
	// Clients are mcp.clients, pre-registered.
	Clients []store.OAuthClient
	// AllowWrite is mcp.allowWrite: without it a grant is mcp:read only.
	AllowWrite bool
	// TokenTTL of MCP access tokens [auth.DefaultMCPTokenTTL].
	TokenTTL time.Duration
	// MaxClients bounds the registered clients [1000]. Clients that never
	// redeemed a code expire a day after they registered, and one address
	// (one IPv6 /64) may hold only a few of them.
	MaxClients int
	// Now is the clock of codes and registrations [time.Now].
	Now func() time.Time
}

func (s *Server) oauthNow() time.Time {
	if s.deps.MCPOAuth.Now != nil {
		return s.deps.MCPOAuth.Now().UTC()
	}
	return time.Now().UTC()
}

// DefaultMCPRedirectURIs are the loopback redirect URIs of native apps.
var DefaultMCPRedirectURIs = []string{"http://127.0.0.1:*/*", "http://localhost:*/*", "http://[::1]:*/*"}

const (
	oauthCodeTTL      = 60 * time.Second
	oauthRequestTTL   = 10 * time.Minute
	oauthCSRFCookie   = "rigger_oauth_csrf"
	oauthCookiePath   = "/api/auth/oauth"
	oauthConsentPath  = "/api/auth/oauth/consent"
	purposeOAuthReq   = "MCP authorization request"
	oauthCodePrefix   = "rgc_"
	defaultMaxClients = 1000
	maxOAuthBody      = 8 << 10
	// Registrations per address: a burst of regBurst, then one every
	// regInterval.
	regBurst    = 5
	regInterval = 20 * time.Second
	// A registered client that never redeemed a code expires after
	// unusedClientTTL; until then one address holds at most
	// unusedPerAddress of them, one network (IPv6 /64) unusedPerNetwork.
	unusedClientTTL  = 24 * time.Hour
	unusedPerAddress = 10
	unusedPerNetwork = 25
	// oauthConsentDelay is how long after the consent page was shown an
	// Allow is taken: a click that lands sooner was aimed at another page
	// (double-click-jacking: the page swapped in under the second click).
	oauthConsentDelay = time.Second
)

// oauthRequest is the sealed authorization request the consent form
// carries back.
type oauthRequest struct {
	Client      string   `json:"c"`
	RedirectURI string   `json:"r"`
	State       string   `json:"s,omitempty"`
	Challenge   string   `json:"cc"`
	Scopes      []string `json:"sc"`
	CSRF        string   `json:"x"`
	// Return is the authorization URL, to come back to after sign-in.
	Return string `json:"u"`
	// Shown is when the consent page was rendered (Unix milliseconds,
	// the server's clock).
	Shown int64 `json:"t"`
}

// mcpOAuthOn says whether the authorization server is served.
func (s *Server) mcpOAuthOn() bool {
	d := s.deps
	return d.MCPOAuth.Store != nil && d.Tokens.Issuer != nil && d.Tokens.Sessions != nil && d.SignIn.Sealer != nil && len(d.SignIn.Providers) > 0
}

func (s *Server) mcpOAuthRoutes(e *gin.Engine, public, api *gin.RouterGroup) {
	if s.deps.Tokens.Issuer != nil {
		e.GET("/.well-known/oauth-protected-resource", s.protectedResourceMetadata)
		e.GET("/.well-known/oauth-protected-resource"+auth.MCPPath, s.protectedResourceMetadata)
	}
	if s.deps.MCPOAuth.Store != nil {
		g := api.Group("/auth/oauth/clients", s.requireAdmin("managing OAuth clients"), s.userLimits.limit("managing OAuth clients"))
		g.GET("", s.listOAuthClients)
		g.DELETE("/:id", s.deleteOAuthClient)
	}
	if !s.mcpOAuthOn() {
		return
	}
	e.GET("/.well-known/oauth-authorization-server", s.authorizationServerMetadata)
	limit := s.authLimits.limitPeer("OAuth requests")
	e.GET("/oauth/authorize", limit, s.oauthAuthorize)
	public.POST("/oauth/consent", s.oauthConsent)
	e.POST("/oauth/token", limit, s.oauthToken)
	e.POST("/oauth/revoke", limit, s.oauthRevoke)
	if s.deps.MCPOAuth.Registration != "off" {
		reg := newRateLimiter(regBurst, regInterval).limitBy("registering OAuth clients", "address (IPv6: per /64)",
			func(c *gin.Context) string { return "net:" + addrNetwork(clientIP(c)) })
		e.POST("/oauth/register", reg, s.oauthRegister)
	}
}

// addrNetwork is the network an address registers from: an IPv4 address
// itself, an IPv6 address's /64 (one host usually holds a whole /64).
func addrNetwork(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

// OAuthClientInfo is a client as GET /api/auth/oauth/clients lists it
// (and rigger token oauth-client list reads it).
type OAuthClientInfo struct {
	ID           string     `json:"clientId"`
	Name         string     `json:"name"`
	RedirectURIs []string   `json:"redirectUris"`
	Configured   bool       `json:"configured"`
	Created      *time.Time `json:"created,omitempty"`
	LastUsed     *time.Time `json:"lastUsed,omitempty"`
	From         string     `json:"registeredFrom,omitempty"`
	Network      string     `json:"registeredNetwork,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// listOAuthClients serves GET /api/auth/oauth/clients (admins): the
// clients of mcp.clients, then the registered ones, oldest first.
func (s *Server) listOAuthClients(c *gin.Context) {
	cls, err := s.deps.MCPOAuth.Store.OAuthClients(c.Request.Context())
	if err != nil {
		s.deps.Logger.Error("list oauth clients", "error", err)
		writeError(c, errInternal)
		return
	}
	items := make([]OAuthClientInfo, 0, len(s.deps.MCPOAuth.Clients)+len(cls))
	for _, x := range s.deps.MCPOAuth.Clients {
		items = append(items, OAuthClientInfo{ID: x.ID, Name: x.Name, RedirectURIs: x.RedirectURIs, Configured: true})
	}
	for _, x := range cls {
		items = append(items, OAuthClientInfo{ID: x.ID, Name: x.Name, RedirectURIs: x.RedirectURIs, Created: timePtr(x.Created),
			LastUsed: timePtr(x.LastUsed), From: x.From, Network: x.Net})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"items": items})
}

// deleteOAuthClient serves DELETE /api/auth/oauth/clients/:id (admins):
// the registered client goes, and its grants and codes with it.
func (s *Server) deleteOAuthClient(c *gin.Context) {
	id := c.Param("id")
	if s.configuredClient(id) {
		writeError(c, errs.Conflict("OAuth client %q is configured (rigger.yaml mcp.clients): remove it there", id))
		return
	}
	cl, grants, err := s.deps.MCPOAuth.Store.DeleteOAuthClient(c.Request.Context(), id, s.oauthNow())
	if errors.Is(err, errs.ErrNotFound) {
		writeError(c, errs.NotFound("no OAuth client %q is registered", clip(id, 128)))
		return
	}
	if err != nil {
		s.deps.Logger.Error("delete oauth client", "error", err)
		writeError(c, errInternal)
		return
	}
	if s.deps.Tokens.Issuer != nil {
		s.deps.Tokens.Issuer.SessionRevoked()
	}
	s.audit(c, "mcp.oauth.client.delete", "oauth-client:"+cl.ID, map[string]string{"name": clip(cl.Name, 100), "grantsRevoked": strconv.Itoa(grants)})
	c.JSON(http.StatusOK, gin.H{"clientId": cl.ID, "name": cl.Name, "grantsRevoked": grants})
}

// oauthEndpoint says whether r is one of the token, revocation and
// registration endpoints: clients call them from any origin and send
// forms (browserGuard lets them through; they use no cookie).
func oauthEndpoint(r *http.Request) bool {
	switch r.URL.Path {
	case "/oauth/token", "/oauth/revoke", "/oauth/register":
		return true
	}
	return false
}

func (s *Server) baseURL() string { return strings.TrimRight(s.deps.BaseURL, "/") }

func (s *Server) resourceMetadataURL() string {
	return s.baseURL() + "/.well-known/oauth-protected-resource" + auth.MCPPath
}

func (s *Server) protectedResourceMetadata(c *gin.Context) {
	iss := s.deps.Tokens.Issuer
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, gin.H{
		"resource":                 iss.MCPResource(),
		"authorization_servers":    []string{iss.URL()},
		"scopes_supported":         []string{auth.ScopeMCPRead, auth.ScopeMCPWrite},
		"bearer_methods_supported": []string{"header"},
		"resource_name":            "Rigger MCP endpoint",
	})
}

// oauthMetadata is what the authorization server's metadata and the
// OpenID configuration say of the OAuth endpoints.
func (s *Server) oauthMetadata() gin.H {
	b := s.baseURL()
	m := gin.H{
		"authorization_endpoint":                         b + "/oauth/authorize",
		"token_endpoint":                                 b + "/oauth/token",
		"revocation_endpoint":                            b + "/oauth/revoke",
		"code_challenge_methods_supported":               []string{"S256"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_methods_supported":          []string{"none"},
		"revocation_endpoint_auth_methods_supported":     []string{"none"},
		"scopes_supported":                               []string{auth.ScopeMCPRead, auth.ScopeMCPWrite},
		"authorization_response_iss_parameter_supported": true,
	}
	if s.deps.MCPOAuth.Registration != "off" {
		m["registration_endpoint"] = b + "/oauth/register"
	}
	return m
}

func (s *Server) authorizationServerMetadata(c *gin.Context) {
	iss := s.deps.Tokens.Issuer.URL()
	m := s.oauthMetadata()
	m["issuer"] = iss
	m["jwks_uri"] = iss + "/api/auth/.well-known/jwks.json"
	m["response_types_supported"] = []string{"code"}
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, m)
}

// mcpUnauthorized answers a request to /api/mcp that brought no usable
// credential: 401 with the challenge that sends an MCP client to the
// protected-resource metadata (RFC 9728 section 5.1), and
// error="invalid_token" when a token was presented and refused.
func (s *Server) mcpUnauthorized(c *gin.Context, err error) {
	s.setMCPChallenge(c)
	if err == nil || !errors.Is(err, errs.ErrUnauthenticated) {
		err = errs.Unauthenticated("sign in: /api/mcp needs a bearer token (OAuth 2.1, see %s)", s.resourceMetadataURL())
	}
	writeError(c, err)
	c.Abort()
}

// setMCPChallenge sets the WWW-Authenticate header of a 401 from
// /api/mcp (mcpUnauthorized).
func (s *Server) setMCPChallenge(c *gin.Context) {
	h := `Bearer resource_metadata="` + s.resourceMetadataURL() + `"`
	if c.GetHeader("Authorization") != "" {
		h += `, error="invalid_token"`
	}
	c.Header("WWW-Authenticate", h)
}

// oauthClient finds a client: mcp.clients first, then the registered.
func (s *Server) oauthClient(ctx context.Context, id string) (store.OAuthClient, error) {
	if i := slices.IndexFunc(s.deps.MCPOAuth.Clients, func(x store.OAuthClient) bool { return x.ID == id }); i >= 0 {
		return s.deps.MCPOAuth.Clients[i], nil
	}
	if id == "" || len(id) > 128 {
		return store.OAuthClient{}, errs.NotFound("no OAuth client %q is registered", clip(id, 128))
	}
	return s.deps.MCPOAuth.Store.OAuthClientByID(ctx, id)
}

// configuredClient says whether id is one of mcp.clients.
func (s *Server) configuredClient(id string) bool {
	return slices.ContainsFunc(s.deps.MCPOAuth.Clients, func(x store.OAuthClient) bool { return x.ID == id })
}

// allowedRedirects are mcp.allowedRedirectUris or their default.
func (s *Server) allowedRedirects() []string {
	if p := s.deps.MCPOAuth.AllowedRedirectURIs; len(p) > 0 {
		return p
	}
	return DefaultMCPRedirectURIs
}

// checkRedirectURI says what is wrong with a redirect URI a client
// registers: it must be absolute, without fragment, query or user info,
// its path normalised (no "." or ".." segment, no empty segment, no
// percent-encoded slash, dot, backslash or percent sign), and match one
// of patterns (scheme and host exactly; port "*" any; a path ending in
// "*" any path with that prefix, else the same path).
func checkRedirectURI(raw string, patterns []string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("redirect URI %q is not an absolute URL", clip(raw, 200))
	}
	if u.Fragment != "" || strings.Contains(raw, "#") || u.User != nil {
		return fmt.Errorf("redirect URI %q must have no fragment and no user info", clip(raw, 200))
	}
	if u.RawQuery != "" || strings.Contains(raw, "?") {
		return fmt.Errorf("redirect URI %q must have no query string", clip(raw, 200))
	}
	if err := checkRedirectPath(u.EscapedPath()); err != nil {
		return fmt.Errorf("redirect URI %q: %w", clip(raw, 200), err)
	}
	for _, p := range patterns {
		if redirectMatches(u, p) {
			return nil
		}
	}
	return fmt.Errorf("redirect URI %q matches none of mcp.allowedRedirectUris (%s)", clip(raw, 200), strings.Join(patterns, ", "))
}

// checkRedirectPath refuses a path a browser or the client might read
// otherwise than its text says: one path.Clean would change (dot
// segments, empty segments) or with an encoded slash, dot, backslash or
// percent sign.
func checkRedirectPath(p string) error {
	if p == "" {
		return nil
	}
	lower := strings.ToLower(p)
	// %25 too: "%252e" is a dot to a server that decodes twice.
	for _, enc := range []string{"%2f", "%2e", "%5c", "%25"} {
		if strings.Contains(lower, enc) {
			return fmt.Errorf("the path must not percent-encode a slash, dot, backslash or percent sign (%s)", enc)
		}
	}
	if strings.Contains(p, `\`) {
		return errors.New("the path must not contain a backslash")
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p {
		return fmt.Errorf("the path must be normalised (no \".\" or \"..\" segment, no \"//\"): %s is not %s", clip(p, 100), clip(clean, 100))
	}
	return nil
}

func redirectMatches(u *url.URL, pattern string) bool {
	scheme, rest, ok := strings.Cut(pattern, "://")
	if !ok || !strings.EqualFold(scheme, u.Scheme) {
		return false
	}
	hostport, path := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostport, path = rest[:i], rest[i:]
	}
	host, port := hostport, ""
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	}
	if !strings.EqualFold(strings.Trim(host, "[]"), u.Hostname()) {
		return false
	}
	if port != "*" && port != u.Port() {
		return false
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if prefix, wild := strings.CutSuffix(path, "*"); wild {
		return strings.HasPrefix(p, prefix)
	}
	return p == path
}

// redirectRegistered: the redirect URI of an authorization request must be
// one the client registered, exactly; on a loopback IP any port (RFC
// 8252 section 7.3: a native app takes a free port each time).
func redirectRegistered(raw string, registered []string) bool {
	if slices.Contains(registered, raw) {
		return true
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "::1") {
		return false
	}
	for _, r := range registered {
		ru, err := url.Parse(r)
		if err != nil || ru.Scheme != "http" || ru.Hostname() != u.Hostname() {
			continue
		}
		ru.Host, ru.Scheme = u.Host, u.Scheme
		if ru.String() == raw {
			return true
		}
	}
	return false
}

// oauthErrorPage answers an authorization request that cannot be sent
// back to the client (unknown client, bad redirect URI): never redirect
// then, or rigger would be an open redirector.
func oauthErrorPage(c *gin.Context, status int, msg string) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	_ = oauthPages.ExecuteTemplate(c.Writer, "error", msg)
}

// redirectOAuth sends the browser back to the client's redirect URI with
// params, its state and rigger's issuer (RFC 9207).
func (s *Server) redirectOAuth(c *gin.Context, redirectURI, state string, params url.Values) {
	u, _ := url.Parse(redirectURI) // checked against the registered ones
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", s.deps.Tokens.Issuer.URL())
	u.RawQuery = q.Encode()
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, u.String())
}

func oauthErrorParams(code, desc string) url.Values {
	return url.Values{"error": {code}, "error_description": {desc}}
}

// grantScopes are the scopes an authorization request gets: mcp:read
// unless it asked for mcp:write and mcp.allowWrite is set.
func (s *Server) grantScopes(scope string) ([]string, error) {
	out := []string{auth.ScopeMCPRead}
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case auth.ScopeMCPRead:
		case auth.ScopeMCPWrite:
			if s.deps.MCPOAuth.AllowWrite {
				out = []string{auth.ScopeMCPRead, auth.ScopeMCPWrite}
			}
		default:
			return nil, fmt.Errorf("unknown scope %q (this server has %s and %s)", clip(sc, 64), auth.ScopeMCPRead, auth.ScopeMCPWrite)
		}
	}
	return out, nil
}

func validPKCE(v string) bool {
	return len(v) >= 43 && len(v) <= 128 && strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") == ""
}

// oauthAuthorize serves GET /oauth/authorize: it checks the request and
// shows the consent page; the person's click (oauthConsent) issues the
// code.
func (s *Server) oauthAuthorize(c *gin.Context) {
	q := c.Request.URL.Query()
	ctx := c.Request.Context()
	cl, err := s.oauthClient(ctx, q.Get("client_id"))
	if err != nil {
		oauthErrorPage(c, http.StatusBadRequest, "Unknown client: "+clip(q.Get("client_id"), 128)+". The application must register first.")
		return
	}
	ru := q.Get("redirect_uri")
	if ru == "" || !redirectRegistered(ru, cl.RedirectURIs) {
		oauthErrorPage(c, http.StatusBadRequest, "The redirect_uri "+clip(ru, 200)+" is not one client "+cl.ID+" registered.")
		return
	}
	if err := checkRedirectURI(ru, s.allowedRedirects()); err != nil && !s.configuredClient(cl.ID) {
		oauthErrorPage(c, http.StatusBadRequest, err.Error())
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) { s.redirectOAuth(c, ru, state, oauthErrorParams(code, desc)) }
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
		return
	case q.Get("code_challenge") == "":
		fail("invalid_request", "PKCE is required: send code_challenge and code_challenge_method=S256")
		return
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256 (plain is not accepted)")
		return
	case len(q.Get("code_challenge")) != 43 || !validPKCE(q.Get("code_challenge")):
		fail("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier (43 characters)")
		return
	// resource may be left out: RFC 8707 makes it optional, and MCP
	// (2025-06-18) puts sending it on clients, which older ones do not.
	// Every token this server issues a client is for its one MCP
	// endpoint (audience <baseUrl>/api/mcp) either way; another resource
	// is refused.
	case q.Has("resource") && q.Get("resource") != s.deps.Tokens.Issuer.MCPResource():
		fail("invalid_target", "resource must be "+s.deps.Tokens.Issuer.MCPResource())
		return
	}
	scopes, err := s.grantScopes(q.Get("scope"))
	if err != nil {
		fail("invalid_scope", err.Error())
		return
	}
	csrf := randomToken(24)
	req := oauthRequest{Client: cl.ID, RedirectURI: ru, State: state, Challenge: q.Get("code_challenge"), Scopes: scopes, CSRF: csrf,
		Return: c.Request.URL.RequestURI(), Shown: s.oauthNow().UnixMilli()}
	sealed, err := s.deps.SignIn.Sealer.Seal(purposeOAuthReq, req, oauthRequestTTL)
	if err != nil {
		writeError(c, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: oauthCSRFCookie, Value: csrf, Path: oauthCookiePath, MaxAge: int(oauthRequestTTL.Seconds()),
		HttpOnly: true, Secure: !s.deps.Dev, SameSite: http.SameSiteStrictMode})
	host := ru
	if u, err := url.Parse(ru); err == nil {
		host = u.Host
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Header("X-Frame-Options", "DENY")
	c.Header("Content-Security-Policy", "frame-ancestors 'none'")
	c.Status(http.StatusOK)
	_ = oauthPages.ExecuteTemplate(c.Writer, "consent", gin.H{"Name": cl.Name, "ID": cl.ID, "Host": host, "Configured": s.configuredClient(cl.ID),
		"Write": slices.Contains(scopes, auth.ScopeMCPWrite), "Action": oauthConsentPath, "Request": sealed, "CSRF": csrf})
}

// oauthConsent serves POST /api/auth/oauth/consent, the consent form: on
// allow, a signed-in person's click, an authorization code goes to the
// client. The refresh cookie (Path /api/auth, SameSite Strict) says who
// clicked; without a session the person signs in and comes back.
func (s *Server) oauthConsent(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxOAuthBody)
	if err := c.Request.ParseForm(); err != nil {
		oauthErrorPage(c, http.StatusBadRequest, "The consent form could not be read.")
		return
	}
	var req oauthRequest
	if err := s.deps.SignIn.Sealer.Open(purposeOAuthReq, c.Request.PostForm.Get("request"), &req); err != nil {
		oauthErrorPage(c, http.StatusBadRequest, "This authorization request is invalid or expired: start again from the application.")
		return
	}
	ck, _ := c.Cookie(oauthCSRFCookie)
	form := c.Request.PostForm.Get("csrf")
	if ck == "" || form == "" || subtle.ConstantTimeCompare([]byte(ck), []byte(form)) != 1 || subtle.ConstantTimeCompare([]byte(form), []byte(req.CSRF)) != 1 {
		e := s.auditEvent(c, "mcp.oauth.consent", "oauth-client:"+req.Client, map[string]string{"reason": "csrf"})
		e.Decision, e.Reason = audit.Deny, "the consent form's CSRF token is missing or does not match"
		s.recorder().Record(context.WithoutCancel(c.Request.Context()), e)
		oauthErrorPage(c, http.StatusForbidden, "The consent form's CSRF token is missing or does not match this browser: open the application's authorization link again.")
		return
	}
	ctx := c.Request.Context()
	var id auth.Identity
	if rt, err := c.Cookie(RefreshCookie); err == nil && rt != "" {
		id, err = s.deps.Tokens.Sessions.Peek(ctx, rt)
		if err != nil {
			id = auth.Identity{}
		}
	}
	if id.Ref == "" {
		s.oauthSignIn(c, req.Return)
		return
	}
	c.Set(identityKey, id)
	details := map[string]string{"client": req.Client, "scopes": strings.Join(req.Scopes, " ")}
	allow := c.Request.PostForm.Get("decision") == "allow"
	if allow && s.oauthNow().Before(time.UnixMilli(req.Shown).Add(oauthConsentDelay)) {
		e := s.auditEvent(c, "mcp.oauth.consent", "oauth-client:"+req.Client, map[string]string{"client": req.Client, "reason": "too-soon"})
		e.Decision, e.Reason = audit.Deny, "Allow arrived less than a second after the consent page was shown"
		s.recorder().Record(context.WithoutCancel(ctx), e)
		oauthErrorPage(c, http.StatusBadRequest, "Allow was clicked less than a second after this page appeared, so it was not taken (a click meant for another page can land here): go back, read the request, and click Allow again.")
		return
	}
	// The decision spends the form: this browser's CSRF cookie goes, so
	// the same consent cannot be posted again to mint more codes.
	http.SetCookie(c.Writer, &http.Cookie{Name: oauthCSRFCookie, Value: "", Path: oauthCookiePath, MaxAge: -1,
		HttpOnly: true, Secure: !s.deps.Dev, SameSite: http.SameSiteStrictMode})
	if !allow {
		e := s.auditEvent(c, "mcp.oauth.consent", "oauth-client:"+req.Client, details)
		e.Decision, e.Reason = audit.Deny, "the person denied the client access"
		s.recorder().Record(context.WithoutCancel(ctx), e)
		s.redirectOAuth(c, req.RedirectURI, req.State, oauthErrorParams("access_denied", "the person denied access"))
		return
	}
	code := oauthCodePrefix + randomToken(32)
	now := s.oauthNow()
	err := s.deps.MCPOAuth.Store.CreateOAuthCode(ctx, store.OAuthCode{Hash: hashOAuthCode(code), Client: req.Client, RedirectURI: req.RedirectURI,
		Challenge: req.Challenge, UserRef: id.Ref, Ent: id.Ent, Scopes: req.Scopes, Expires: now.Add(oauthCodeTTL)}, now)
	if err != nil {
		s.deps.Logger.Error("store oauth code", "error", err)
		writeError(c, errInternal)
		return
	}
	s.audit(c, "mcp.oauth.consent", "oauth-client:"+req.Client, details)
	s.redirectOAuth(c, req.RedirectURI, req.State, url.Values{"code": {code}})
}

// oauthSignIn sends a person without a session to sign in, then back to
// the authorization URL (ret): straight to the one provider, else to a
// page listing them.
func (s *Server) oauthSignIn(c *gin.Context, ret string) {
	names := make([]string, 0, len(s.deps.SignIn.Providers))
	for n := range s.deps.SignIn.Providers {
		names = append(names, n)
	}
	slices.Sort(names)
	links := make([]string, len(names))
	for i, n := range names {
		links[i] = "/api/auth/" + url.PathEscape(n) + "/start?redirect=" + url.QueryEscape(safeReturn(ret))
	}
	if len(links) == 1 {
		c.Redirect(http.StatusSeeOther, links[0])
		return
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	_ = oauthPages.ExecuteTemplate(c.Writer, "signin", struct{ Names, Links []string }{names, links})
}

func hashOAuthCode(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

func randomToken(n int) string { return auth.RandomToken(n) }

// oauthFail answers a token, revocation or registration error as RFC 6749
// section 5.2 says: JSON {error, error_description}, 400 (401 for
// invalid_client).
func oauthFail(c *gin.Context, code, desc string) {
	status := http.StatusBadRequest
	if code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	_ = c.Error(errors.New(desc)) // the reason of an audited denial
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(status, gin.H{"error": code, "error_description": desc})
}

// oauthForm reads a form body of a token or revocation request and the
// client id (public clients: client_id in the body, or HTTP Basic with
// an empty secret).
func oauthForm(c *gin.Context) (url.Values, string, bool) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxOAuthBody)
	if !strings.HasPrefix(c.GetHeader("Content-Type"), "application/x-www-form-urlencoded") {
		oauthFail(c, "invalid_request", "send the parameters as application/x-www-form-urlencoded")
		return nil, "", false
	}
	if err := c.Request.ParseForm(); err != nil {
		oauthFail(c, "invalid_request", fmt.Sprintf("the form could not be read (at most %d bytes)", maxOAuthBody))
		return nil, "", false
	}
	f := c.Request.PostForm
	client := f.Get("client_id")
	if u, p, ok := c.Request.BasicAuth(); ok {
		if p != "" {
			oauthFail(c, "invalid_client", "this server's MCP clients are public: send no client secret")
			return nil, "", false
		}
		if client != "" && client != u {
			oauthFail(c, "invalid_request", "client_id differs between the body and the Authorization header")
			return nil, "", false
		}
		client = u
	}
	if client == "" {
		oauthFail(c, "invalid_client", "client_id is required")
		return nil, "", false
	}
	return f, client, true
}

// oauthToken serves POST /oauth/token: authorization_code (PKCE) and
// refresh_token grants for MCP clients.
func (s *Server) oauthToken(c *gin.Context) {
	f, client, ok := oauthForm(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if _, err := s.oauthClient(ctx, client); err != nil {
		credentialRefused(c)
		oauthFail(c, "invalid_client", "unknown client_id "+strconv.Quote(clip(client, 128)))
		return
	}
	if r := f.Get("resource"); r != "" && r != s.deps.Tokens.Issuer.MCPResource() {
		oauthFail(c, "invalid_target", "resource must be "+s.deps.Tokens.Issuer.MCPResource())
		return
	}
	var id auth.Identity
	var refresh string
	action := "mcp.oauth.token.issue"
	switch f.Get("grant_type") {
	case "authorization_code":
		var fail string
		id, refresh, fail = s.redeemOAuthCode(ctx, f, client)
		if fail != "" {
			credentialRefused(c)
			oauthFail(c, "invalid_grant", fail)
			return
		}
	case "refresh_token":
		tok := f.Get("refresh_token")
		if user := s.deps.Tokens.Sessions.UserOf(ctx, tok); user != "" {
			if ok, wait := s.userLimits.take("user:" + user); !ok {
				tooMany(c, "refreshing is rate limited per user", wait)
				return
			}
		}
		var err error
		id, refresh, _, err = s.deps.Tokens.Sessions.RefreshFor(ctx, tok, client)
		if errors.Is(err, errs.ErrUnauthenticated) {
			credentialRefused(c)
			oauthFail(c, "invalid_grant", err.Error())
			return
		}
		if err != nil {
			s.deps.Logger.Error("refresh mcp grant", "error", err)
			oauthFail(c, "server_error", "the grant could not be refreshed")
			return
		}
		action = "mcp.oauth.token.refresh"
	case "":
		oauthFail(c, "invalid_request", "grant_type is required")
		return
	default:
		oauthFail(c, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
		return
	}
	ttl := s.deps.MCPOAuth.TokenTTL
	if ttl == 0 {
		ttl = auth.DefaultMCPTokenTTL
	}
	access, exp, err := s.deps.Tokens.Issuer.IssueTTL(ctx, id, ttl)
	if err != nil {
		s.deps.Logger.Error("issue mcp access token", "error", err)
		oauthFail(c, "server_error", "no access token could be issued")
		return
	}
	c.Set(identityKey, id)
	s.audit(c, action, "oauth-client:"+client, map[string]string{"client": client, "scopes": strings.Join(id.MCPScopes, " "), "session": id.Session})
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusOK, gin.H{"access_token": access, "token_type": "Bearer", "expires_in": int(time.Until(exp).Seconds()),
		"refresh_token": refresh, "scope": strings.Join(id.MCPScopes, " ")})
}

// redeemOAuthCode checks an authorization code grant and starts the
// client's grant; fail says why it was refused (invalid_grant). The code
// is spent by its first presentation, right or wrong; a second one
// revokes what the first issued.
func (s *Server) redeemOAuthCode(ctx context.Context, f url.Values, client string) (auth.Identity, string, string) {
	code, verifier := f.Get("code"), f.Get("code_verifier")
	if !strings.HasPrefix(code, oauthCodePrefix) || len(code) > 128 {
		return auth.Identity{}, "", "code is missing or not an authorization code of this server"
	}
	if verifier == "" {
		return auth.Identity{}, "", "code_verifier is required (PKCE)"
	}
	family := auth.NewGrantFamily()
	rec, err := s.deps.MCPOAuth.Store.RedeemOAuthCode(ctx, hashOAuthCode(code), s.oauthNow(), family)
	switch {
	case errors.Is(err, errs.ErrConflict):
		if rec.Family != "" {
			if err := s.deps.Tokens.Sessions.RevokeFamily(ctx, rec.Family); err != nil {
				s.deps.Logger.Error("revoke the grant of a reused code", "error", err)
			}
		}
		return auth.Identity{}, "", "the authorization code was already used; the tokens issued for it are revoked"
	case errors.Is(err, errs.ErrNotFound):
		return auth.Identity{}, "", "unknown authorization code"
	case err != nil:
		s.deps.Logger.Error("redeem oauth code", "error", err)
		return auth.Identity{}, "", "the authorization code could not be checked"
	}
	sum := sha256.Sum256([]byte(verifier))
	switch {
	case !s.oauthNow().Before(rec.Expires):
		return auth.Identity{}, "", "the authorization code expired (codes last 60 seconds)"
	case rec.Client != client:
		return auth.Identity{}, "", "the authorization code was issued to another client"
	case rec.RedirectURI != f.Get("redirect_uri"):
		return auth.Identity{}, "", "redirect_uri differs from the authorization request's"
	case !validPKCE(verifier) || subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(rec.Challenge)) != 1:
		return auth.Identity{}, "", "code_verifier does not match the code_challenge (PKCE S256)"
	}
	id := auth.Identity{Ref: rec.UserRef, Ent: rec.Ent, Channel: auth.ChannelMCP, Via: auth.ViaMCPOAuth, Client: client, MCPScopes: rec.Scopes, Session: family}
	refresh, _, err := s.deps.Tokens.Sessions.CreateGrant(ctx, id, client, rec.Scopes, family)
	if err != nil {
		s.deps.Logger.Error("start mcp grant", "error", err)
		return auth.Identity{}, "", "the grant could not be started"
	}
	return id, refresh, ""
}

// oauthRevoke serves POST /oauth/revoke (RFC 7009): a refresh token ends
// its grant, an access token itself. Unknown tokens, and tokens of other
// clients (left alone), are answered 200 too, as the RFC says.
func (s *Server) oauthRevoke(c *gin.Context) {
	f, client, ok := oauthForm(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	tok := f.Get("token")
	if tok == "" {
		oauthFail(c, "invalid_request", "token is required")
		return
	}
	revoked := ""
	if strings.HasPrefix(tok, auth.RefreshPrefix) {
		if err := s.deps.Tokens.Sessions.RevokeFor(ctx, tok, client); err == nil {
			revoked = "grant"
		} else if !errors.Is(err, errs.ErrNotFound) {
			s.deps.Logger.Error("revoke mcp grant", "error", err)
			oauthFail(c, "server_error", "the token could not be revoked")
			return
		}
	} else if id, err := s.deps.Tokens.Issuer.VerifyMCP(ctx, tok); err == nil && id.Client == client {
		if err := s.deps.Tokens.Issuer.RevokeToken(ctx, id.TokenID); err != nil {
			s.deps.Logger.Error("revoke mcp access token", "error", err)
			oauthFail(c, "server_error", "the token could not be revoked")
			return
		}
		revoked = "access-token"
	}
	if revoked != "" {
		s.audit(c, "mcp.oauth.token.revoke", "oauth-client:"+client, map[string]string{"client": client, "kind": revoked})
	}
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
}

// oauthRegister serves POST /oauth/register (RFC 7591) for public
// clients whose redirect URIs mcp.allowedRedirectUris allow.
func (s *Server) oauthRegister(c *gin.Context) {
	var req struct {
		RedirectURIs            []string `json:"redirect_uris"`
		ClientName              string   `json:"client_name"`
		TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
		GrantTypes              []string `json:"grant_types"`
		ResponseTypes           []string `json:"response_types"`
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxOAuthBody)
	if err := json.NewDecoder(c.Request.Body).Decode(&req); err != nil {
		oauthFail(c, "invalid_client_metadata", fmt.Sprintf("the body must be JSON client metadata of at most %d bytes", maxOAuthBody))
		return
	}
	switch {
	case len(req.RedirectURIs) == 0 || len(req.RedirectURIs) > 5:
		oauthFail(c, "invalid_redirect_uri", "redirect_uris must list 1 to 5 URIs")
		return
	case req.TokenEndpointAuthMethod != "" && req.TokenEndpointAuthMethod != "none":
		oauthFail(c, "invalid_client_metadata", "token_endpoint_auth_method must be none: this server registers public clients (PKCE) only")
		return
	case slices.ContainsFunc(req.GrantTypes, func(g string) bool { return g != "authorization_code" && g != "refresh_token" }):
		oauthFail(c, "invalid_client_metadata", "grant_types may be authorization_code and refresh_token only")
		return
	case slices.ContainsFunc(req.ResponseTypes, func(r string) bool { return r != "code" }):
		oauthFail(c, "invalid_client_metadata", "response_types may be code only")
		return
	case len(req.ClientName) > 100 || strings.ContainsFunc(req.ClientName, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		oauthFail(c, "invalid_client_metadata", "client_name must be at most 100 printable characters")
		return
	}
	for _, ru := range req.RedirectURIs {
		if err := checkRedirectURI(ru, s.allowedRedirects()); err != nil {
			oauthFail(c, "invalid_redirect_uri", err.Error())
			return
		}
	}
	name := req.ClientName
	if name == "" {
		name = "unnamed MCP client"
	}
	lim := store.OAuthClientLimits{Max: s.deps.MCPOAuth.MaxClients, PerAddress: unusedPerAddress, PerNetwork: unusedPerNetwork, UnusedTTL: unusedClientTTL}
	if lim.Max == 0 {
		lim.Max = defaultMaxClients
	}
	from := clientIP(c)
	cl := store.OAuthClient{ID: "mcp_" + randomToken(16), Name: name, RedirectURIs: req.RedirectURIs, Created: s.oauthNow(), From: from, Net: addrNetwork(from)}
	if err := s.deps.MCPOAuth.Store.CreateOAuthClient(c.Request.Context(), cl, lim); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			oauthFail(c, "invalid_client_metadata", "registration is closed for now: "+err.Error())
			return
		}
		s.deps.Logger.Error("register oauth client", "error", err)
		oauthFail(c, "server_error", "the client could not be registered")
		return
	}
	s.audit(c, "mcp.oauth.client.register", "oauth-client:"+cl.ID, map[string]string{"name": clip(name, 100), "redirectUris": strings.Join(req.RedirectURIs, " ")})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, gin.H{"client_id": cl.ID, "client_id_issued_at": cl.Created.Unix(), "client_name": name,
		"redirect_uris": cl.RedirectURIs, "grant_types": []string{"authorization_code", "refresh_token"},
		"response_types": []string{"code"}, "token_endpoint_auth_method": "none"})
}
