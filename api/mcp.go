package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	mcpauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/mcpserver"
	"github.com/riggerdev/rigger/internal/permission"
)

// MCPDeps configure /api/mcp, the endpoint AI agents connect to
// (internal/mcpserver has the tools).
type MCPDeps struct {
	// Config is rigger.yaml's mcp section; nil leaves /api/mcp out.
	Config *config.MCP
	// Version is announced to clients.
	Version string
}

// mcpPath is the endpoint's route.
const mcpPath = "/api/mcp"

// mcpRoutes serves /api/mcp over Streamable HTTP behind the API's
// authentication: every request is the caller's, with Channel "mcp".
func (s *Server) mcpRoutes(g *gin.RouterGroup) {
	cfg := *s.deps.MCP.Config
	d := mcpserver.Deps{Catalog: s.catalog, Recorder: s.recorder(), Logger: s.deps.Logger, Version: s.deps.MCP.Version}
	if s.deps.Scaffolder.Actions != nil {
		d.Tasks, d.Actions = s.tasks, s.deps.Scaffolder.Actions
	}
	d.Receipts = mcpReceipts(s.deps)
	s.mcp = mcpserver.New(d, cfg)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp.MCP() }, &mcp.StreamableHTTPOptions{
		SessionTimeout: cfg.SessionTimeout, MaxRequestBodyBytes: cfg.MaxRequestBytes, Logger: s.deps.Logger,
		// The browser guard and the API's own Host checks run first.
		DisableLocalhostProtection: true,
	})
	// The SDK hands each request's TokenInfo to its handlers: the caller
	// the API authenticated, not something read from the token again.
	withCaller := mcpauth.RequireBearerToken(func(_ context.Context, _ string, r *http.Request) (*mcpauth.TokenInfo, error) {
		c, ok := r.Context().Value(mcpCallerKey{}).(mcpserver.Caller)
		if !ok {
			return nil, mcpauth.ErrInvalidToken
		}
		return mcpserver.TokenInfo(c), nil
	}, nil)(h)
	limits := newRateLimiter(cfg.RateLimit.Burst, cfg.RateLimit.Interval)
	serve := func(c *gin.Context) {
		live := s.mcp.Config()
		if !live.Enabled {
			writeError(c, errs.NotFound("the MCP endpoint is turned off on this server (mcp.enabled)"))
			return
		}
		id := identity(c)
		id.Channel = permission.ChannelMCP
		c.Set(identityKey, id)
		// A request takes from its user's bucket and its grant's: a new
		// or refreshed token starts no fresh burst.
		if ok, wait := limits.takeAll(mcpRateKeys(id)...); !ok {
			tooMany(c, "MCP requests are rate limited per user and per grant (mcp.rateLimit)", wait)
			return
		}
		var admit *mcpserver.Admission
		if c.Request.Method == http.MethodPost && c.GetHeader("Mcp-Session-Id") == "" {
			serverFull := func() {
				writeError(c, fmt.Errorf("%w: this server holds its most MCP sessions at once (mcp.maxSessions: %d); try again when one ends", errs.ErrUnavailable, live.MaxSessions))
			}
			// A probe is refused early; an initialize reserves its place.
			if s.mcp.Sessions() >= live.MaxSessions {
				serverFull()
				return
			}
			// Only an initialize opens a session that stays: a client's
			// probe before it must not hold the caller's place.
			if opensSession(c.Request, live.MaxRequestBytes) {
				var err error
				admit, err = s.mcp.Open(id, live.MaxSessionsPerUser, live.MaxSessions)
				switch {
				case errors.Is(err, mcpserver.ErrServerFull):
					serverFull()
					return
				case err != nil:
					writeError(c, fmt.Errorf("%w: %s holds its most MCP sessions at once on this server (mcp.maxSessionsPerUser: %d); end one (or wait for an idle one to time out) first", errs.ErrUnavailable, id.Ref, live.MaxSessionsPerUser))
					return
				}
				defer admit.Done()
			}
		}
		r := c.Request.WithContext(context.WithValue(c.Request.Context(), mcpCallerKey{}, mcpserver.Caller{Identity: id, Origin: s.auditEvent(c, "", "", nil), Admission: admit}))
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			// rigger dev's guest sends no token; the SDK's TokenInfo
			// still needs a bearer field to carry the caller.
			r.Header = r.Header.Clone()
			r.Header.Set("Authorization", "Bearer authenticated-by-rigger")
		}
		withCaller.ServeHTTP(c.Writer, r)
	}
	g.POST("/mcp", serve)
	g.GET("/mcp", serve)
	g.DELETE("/mcp", serve)
}

type mcpCallerKey struct{}

// opensSession says whether r's JSON-RPC message is an initialize (or
// cannot be read as another method): the request that opens a session.
// The body read stays r's to serve.
func opensSession(r *http.Request, maxBytes int64) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), r.Body))
	if err != nil {
		return true
	}
	var m struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(b, &m) != nil {
		return true
	}
	return m.Method == "initialize"
}

// mcpRateKeys are the rate-limit buckets of id's MCP requests: the user
// (or service) and, when known, the grant its token belongs to: the
// sign-in a rigger or MCP access token was refreshed from (its sid), a
// service token's name, else the token itself.
func mcpRateKeys(id auth.Identity) []string {
	keys := []string{"user\x00" + id.Ref}
	if id.Service {
		keys[0] += "#service"
	}
	switch {
	case id.Service && id.TokenID != "":
		keys = append(keys, "service-token\x00"+id.TokenID)
	case id.Session != "":
		keys = append(keys, "grant\x00"+id.Session)
	case id.TokenID != "":
		keys = append(keys, "token\x00"+id.TokenID)
	}
	return keys
}

// challenge runs on every 401 the API answers, before the body is written:
// for /api/mcp it is where an MCP client learns how to get a token
// (mcpChallenge).
func (s *Server) challenge(c *gin.Context) {
	if c.FullPath() == mcpPath {
		s.mcpChallenge(c)
	}
}

// mcpChallenge adds what an MCP client needs to a 401 of /api/mcp: the
// authorization server's hook (WWW-Authenticate: Bearer
// resource_metadata=...). Nothing yet: OAuth for MCP clients comes with
// the authorization server.
func (s *Server) mcpChallenge(c *gin.Context) { s.setMCPChallenge(c) }

// MCP is the MCP server (nil when /api/mcp is not served): its settings
// reload live through SetConfig.
func (s *Server) MCP() *mcpserver.Server { return s.mcp }
