package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
)

// TokenDeps serve /api/auth: rigger's access tokens, sessions and the
// service tokens admins create. Each nil member turns its routes off.
type TokenDeps struct {
	// Issuer signs access tokens; it serves the JWKS and discovery.
	Issuer *auth.Issuer
	// Sessions exchange refresh tokens for access tokens.
	Sessions *auth.Sessions
	// Stored are the service tokens kept in the database.
	Stored *auth.StoredTokens
	// Admins are permission.admins: user and group refs allowed to manage
	// tokens besides callers holding the admin scope.
	Admins []string
	// LiveAdmins, when set, gives permission.admins of this moment (a
	// configuration reload changes them) and wins over Admins.
	LiveAdmins func() []string
	// SecureCookies marks the refresh cookie Secure. It always is outside
	// dev (Deps.Dev), whatever this says.
	SecureCookies bool
}

// RefreshCookie holds a browser's refresh token.
const RefreshCookie = "rigger_refresh"

// maxAuthBody bounds the unauthenticated /api/auth bodies.
const maxAuthBody = 4 << 10

// tokenRoutes registers /api/auth: discovery, refresh and logout on the
// public group (they authenticate by their own means, rate-limited per
// address), whoami and token management on the authenticated group.
func (s *Server) tokenRoutes(public, api *gin.RouterGroup) {
	d := s.deps.Tokens
	if d.Issuer != nil {
		public.GET("/.well-known/jwks.json", s.jwks)
		public.GET("/.well-known/openid-configuration", s.openIDConfiguration)
		if d.Sessions != nil {
			public.POST("/refresh", s.refresh)
			public.POST("/logout", s.logout)
		}
	}
	api.GET("/auth/whoami", s.whoami)
	if d.Issuer != nil {
		api.POST("/auth/revocations", s.userLimits.limit("revoking tokens"), s.revokeAccess)
	}
	if d.Stored != nil {
		g := api.Group("/auth/tokens", s.requireTokenAdmin, s.userLimits.limit("managing service tokens"))
		g.POST("", s.createToken)
		g.GET("", s.listTokens)
		g.DELETE("/:id", s.revokeToken)
	}
}

func (s *Server) jwks(c *gin.Context) {
	set, err := s.deps.Tokens.Issuer.JWKS(c.Request.Context())
	if err != nil {
		s.deps.Logger.Error("jwks", "error", err)
		writeError(c, errInternal)
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", set)
}

func (s *Server) openIDConfiguration(c *gin.Context) {
	iss := s.deps.Tokens.Issuer.URL()
	c.Header("Cache-Control", "public, max-age=300")
	m := gin.H{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/api/auth/.well-known/jwks.json",
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"subject_types_supported":               []string{"public"},
		"response_types_supported":              []string{"token"},
		"claims_supported":                      []string{"iss", "aud", "sub", "ent", "iat", "exp", "jti"},
	}
	if s.mcpOAuthOn() { // the OAuth endpoints of MCP clients, as in RFC 8414's metadata
		for k, v := range s.oauthMetadata() {
			m[k] = v
		}
		m["response_types_supported"] = []string{"token", "code"}
	}
	c.JSON(http.StatusOK, m)
}

// refreshToken is the caller's refresh token: the JSON body's
// refreshToken, else the rigger_refresh cookie.
func refreshToken(c *gin.Context) (tok string, fromCookie bool, err error) {
	var body struct {
		RefreshToken string `json:"refreshToken"`
	}
	if c.Request.ContentLength != 0 {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxAuthBody)
		if err := json.NewDecoder(c.Request.Body).Decode(&body); err != nil {
			return "", false, errs.Invalid("the body must be JSON {\"refreshToken\": \"rgs_...\"} of at most %d bytes", maxAuthBody)
		}
	}
	if body.RefreshToken != "" {
		return body.RefreshToken, false, nil
	}
	if ck, err := c.Cookie(RefreshCookie); err == nil && ck != "" {
		return ck, true, nil
	}
	return "", false, errs.Unauthenticated("no refresh token: send {\"refreshToken\": ...} or the %s cookie", RefreshCookie)
}

func (s *Server) setRefreshCookie(c *gin.Context, tok string, expires time.Time) {
	maxAge := int(time.Until(expires).Seconds())
	if tok == "" {
		maxAge = -1
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: RefreshCookie, Value: tok, Path: "/api/auth", MaxAge: maxAge,
		HttpOnly: true, Secure: s.deps.Tokens.SecureCookies || !s.deps.Dev, SameSite: http.SameSiteStrictMode})
}

// refresh serves POST /api/auth/refresh: a new access token and a new
// refresh token (in the body, or the cookie when it came in one); the old
// refresh token stops working.
func (s *Server) refresh(c *gin.Context) {
	tok, fromCookie, err := refreshToken(c)
	if err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	// Per user besides per address: one person's clients (or a stolen
	// session replayed from many addresses) cannot refresh without bound.
	if user := s.deps.Tokens.Sessions.UserOf(ctx, tok); user != "" {
		if ok, wait := s.userLimits.take("user:" + user); !ok {
			tooMany(c, "refreshing is rate limited per user", wait)
			return
		}
	}
	id, next, sessionExp, err := s.deps.Tokens.Sessions.Refresh(ctx, tok)
	if err != nil {
		if errors.Is(err, errs.ErrUnauthenticated) {
			credentialRefused(c)
			if fromCookie { // spent or expired: the browser stops sending it
				s.setRefreshCookie(c, "", time.Time{})
			}
		}
		writeError(c, err)
		return
	}
	access, exp, err := s.deps.Tokens.Issuer.Issue(ctx, id)
	if err != nil {
		s.deps.Logger.Error("issue access token", "error", err)
		writeError(c, errInternal)
		return
	}
	c.Set(identityKey, id)
	resp := gin.H{"accessToken": access, "tokenType": "Bearer", "expiresAt": exp.UTC(), "sessionExpiresAt": sessionExp.UTC()}
	if fromCookie {
		s.setRefreshCookie(c, next, sessionExp)
	} else {
		resp["refreshToken"] = next
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, resp)
}

// logout serves POST /api/auth/logout: the sign-in's refresh tokens are
// revoked and the cookie cleared.
func (s *Server) logout(c *gin.Context) {
	tok, _, err := refreshToken(c)
	if err != nil {
		writeError(c, err)
		return
	}
	if err := s.deps.Tokens.Sessions.Revoke(c.Request.Context(), tok); err != nil {
		writeError(c, err)
		return
	}
	s.setRefreshCookie(c, "", time.Time{})
	s.audit(c, "auth.logout", "session", nil)
	c.Status(http.StatusNoContent)
}

// whoami serves GET /api/auth/whoami: who the bearer is, to any caller
// the server identifies (whatever its scopes).
func (s *Server) whoami(c *gin.Context) {
	id := identity(c)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"ref": id.Ref, "ent": id.Ent, "service": id.Service, "guest": id.Guest, "scopes": id.Scopes,
		"templates": id.Templates, "actions": id.Actions, "via": id.Via})
}

// admins are permission.admins as the API applies them now.
func (s *Server) admins() []string {
	if s.deps.Tokens.LiveAdmins != nil {
		return s.deps.Tokens.LiveAdmins()
	}
	return s.deps.Tokens.Admins
}

// isAdmin says whether user id is listed, or in a group listed, in admins
// (permission.admins).
func isAdmin(id auth.Identity, admins []string) bool {
	return slices.Contains(admins, id.Ref) || slices.ContainsFunc(id.Ent, func(e string) bool { return slices.Contains(admins, e) })
}

// requireTokenAdmin lets through callers with the admin (or *) scope and
// users listed, or in a group listed, in permission.admins. A simple
// check until the policy engine decides token.create|revoke.
func (s *Server) requireTokenAdmin(c *gin.Context) { s.requireAdmin("managing service tokens")(c) }

// requireAdmin is requireTokenAdmin for another task, what.
func (s *Server) requireAdmin(what string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := identity(c)
		ok := permission.HasScope(id.Scopes, permission.Admin) && !id.Guest
		if !ok && !id.Service && !id.Guest {
			ok = isAdmin(id, s.admins())
		}
		if !ok {
			writeError(c, errs.Forbidden("%s needs the admin scope or membership of permission.admins", what))
			c.Abort()
			return
		}
		c.Next()
	}
}

// createToken serves POST /api/auth/tokens {name, scopes, templates,
// actions, expiresIn: "720h"}: 201 with the token, shown this once.
func (s *Server) createToken(c *gin.Context) {
	var req struct {
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		Templates []string `json:"templates"`
		Actions   []string `json:"actions"`
		ExpiresIn string   `json:"expiresIn"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, errs.Invalid("the body must be JSON {name, scopes, templates, actions, expiresIn}: %v", err))
		return
	}
	spec := auth.TokenSpec{Name: req.Name, Scopes: req.Scopes, Templates: req.Templates, Actions: req.Actions}
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil {
			writeError(c, errs.Invalid("expiresIn %q is not a duration such as 720h", req.ExpiresIn))
			return
		}
		spec.ExpiresIn = d
	}
	tok, info, err := s.deps.Tokens.Stored.Create(c.Request.Context(), spec, identity(c).Ref)
	if err != nil {
		writeTokenError(c, s, err)
		return
	}
	s.audit(c, "token.create", "token:"+info.Name, map[string]string{"id": info.ID})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, struct {
		Token string `json:"token"`
		auth.TokenInfo
	}{tok, info})
}

func (s *Server) listTokens(c *gin.Context) {
	list, err := s.deps.Tokens.Stored.List(c.Request.Context())
	if err != nil {
		writeTokenError(c, s, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": list})
}

// revokeToken serves DELETE /api/auth/tokens/:id (an id or a name).
func (s *Server) revokeToken(c *gin.Context) {
	info, err := s.deps.Tokens.Stored.Revoke(c.Request.Context(), c.Param("id"))
	if err != nil {
		writeTokenError(c, s, err)
		return
	}
	s.audit(c, "token.revoke", "token:"+info.Name, map[string]string{"id": info.ID})
	c.JSON(http.StatusOK, info)
}

// revokeAccess serves POST /api/auth/revocations: {"user": REF} ends
// every session and access token of a user (an admin, or the user
// signing out everywhere); {"tokenId": JTI} ends one access token, e.g.
// a break-glass one (an admin). Both need token.revoke (or the admin
// scope, or permission.admins); other replicas refuse the tokens within
// the revocation window (auth.DefaultRevocationWindow).
func (s *Server) revokeAccess(c *gin.Context) {
	var req struct {
		User    string `json:"user"`
		TokenID string `json:"tokenId"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || (req.User == "") == (req.TokenID == "") {
		writeError(c, errs.Invalid(`the body must be JSON {"user": "user:default/name"} or {"tokenId": "..."}`))
		return
	}
	if req.User != "" {
		// Tokens name their user by the canonical ref: "alice" or
		// "user:default/Alice" must revoke them, not match nothing.
		ref, err := catalog.ParseRef(req.User, "user", catalog.DefaultNamespace)
		if err != nil || !strings.EqualFold(ref.Kind, "user") {
			writeError(c, errs.Invalid("user: %q is not a user ref (like user:default/alice)", req.User))
			return
		}
		req.User = ref.String()
	}
	id := identity(c)
	self := req.User != "" && strings.EqualFold(req.User, id.Ref) && !id.Service && !id.Guest
	if !self && !s.mayRevoke(id) {
		writeError(c, errs.Forbidden("revoking another user's sessions or an access token needs %s: admins (permission.admins) or whom the permission policy allows it", permission.TokenRevoke))
		return
	}
	ctx := c.Request.Context()
	iss := s.deps.Tokens.Issuer
	if req.TokenID != "" {
		if err := iss.RevokeToken(ctx, req.TokenID); err != nil {
			writeTokenError(c, s, err)
			return
		}
		s.audit(c, "token.revoke", "access-token:"+req.TokenID, nil)
		c.JSON(http.StatusOK, gin.H{"tokenId": req.TokenID})
		return
	}
	n, err := iss.RevokeUser(ctx, req.User)
	if err != nil {
		writeTokenError(c, s, err)
		return
	}
	s.audit(c, "token.revoke", req.User, map[string]string{"sessions": strconv.Itoa(n), "scope": "all-sessions"})
	c.JSON(http.StatusOK, gin.H{"user": req.User, "sessions": n})
}

// mayRevoke: the admin scope (a service token, the break-glass token),
// else what the policy says of token.revoke (permission.admins when no
// policy is loaded).
func (s *Server) mayRevoke(id auth.Identity) bool {
	switch {
	case id.Guest:
		return false
	case permission.HasScope(id.Scopes, permission.Admin):
		return true
	case id.Service:
		return false
	}
	allowed, policy := s.catalog.MaySystem(id, permission.TokenRevoke, "tokens")
	return allowed || (!policy && isAdmin(id, s.admins()))
}

// writeTokenError answers categorised errors as they are and logs others.
func writeTokenError(c *gin.Context, s *Server, err error) {
	if status, _ := classify(err); status == http.StatusInternalServerError {
		s.deps.Logger.Error("service tokens", "error", err)
	}
	writeError(c, err)
}
