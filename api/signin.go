package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/errs"
)

// SignInDeps are browser and CLI sign-in through redirect providers (OIDC,
// GitHub). Without providers or a sealer, the sign-in routes are not
// served.
type SignInDeps struct {
	// Providers by name (the :provider of the routes).
	Providers map[string]auth.RedirectProvider
	// Resolve maps who a provider says signed in to a catalog user and its
	// ownership refs (a refusal names the claim it looked up).
	Resolve func(ctx context.Context, pid auth.ProviderIdentity) (auth.User, error)
	// Sealer seals the pending sign-in cookie and the CLI's grant.
	Sealer *auth.Sealer
	// UserTokens, when set, keep the GitHub OAuth token a user signed in
	// with (sealed), for templates that ask for the user's own
	// credentials.
	UserTokens *auth.UserTokens
}

// The pending sign-in cookie (state, nonce, PKCE verifier: ten minutes,
// sent back on the provider's top-level redirect, so SameSite Lax;
// HttpOnly, on /api/auth only, Secure outside dev). The session's refresh
// token goes to RefreshCookie (SameSite Strict).
const (
	signInCookie = "rigger_signin"
	signInTTL    = 10 * time.Minute
	cliGrantTTL  = 2 * time.Minute
)

// Sealing purposes.
const (
	purposeSignIn   = "pending sign-in"
	purposeCLIGrant = "CLI sign-in grant"
)

// signInState is the sealed content of the pending sign-in cookie.
type signInState struct {
	Pending auth.Pending `json:"p"`
	// Return is the page to go back to after a browser sign-in.
	Return string `json:"r,omitempty"`
	// CLIPort, CLIChallenge: a CLI sign-in (rigger login): the grant goes
	// to the CLI's loopback port (or is shown to paste, when the port is
	// 0), and only the holder of the challenge's verifier can redeem it.
	CLIPort      int    `json:"cp,omitempty"`
	CLIChallenge string `json:"cc,omitempty"`
}

// cliGrant is what the CLI redeems for its refresh token.
type cliGrant struct {
	Refresh   string `json:"rt"`
	Challenge string `json:"cc"`
	User      string `json:"u"`
}

// Per source address: a burst of authBurst sign-in, refresh and token
// requests, then one every authInterval.
const (
	authBurst    = 20
	authInterval = 3 * time.Second
	// Per user: refreshes and token management, a burst of
	// userAuthBurst then one every userAuthInterval.
	userAuthBurst    = 30
	userAuthInterval = 2 * time.Second
)

func (s *Server) signInRoutes(g *gin.RouterGroup) {
	d := s.deps.SignIn
	g.GET("/providers", s.listProviders)
	if len(d.Providers) == 0 || d.Sealer == nil || d.Resolve == nil || s.deps.Tokens.Sessions == nil {
		return
	}
	g.GET("/:provider/start", s.startSignIn)
	g.GET("/:provider/handler/frame", s.finishSignIn)
	g.POST("/cli/token", s.redeemCLIGrant)
}

func (s *Server) listProviders(c *gin.Context) {
	names := make([]string, 0, len(s.deps.SignIn.Providers))
	for n := range s.deps.SignIn.Providers {
		names = append(names, n)
	}
	slices.Sort(names)
	items := make([]gin.H, len(names))
	for i, n := range names {
		items[i] = gin.H{"id": n, "startUrl": "/api/auth/" + n + "/start"}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (s *Server) provider(c *gin.Context) (auth.RedirectProvider, error) {
	name := c.Param("provider")
	if p, ok := s.deps.SignIn.Providers[name]; ok {
		return p, nil
	}
	names := make([]string, 0, len(s.deps.SignIn.Providers))
	for n := range s.deps.SignIn.Providers {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, errs.NotFound("no sign-in provider named %s (configured: %s)", quoteHost(name), strings.Join(names, ", "))
}

// safeReturn keeps a post-sign-in redirect on rigger's own origin: a path,
// never a scheme, host or protocol-relative //host. No control character
// either: browsers drop tabs and newlines from a URL, so "/\t/host" is
// "//host" to them.
func safeReturn(r string) string {
	if r == "" || !strings.HasPrefix(r, "/") || strings.HasPrefix(r, "//") || strings.HasPrefix(r, `/\`) ||
		strings.ContainsFunc(r, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
		return "/"
	}
	return r
}

// startSignIn: GET /api/auth/:provider/start[?redirect=/page]
// [&cli_port=N|&cli_oob=1]&cli_challenge=C] sends the browser to the
// provider, holding state, nonce and PKCE verifier in a sealed cookie.
func (s *Server) startSignIn(c *gin.Context) {
	p, err := s.provider(c)
	if err != nil {
		writeError(c, err)
		return
	}
	st := signInState{Return: safeReturn(c.Query("redirect"))}
	if ch := c.Query("cli_challenge"); ch != "" {
		if len(ch) != 43 || strings.Trim(ch, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			writeError(c, errs.Invalid("cli_challenge must be the base64url SHA-256 of the CLI's verifier (43 characters)"))
			return
		}
		st.CLIChallenge = ch
		if port := c.Query("cli_port"); port != "" {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1024 || n > 65535 {
				writeError(c, errs.Invalid("cli_port must be a port between 1024 and 65535"))
				return
			}
			st.CLIPort = n
		} else if c.Query("cli_oob") == "" {
			writeError(c, errs.Invalid("a CLI sign-in needs cli_port (loopback redirect) or cli_oob=1 (code to paste)"))
			return
		}
	}
	authURL, pending, err := p.Begin(c.Request.Context(), s.callbackURL(c.Param("provider")))
	if err != nil {
		writeError(c, fmt.Errorf("start sign-in with %s: %w", c.Param("provider"), err))
		return
	}
	st.Pending = pending
	sealed, err := s.deps.SignIn.Sealer.Seal(purposeSignIn, st, signInTTL)
	if err != nil {
		writeError(c, err)
		return
	}
	s.setCookie(c, signInCookie, sealed, int(signInTTL.Seconds()), http.SameSiteLaxMode)
	c.Redirect(http.StatusFound, authURL)
}

func (s *Server) callbackURL(provider string) string {
	return strings.TrimRight(s.deps.BaseURL, "/") + "/api/auth/" + url.PathEscape(provider) + "/handler/frame"
}

func (s *Server) setCookie(c *gin.Context, name, value string, maxAge int, same http.SameSite) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/api/auth", MaxAge: maxAge,
		HttpOnly: true, Secure: !s.deps.Dev, SameSite: same})
}

// finishSignIn: the provider's redirect back. The pending cookie is
// cleared whatever happens (one attempt per start); the provider checks
// state, nonce and the code; the resolver finds the catalog user.
func (s *Server) finishSignIn(c *gin.Context) {
	s.setCookie(c, signInCookie, "", -1, http.SameSiteLaxMode)
	id, pid, st, err := s.signedIn(c)
	if err != nil {
		e := s.auditEvent(c, "auth.login.failed", "provider:"+c.Param("provider"), providerDetails(pid, nil))
		e.Decision, e.Reason = "deny", err.Error()
		s.recorder().Record(context.WithoutCancel(c.Request.Context()), e)
		writeError(c, err)
		return
	}
	c.Set(identityKey, id)
	refresh, expires, err := s.deps.Tokens.Sessions.Create(c.Request.Context(), id)
	if err != nil {
		writeError(c, fmt.Errorf("start a session: %w", err))
		return
	}
	if ut := s.deps.SignIn.UserTokens; ut != nil && pid.Provider == "github" && !pid.Token.Empty() {
		// Kept for requestUserCredentials; a failure only costs those
		// templates (they then say to sign in again).
		if err := ut.Save(c.Request.Context(), id.Ref, pid.Provider, pid.Token, auth.SplitScopes(pid.TokenScopes)); err != nil {
			s.deps.Logger.Warn("store the user's github token", "user", id.Ref, "error", credentials.ScrubError(err, pid.Token))
		}
	}
	s.audit(c, "auth.login", "provider:"+c.Param("provider"), providerDetails(pid, map[string]string{"cli": strconv.FormatBool(st.CLIChallenge != "")}))
	if st.CLIChallenge == "" {
		s.setRefreshCookie(c, refresh, expires)
		c.Redirect(http.StatusFound, st.Return)
		return
	}
	grant, err := s.deps.SignIn.Sealer.Seal(purposeCLIGrant, cliGrant{Refresh: refresh, Challenge: st.CLIChallenge, User: id.Ref}, cliGrantTTL)
	if err != nil {
		writeError(c, err)
		return
	}
	if st.CLIPort != 0 {
		c.Redirect(http.StatusFound, "http://127.0.0.1:"+strconv.Itoa(st.CLIPort)+"/callback?grant="+url.QueryEscape(grant))
		return
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	_ = oobPage.Execute(c.Writer, struct{ User, Grant string }{id.Ref, grant})
}

var oobPage = template.Must(template.New("oob").Parse(`<!doctype html><html><head><meta charset="utf-8"><title>Rigger sign-in</title></head>
<body><h1>Signed in as {{.User}}</h1><p>Copy this code (select it all) and paste it into the terminal where <code>rigger login</code> waits. It works once, for two minutes, and only there.</p>
<textarea id="code" readonly rows="8" cols="72">{{.Grant}}</textarea></body></html>`))

// signedIn checks the callback and resolves who signed in. The provider's
// identity is returned as soon as the provider vouched for it (also when
// no catalog user matches it), for the audit event.
func (s *Server) signedIn(c *gin.Context) (auth.Identity, auth.ProviderIdentity, signInState, error) {
	var st signInState
	var none auth.ProviderIdentity
	p, err := s.provider(c)
	if err != nil {
		return auth.Identity{}, none, st, err
	}
	cookie, err := c.Cookie(signInCookie)
	if err != nil || cookie == "" {
		return auth.Identity{}, none, st, errs.Unauthenticated("no sign-in is pending in this browser (the sign-in cookie is missing or expired): start again")
	}
	if err := s.deps.SignIn.Sealer.Open(purposeSignIn, cookie, &st); err != nil {
		return auth.Identity{}, none, st, err
	}
	if e := c.Query("error"); e != "" {
		return auth.Identity{}, none, st, errs.Unauthenticated("the provider refused the sign-in: %s %s", clip(e, 100), clip(c.Query("error_description"), 300))
	}
	pid, err := p.Finish(c.Request.Context(), st.Pending, c.Request.URL.Query())
	if err != nil {
		return auth.Identity{}, none, st, err
	}
	u, err := s.deps.SignIn.Resolve(c.Request.Context(), pid)
	if err != nil {
		return auth.Identity{}, pid, st, err
	}
	return auth.Identity{Ref: u.Ref, Ent: u.Ent, Via: "session"}, pid, st, nil
}

// providerDetails adds who the provider says signed in (its subject, the
// verified email and login, when known) to an audit event's details.
func providerDetails(pid auth.ProviderIdentity, details map[string]string) map[string]string {
	for k, v := range map[string]string{"providerSubject": pid.Subject, "providerEmail": pid.Email, "providerLogin": pid.Login} {
		if v == "" {
			continue
		}
		if details == nil {
			details = map[string]string{}
		}
		details[k] = clip(v, 320)
	}
	return details
}

// redeemCLIGrant: POST /api/auth/cli/token {"grant", "verifier"} gives
// rigger login its refresh token, once the verifier matches the
// challenge the CLI started with.
func (s *Server) redeemCLIGrant(c *gin.Context) {
	var body struct {
		Grant    string `json:"grant"`
		Verifier string `json:"verifier"`
	}
	if err := c.ShouldBindJSON(&body); err != nil || body.Grant == "" || body.Verifier == "" {
		writeError(c, errs.Invalid(`send {"grant": "...", "verifier": "..."}`))
		return
	}
	var g cliGrant
	if err := s.deps.SignIn.Sealer.Open(purposeCLIGrant, body.Grant, &g); err != nil {
		credentialRefused(c)
		writeError(c, err)
		return
	}
	sum := sha256.Sum256([]byte(body.Verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.Challenge)) != 1 {
		credentialRefused(c)
		writeError(c, errs.Unauthenticated("the verifier does not match the challenge this sign-in started with"))
		return
	}
	// The grant works once, on every replica: the CLI gets the session's
	// next refresh token, so the one sealed in the grant is spent, and a
	// second redemption (a copied grant and verifier) ends the sign-in.
	_, next, _, err := s.deps.Tokens.Sessions.Refresh(c.Request.Context(), g.Refresh)
	if errors.Is(err, errs.ErrUnauthenticated) {
		credentialRefused(c)
		writeError(c, fmt.Errorf("this CLI sign-in grant was already redeemed, or its session ended (run rigger login again): %w", err))
		return
	}
	if err != nil {
		writeError(c, fmt.Errorf("redeem the CLI sign-in grant: %w", err))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"refreshToken": next, "user": g.User})
}
