package api

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"go.temporal.io/sdk/client"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/metrics"
	"github.com/riggerdev/rigger/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalogsvc"
	"github.com/riggerdev/rigger/internal/mcpserver"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/tasks"
)

// Check is one readiness condition, e.g. "temporal" or "workers".
type Check struct {
	Name  string
	Check func(ctx context.Context) error
	// Info checks are reported in /readyz's body but do not make it fail.
	Info bool
}

// Deps are what the API server needs; cmd builds them.
type Deps struct {
	Logger    *slog.Logger
	Temporal  client.Client
	Namespace string
	// TemporalUIURL links runs to the Temporal Web UI ("" = no links).
	TemporalUIURL string
	// Ready lists the conditions /readyz checks.
	Ready []Check
	// Auth identifies callers of /api/*. Required.
	Auth auth.Authenticator
	// Codec serves the payload codec endpoint, and reads task histories.
	Codec CodecDeps
	// Proxies are server.trustedProxies: the reverse proxies whose
	// X-Forwarded-For names the client (rate limits, audit, guest networks).
	Proxies auth.Proxies
	// BaseURL is server.baseUrl: its host is served besides loopback names,
	// and its origin may change state (browserGuard).
	BaseURL string
	// Dev enables the /api/dev/* routes (rigger dev only).
	Dev bool
	// Catalog serves /api/catalog when its store is set.
	Catalog CatalogDeps
	// Scaffolder serves /api/scaffolder when its registry is set (templates
	// come from the catalog).
	Scaffolder ScaffolderDeps
	// Audit records security-relevant acts and serves /api/audit.
	Audit AuditDeps
	// SignIn is browser and CLI sign-in (/api/auth/:provider/...).
	SignIn SignInDeps
	// Tokens serve /api/auth: access tokens, sessions, service tokens.
	Tokens TokenDeps
	// MCPOAuth is the OAuth 2.1 authorization server of MCP clients
	// (mcpoauth.go).
	MCPOAuth MCPOAuthDeps
	// Policy decides what each caller may read and do in the catalog
	// (nil: no policy checks, only the scopes of service tokens).
	Policy *permission.Policy
	// Config serves /api/config/effective when set.
	Config ConfigView
	// UI is the built browser UI (web.Dist()): index.html and assets/.
	// Nil, or without index.html: a page saying how to build it.
	UI fs.FS
	// GitHost is rigger dev's git server (internal/githost), served at
	// /git/ with its own authorization (push tokens it minted); only with
	// Dev.
	GitHost http.Handler
	// Metrics records requests and tasks started (nil: none).
	Metrics *metrics.Metrics
	// Tracer starts a span per request, continuing an incoming W3C
	// traceparent (nil: no tracing).
	Tracer trace.Tracer
	// MCP serves /api/mcp for AI agents (mcp.go).
	MCP MCPDeps
}

// Server serves rigger's HTTP API.
type Server struct {
	deps   Deps
	engine *gin.Engine
	// tasks are the scaffolder's operations (internal/tasks decides who
	// may do what with them).
	tasks *tasks.Service
	// catalog is the catalog's operations (internal/catalogsvc decides who
	// may do what with them).
	catalog *catalogsvc.Service
	// fetches limits the catalog routes that make the workers fetch
	// (analyze-location, dry-run registration) per caller.
	fetches *rateLimiter
	// checks limits validate-template, which the editor calls as its
	// author types: parsing a large template costs CPU.
	checks *rateLimiter
	// hooks limits callbacks and webhook deliveries per peer.
	hooks *rateLimiter
	// dryRuns are the dry-run slots, taken before a body is read.
	dryRuns, largeDryRuns chan struct{}
	// denials bounds the refusal events one peer address can write to the
	// audit log (anonymous callers must not grow it without limit);
	// suppressed counts those dropped, reported with the next one kept.
	denials    *rateLimiter
	suppressed atomic.Int64
	// authLimits bounds sign-in, refresh and token requests per address;
	// userLimits bounds refreshes and token management per user.
	authLimits, userLimits *rateLimiter
	// ui serves the browser UI where no route answers (ui.go).
	ui *uiFiles
	// mcp is /api/mcp's server (nil when not served).
	mcp *mcpserver.Server
}

// clientAddr records the request's client address (auth.Proxies.Client)
// before anything reads it.
func (s *Server) clientAddr() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request = auth.WithClientAddr(c.Request, s.deps.Proxies.Client(c.Request))
		c.Next()
	}
}

// clientIP is the request's client address as text ("" when unknown).
func clientIP(c *gin.Context) string {
	if a := auth.ClientAddr(c.Request); a.IsValid() {
		return a.String()
	}
	return ""
}

// New builds the router. It does no I/O.
func New(d Deps) *Server {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	s := &Server{deps: d, engine: e,
		tasks: newTasks(d), fetches: newRateLimiter(fetchBurst, fetchInterval), checks: newRateLimiter(checkBurst, checkInterval), hooks: newRateLimiter(hookBurst, hookInterval),
		denials: newRateLimiter(denialBurst, denialInterval), authLimits: newRateLimiter(authBurst, authInterval), userLimits: newRateLimiter(userAuthBurst, userAuthInterval),
		dryRuns: make(chan struct{}, maxConcurrentDryRuns), largeDryRuns: make(chan struct{}, maxLargeDryRuns),
		ui: newUIFiles(d.UI)}
	s.catalog = newCatalog(d)
	// requestLog wraps recoverer: a request that panicked is logged and
	// counted as the 500 it answered.
	e.Use(s.clientAddr(), s.securityHeaders(), s.traced(), s.requestLog(), s.recoverer(), s.requestID(), s.auditDenials(), s.browserGuard(), s.csrfGuard())
	e.NoRoute(s.noRoute) // the UI, or the JSON 404 (ui.go)
	e.NoMethod(func(c *gin.Context) { writeError(c, methodNotAllowed(c)) })

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)

	public := e.Group("/api/auth", s.authLimits.limitPeer("signing in and renewing tokens"))
	apiGroup := e.Group("/api", s.authenticate())
	if d.Catalog.Store != nil {
		s.catalogRoutes(apiGroup.Group("/catalog"))
		s.searchRoutes(apiGroup)
		if d.MCP.Config != nil {
			s.mcpRoutes(apiGroup)
		}
		if d.Scaffolder.Actions != nil {
			s.scaffolderRoutes(apiGroup.Group("/scaffolder"))
		}
	}
	if d.Catalog.Store != nil && d.Catalog.Docs != nil {
		s.techdocsRoutes(apiGroup.Group("/techdocs"))
	}
	if d.Catalog.Store != nil && d.Scaffolder.Actions != nil {
		s.waitRoutes(e)
	}
	s.auditRoutes(apiGroup.Group("/audit"))
	s.configRoutes(apiGroup.Group("/config"))
	s.codecRoutes(e, apiGroup)
	s.tokenRoutes(public, apiGroup)
	if d.Tokens.Issuer != nil {
		// OpenID discovery where clients look for it: <iss>/.well-known/...
		// (iss is server.baseUrl); Backstage's path under /api/auth too.
		e.GET("/.well-known/openid-configuration", s.openIDConfiguration)
	}
	s.signInRoutes(public)
	s.mcpOAuthRoutes(e, public, apiGroup)
	if d.Dev && d.GitHost != nil {
		git := gin.WrapH(d.GitHost)
		e.GET("/git/*path", git)
		e.POST("/git/*path", git)
		// The host's REST API: a pull request's update and merge.
		e.PATCH("/git/*path", git)
		e.PUT("/git/*path", git)
	}
	if d.Dev {
		dev := apiGroup.Group("/dev")
		dev.POST("/hello", s.startHello)
		dev.GET("/hello/:id", s.getHello)
	}
	return s
}

// Handler returns the http.Handler to serve.
func (s *Server) Handler() http.Handler { return s.engine }

// HTTPServer wraps the handler with timeouts suited to an API that also
// streams events (no write timeout; streams end on their own).
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.engine,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

const identityKey = "rigger.identity"

func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := s.deps.Auth.Authenticate(c.Request)
		mcp := auth.IsMCPPath(c.FullPath())
		if err == nil && id.Channel == auth.ChannelMCP && !mcp {
			// The issuer refuses them off /api/mcp already; the matched
			// route is checked too, whatever the request path said.
			err = errs.Unauthenticated("this access token was issued to an MCP client: it is accepted only on %s", auth.MCPPath)
		}
		if err != nil && mcp {
			s.mcpUnauthorized(c, err)
			return
		}
		if err != nil {
			s.challenge(c)
			writeError(c, err)
			c.Abort()
			return
		}
		c.Set(identityKey, id)
		reads := permission.GuestMayUse(c.Request.Method, c.FullPath())
		if id.Guest && !reads {
			err := errs.Unauthenticated("sign in to use this: guests (auth.guest) may only read catalog entities and docs")
			if mcp { // the guest's MCP client learns where to sign in
				s.mcpUnauthorized(c, err)
				return
			}
			writeError(c, err)
			c.Abort()
			return
		}
		if scope := requiredScope(c.Request.Method, c.FullPath()); scope != "" && id.Service && !hasScope(id.Scopes, scope) {
			writeError(c, fmt.Errorf("%w: this token lacks the %s scope", errs.ErrForbidden, scope))
			c.Abort()
			return
		}
		if reads { // what passed the gates is on record, with its count
			defer s.auditRead(c)
		}
		limit := int64(maxBody)
		if strings.HasSuffix(c.FullPath(), "/v2/dry-run") || strings.HasPrefix(c.FullPath(), "/api/techdocs/publish/") {
			limit = maxDryRunBody
		}
		if c.Request.ContentLength > limit {
			writeError(c, errs.Invalid("the request body is %d bytes; at most %d are accepted here", c.Request.ContentLength, limit))
			c.Abort()
			return
		}
		if c.Request.Body != nil { // a body without a length is cut at the limit
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		}
		c.Next()
	}
}

// Fetching catalog routes: a burst of fetchBurst per caller, then one
// every fetchInterval.
const (
	fetchBurst    = 10
	fetchInterval = 6 * time.Second
)

// Template checks: a burst of checkBurst per caller, then one every
// checkInterval (the editor waits for a pause in typing before each).
const (
	checkBurst    = 30
	checkInterval = 250 * time.Millisecond
)

// Request body limits: every API body, and a dry run's (it carries the
// template's files, base64).
const (
	maxBody       = 2 << 20
	maxDryRunBody = 48 << 20
)

// requiredScope is the scope a service token needs for a route
// (internal/permission decides, for the API and the scaffolder's actions).
func requiredScope(method, route string) string { return permission.RequiredScope(method, route) }

// hasScope: "*" grants everything, a write scope grants its read scope.
func hasScope(scopes []string, want string) bool { return permission.HasScope(scopes, want) }

func (s *Server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		took := time.Since(start)
		s.deps.Metrics.HTTPRequest(c.FullPath(), c.Request.Method, c.Writer.Status(), took)
		level := slog.LevelInfo
		// Probes and the UI's hashed files (a page load fetches several) are routine.
		if p := c.Request.URL.Path; p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/assets/") && c.Writer.Status() < 400 {
			level = slog.LevelDebug
		}
		s.deps.Logger.LogAttrs(c.Request.Context(), level, "http request",
			slog.String("method", c.Request.Method),
			// Path only: query strings may carry values users consider private.
			slog.String("path", loggedPath(c.Request)),
			slog.Int("status", c.Writer.Status()),
			slog.Float64("duration_ms", float64(took.Microseconds())/1000),
		)
	}
}

// traced starts the request's server span: named after the route pattern,
// a child of the caller's traceparent when it sent one. The request's
// context carries it to the service layer and into the workflows it starts.
func (s *Server) traced() gin.HandlerFunc {
	if s.deps.Tracer == nil {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		ctx := tracing.Propagator.Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
		ctx, span := s.deps.Tracer.Start(ctx, c.Request.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", c.Request.Method), attribute.String("http.route", route)))
		defer span.End()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		status := c.Writer.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
}

func (s *Server) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				s.deps.Logger.Error("panic in handler", "path", loggedPath(c.Request), "panic", r)
				writeError(c, errInternal)
				c.Abort()
			}
		}()
		c.Next()
	}
}
