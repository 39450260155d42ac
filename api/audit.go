package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
)

// AuditEvents lists stored audit events (GET /api/audit/events).
type AuditEvents interface {
	Events(ctx context.Context, q audit.Query) (audit.Page, error)
}

// AuditDeps are the audit log: Recorder receives the API's events (nil
// records none); Events, when set, serves /api/audit/events.
type AuditDeps struct {
	Recorder audit.Recorder
	Events   AuditEvents
}

const requestIDKey = "rigger.requestID"

// requestID gives every request an id, answered in X-Request-Id and
// recorded in its audit events. A client's own X-Request-Id is not
// trusted: it goes into the events' details only.
func (s *Server) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := uuid.NewString()
		c.Set(requestIDKey, id)
		c.Header("X-Request-Id", id)
		c.Next()
	}
}

// One peer address writes at most denialBurst refusal events at once, then
// one per denialInterval.
const (
	denialBurst    = 30
	denialInterval = time.Second
)

// credentialRefusedKey marks a request whose credential, sent elsewhere
// than the Authorization header (a refresh token, a CLI grant), was
// refused.
const credentialRefusedKey = "rigger.credentialRefused"

func credentialRefused(c *gin.Context) { c.Set(credentialRefusedKey, true) }

// auditDenials records refused requests: 401 as auth.denied, 403 as
// permission.denied, with the reason the caller was given. The events a
// peer's limit drops are counted in the next one kept.
func (s *Server) auditDenials() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		action := ""
		switch c.Writer.Status() {
		case http.StatusUnauthorized:
			action = "auth.denied"
			if c.GetHeader("Authorization") != "" || c.GetBool(credentialRefusedKey) {
				// A credential was presented and refused (a forged,
				// expired, revoked or another server's token; a spent
				// refresh token or CLI grant): the sign-in failures
				// alert counts these.
				action = audit.ActionTokenUseDenied
			}
		case http.StatusForbidden:
			action = "permission.denied"
		case http.StatusBadRequest:
			// OAuth answers a refused code or refresh token 400
			// invalid_grant (RFC 6749): a credential refused all the same.
			if !c.GetBool(credentialRefusedKey) {
				return
			}
			action = audit.ActionTokenUseDenied
		default:
			return
		}
		// Keyed by the client's address: X-Forwarded-For only as far as
		// trusted proxies wrote it.
		if ok, _ := s.denials.take(clientIP(c)); !ok {
			s.suppressed.Add(1)
			return
		}
		reason := http.StatusText(c.Writer.Status())
		if last := c.Errors.Last(); last != nil {
			reason = last.Err.Error()
		}
		details := map[string]string{"method": c.Request.Method}
		if n := s.suppressed.Swap(0); n > 0 {
			details["suppressedBefore"] = strconv.FormatInt(n, 10)
		}
		e := s.auditEvent(c, action, loggedPath(c.Request), details)
		e.Decision, e.Reason = audit.Deny, reason
		s.recorder().Record(context.WithoutCancel(c.Request.Context()), e)
	}
}

// audit records an allowed act of the caller on target.
func (s *Server) audit(c *gin.Context, action, target string, details map[string]string) {
	s.recorder().Record(context.WithoutCancel(c.Request.Context()), s.auditEvent(c, action, target, details))
}

func (s *Server) recorder() audit.Recorder {
	if s.deps.Audit.Recorder == nil {
		return audit.Nop{}
	}
	return s.deps.Audit.Recorder
}

// auditEvent describes the request's caller and origin. The source IP is
// the client's address: the connection's peer, or the client a trusted
// proxy (server.trustedProxies) names; X-Forwarded-For goes into details
// as told.
func (s *Server) auditEvent(c *gin.Context, action, target string, details map[string]string) audit.Event {
	e := audit.Event{Action: action, Target: target, Decision: audit.Allow, ActorKind: audit.ActorAnonymous,
		SourceIP: clientIP(c), UserAgent: clip(c.Request.UserAgent(), 256), RequestID: c.GetString(requestIDKey)}
	if v, ok := c.Get(identityKey); ok {
		id := v.(auth.Identity)
		e.Actor, e.ActorKind, e.Ownership = id.Ref, audit.ActorUser, id.Ent
		switch {
		case id.Service:
			e.ActorKind = audit.ActorService
		case id.Guest:
			e.ActorKind = audit.ActorAnonymous
		}
	}
	for _, h := range []struct{ header, key string }{{"X-Forwarded-For", "forwardedFor"}, {"X-Request-Id", "clientRequestId"}} {
		if v := c.GetHeader(h.header); v != "" {
			if details == nil {
				details = map[string]string{}
			}
			details[h.key] = clip(v, 256)
		}
	}
	e.Details = details
	return e
}

// readCountKey is where a read handler leaves how many entities it
// returned, for the read's audit event.
const readCountKey = "rigger.readCount"

// auditRead records every catalog and docs read, one event per request
// with how many entities it returned (when the handler said): the
// catalogReads alert rule counts them per actor, and every read of the
// read-only guest (auth.guest) is on record.
func (s *Server) auditRead(c *gin.Context) {
	action := "catalog.entity.read"
	switch {
	case strings.HasPrefix(c.FullPath(), "/api/techdocs/"):
		action = "docs.read"
	case strings.HasPrefix(c.FullPath(), "/api/search/"):
		action = "search.query"
	}
	details := map[string]string{"method": c.Request.Method, "status": strconv.Itoa(c.Writer.Status())}
	if n, ok := c.Get(readCountKey); ok {
		details[audit.DetailCount] = strconv.Itoa(n.(int))
	}
	e := s.auditEvent(c, action, loggedPath(c.Request), details)
	if st := c.Writer.Status(); st >= http.StatusBadRequest && st != statusClientClosed { // abandoned: nothing decided
		e.Decision = audit.Deny
	}
	s.recorder().Record(context.WithoutCancel(c.Request.Context()), e)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (s *Server) auditRoutes(g *gin.RouterGroup) {
	if s.deps.Audit.Events == nil {
		return
	}
	g.GET("/events", s.requireSystem(permission.AuditReadAction, "audit", "reading the audit log"), s.listAuditEvents)
}

// requireSystem lets through callers who may do action on the system
// resource named system (Rigger::System): services whose token has the
// route's scope (authenticate checked it), rigger dev's guest, and users
// the policy allows — without a policy, users listed (or in a group
// listed) in permission.admins. Everyone else gets 403 saying what.
func (s *Server) requireSystem(action, system, what string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := identity(c)
		ok := false
		switch {
		case id.Guest:
		case id.Service:
			ok = true
		case s.deps.Dev && id.Via == "dev-guest":
			ok = true
		default:
			allowed, policy := s.catalog.MaySystem(id, action, system)
			ok = allowed || (!policy && isAdmin(id, s.admins()))
		}
		if !ok {
			writeError(c, errs.Forbidden("%s needs %s: admins (permission.admins) or whom the permission policy allows it", what, action))
			c.Abort()
			return
		}
		c.Next()
	}
}

// listAuditEvents serves GET /api/audit/events?actor=&action=&target=
// &since=&until=&limit=&cursor=, newest first:
// {"items": [{seq, hash, event}], "pageInfo": {"nextCursor": "..."}}.
func (s *Server) listAuditEvents(c *gin.Context) {
	q := audit.Query{Actor: c.Query("actor"), Action: c.Query("action"), Target: c.Query("target"), Cursor: c.Query("cursor")}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if v := c.Query(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				writeError(c, errs.Invalid("%s=%q is not an RFC 3339 time (like 2026-01-02T15:04:05Z)", p.name, v))
				return
			}
			*p.to = t
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(c, errs.Invalid("limit=%q is not a positive number", v))
			return
		}
		q.Limit = n
	}
	p, err := s.deps.Audit.Events.Events(c.Request.Context(), q)
	if err != nil {
		writeError(c, err)
		return
	}
	page := gin.H{}
	if p.NextCursor != "" {
		page["nextCursor"] = p.NextCursor
	}
	c.JSON(http.StatusOK, gin.H{"items": p.Events, "pageInfo": page})
}

// redactURL is a location target fit for an audit event.
func redactURL(s string) string { return audit.RedactURL(s) }
