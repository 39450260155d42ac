package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalogsvc"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/techdocs"
)

// Docs are served on Backstage TechDocs' paths, so its reader and
// techdocs-cli find them; every route asks catalogsvc, which checks that
// the caller may read the entity and its docs (docs.read).
func (s *Server) techdocsRoutes(g *gin.RouterGroup) {
	g.GET("/metadata/techdocs/:namespace/:kind/:name", s.techdocsMetadata)
	g.GET("/metadata/entity/:namespace/:kind/:name", s.techdocsEntity)
	g.GET("/static/docs/:namespace/:kind/:name/*path", s.techdocsStatic)
	g.GET("/build/:namespace/:kind/:name", s.techdocsBuild)
	sync := s.fetches.limit("docs sync")
	starts := docsBudget{entity: newRateLimiter(docsSyncBurst, docsSyncEvery), caller: newRateLimiter(docsSyncCallerBurst, docsSyncCallerEvery)}
	handle := func(c *gin.Context) { s.techdocsSync(c, starts) }
	g.GET("/sync/:namespace/:kind/:name", sync, handle)
	g.POST("/sync/:namespace/:kind/:name", sync, handle)
	g.PUT("/publish/:namespace/:kind/:name", s.limitBuilds, s.techdocsPublish)
}

// limitBuilds holds one of the dry-run slots while a published docs source
// is built here (the builds share their CPU budget).
func (s *Server) limitBuilds(c *gin.Context) {
	select {
	case s.dryRuns <- struct{}{}:
		defer func() { <-s.dryRuns }()
		c.Next()
	default:
		c.Header("Retry-After", "5")
		writeStatus(c, http.StatusTooManyRequests, "TooManyRequestsError", "too many builds are running; try again shortly")
		c.Abort()
	}
}

// techdocsPublish takes a docs source from an external builder (rigger
// docs publish): {"files": {"mkdocs.yml": "<base64>", "docs/index.md":
// "<base64>", ...}}, builds it with the workers' code and publishes the
// site; the answer lists the pages and the build log.
func (s *Server) techdocsPublish(c *gin.Context) {
	var req struct {
		Files map[string][]byte `json:"files"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, errs.Invalid("body must be {\"files\": {\"<path>\": \"<base64 content>\", ...}}: %v", err))
		return
	}
	kind, namespace, name := docsParams(c)
	site, err := s.catalog.PublishDocs(c.Request.Context(), identity(c), kind, namespace, name, techdocs.Source(req.Files))
	if err != nil {
		writeError(c, err)
		return
	}
	pages := make([]string, 0, len(site.Metadata.Pages))
	for _, p := range site.Metadata.Pages {
		pages = append(pages, p.Source)
	}
	log := site.Log
	if log == nil {
		log = []string{}
	}
	c.JSON(http.StatusOK, gin.H{"pages": pages, "files": len(site.Files), "log": log})
}

// docsParams are the route's entity, in Backstage's namespace/kind/name
// order.
func docsParams(c *gin.Context) (kind, namespace, name string) {
	return c.Param("kind"), c.Param("namespace"), c.Param("name")
}

// techdocsMetadata answers the site's techdocs_metadata.json.
func (s *Server) techdocsMetadata(c *gin.Context) {
	kind, namespace, name := docsParams(c)
	site, _, err := s.catalog.DocsSite(c.Request.Context(), identity(c), kind, namespace, name)
	if err == nil && site.Metadata == nil {
		err = errs.NotFound("the docs of %s have not been built yet: %s", site.Ref, firstLine(site.LastError))
	}
	if err != nil {
		writeError(c, err)
		return
	}
	c.Set(readCountKey, 1)
	c.Data(http.StatusOK, "application/json", site.Metadata)
}

// techdocsEntity answers the entity with where its docs are read from, as
// Backstage's locationMetadata.
func (s *Server) techdocsEntity(c *gin.Context) {
	kind, namespace, name := docsParams(c)
	e, err := s.catalog.DocsEntity(c.Request.Context(), identity(c), kind, namespace, name)
	m, ok := renderedEntity(c, e, err)
	if !ok {
		return
	}
	typ, target, _ := strings.Cut(catalogsvc.DocsRefOf(e), ":")
	if typ != "" {
		m["locationMetadata"] = map[string]string{"type": typ, "target": target}
	}
	c.Set(readCountKey, 1)
	c.JSON(http.StatusOK, m)
}

// docsCSP confines a docs file opened on its own: no script, nothing
// loaded from elsewhere, a sandboxed origin (an SVG or HTML page of a
// site cannot act as Rigger).
const docsCSP = "default-src 'none'; img-src 'self' data:; style-src 'self'; font-src 'self'; sandbox"

// techdocsStatic serves one file of an entity's last good site.
func (s *Server) techdocsStatic(c *gin.Context) {
	kind, namespace, name := docsParams(c)
	data, typ, err := s.catalog.DocsFile(c.Request.Context(), identity(c), kind, namespace, name, c.Param("path"))
	if err != nil {
		writeError(c, err)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", docsCSP)
	h.Set("Cache-Control", "private, no-cache")
	c.Set(readCountKey, 1)
	c.Data(http.StatusOK, typ, data)
}

// docsBuildStatus is how an entity's last docs build went.
type docsBuildStatus struct {
	Status      string    `json:"status"`
	LastError   string    `json:"lastError,omitempty"`
	BuiltAt     time.Time `json:"builtAt,omitzero"`
	AttemptedAt time.Time `json:"attemptedAt"`
	Storage     string    `json:"storage,omitempty"`
	Log         []string  `json:"log"`
}

func buildStatus(site store.DocsSite) docsBuildStatus {
	st := docsBuildStatus{Status: site.Status, LastError: site.LastError, BuiltAt: site.BuiltAt, AttemptedAt: site.AttemptedAt, Storage: site.Storage, Log: site.Log}
	if st.Log == nil {
		st.Log = []string{}
	}
	return st
}

// techdocsBuild answers how the last build went (Rigger's own route: the
// UI shows a failed build beside the last good site).
func (s *Server) techdocsBuild(c *gin.Context) {
	kind, namespace, name := docsParams(c)
	site, _, err := s.catalog.DocsSite(c.Request.Context(), identity(c), kind, namespace, name)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, buildStatus(site))
}

// maxDocsSync bounds how long a sync request waits for its build.
const maxDocsSync = 5 * time.Minute

// Builds a sync may start for one entity, whoever asks: docsSyncBurst at
// once, then one every docsSyncEvery. Past them a GET only watches (a
// build running, or nothing) and a POST is refused with 429.
// In front of it, each caller has its own budget for each entity
// (docsSyncCallerBurst, then one every docsSyncCallerEvery), so one reader
// cannot keep the entity's budget empty for everyone: a caller's refill
// (two a minute) stays below the entity's (five a minute), while its burst
// lets a docs author reload a few times after an edit and see each build.
const (
	docsSyncBurst       = 5
	docsSyncEvery       = 12 * time.Second
	docsSyncCallerBurst = 4
	docsSyncCallerEvery = 30 * time.Second
)

// docsBudget is what starting a docs build spends: a token of the caller's
// bucket for the entity, then one of the entity's shared bucket.
type docsBudget struct{ entity, caller *rateLimiter }

// take spends a token of both buckets (the caller's first: a caller past
// its own budget spends none of the shared one); when one is empty it
// says which and how long until its next token.
func (b docsBudget) take(caller, ref string) (ok bool, per string, wait time.Duration) {
	if ok, wait := b.caller.take(caller + " " + ref); !ok {
		return false, "caller and entity", wait
	}
	if ok, wait := b.entity.take(ref); !ok {
		return false, "entity", wait
	}
	return true, "", 0
}

// techdocsSync builds an entity's docs (or joins the running build) and
// waits for it. With Accept: text/event-stream it answers as Backstage's
// sync does: `log` events (the build's log), then `finish`
// ({"updated": bool}) or `error`. Otherwise one JSON object: the build's
// status and whether the site was updated.
//
// Backstage's reader (and Rigger's) sends a GET each time a docs page
// opens, so a GET starts an unforced build (which skips an unchanged
// source) only while the entity's budget in starts lasts; past it, it
// waits for the build running, if any, and otherwise answers at once that
// nothing was updated. POST is the explicit rebuild: ?force=true (a build
// of an unchanged source) is taken on POST only, needs
// catalog.entity.refresh on the entity, and a POST past the budget is
// refused with 429. Only starting a build spends budget: joining a
// running one (without force), or asking for an entity without docs, does
// not.
func (s *Server) techdocsSync(c *gin.Context, starts docsBudget) {
	kind, namespace, name := docsParams(c)
	ctx := c.Request.Context()
	force, get := c.Query("force") == "true", c.Request.Method == http.MethodGet
	if force && get {
		writeError(c, errs.Invalid("force=true rebuilds an unchanged source: send it with POST /api/techdocs/sync/%s/%s/%s", namespace, kind, name))
		return
	}
	// Who may not read the docs spends no entity's budget.
	e, err := s.catalog.DocsEntity(ctx, identity(c), kind, namespace, name)
	if err != nil {
		writeError(c, err)
		return
	}
	if force {
		if err := s.catalog.MayForceDocs(identity(c), e); err != nil {
			writeError(c, err)
			return
		}
	}
	var run client.WorkflowRun
	var note string
	hasDocs := catalogsvc.DocsRefOf(e) != ""
	if hasDocs && !force {
		// A running build is joined, free.
		run, err = s.catalog.RunningDocsBuild(ctx, identity(c), kind, namespace, name)
	}
	if err == nil && run == nil {
		ok, per, wait := true, "", time.Duration(0)
		if hasDocs { // without docs, SyncDocs says so and starts nothing
			ok, per, wait = starts.take(identity(c).Ref, strings.ToLower(e.Ref))
		}
		switch {
		case ok:
			run, err = s.catalog.SyncDocs(ctx, identity(c), kind, namespace, name, force)
			if err == nil && run == nil {
				note = "docs are built outside Rigger here (docs.builder: external): publish them with rigger docs publish"
			}
		case get:
			note = "no build started: this entity's docs were synced moments ago; the site served is the last build's"
		default:
			tooMany(c, "docs builds are rate limited per "+per, wait)
			return
		}
	}
	if err != nil {
		writeError(c, err)
		return
	}
	stream := strings.Contains(c.GetHeader("Accept"), "text/event-stream")
	send := func(event string, data any) {
		body, _ := json.Marshal(data)
		fmt.Fprintf(c.Writer, "event: %s\ndata: %s\n\n", event, body)
		c.Writer.Flush()
	}
	if run == nil {
		if !stream {
			c.JSON(http.StatusOK, gin.H{"updated": false, "message": note})
			return
		}
		c.Header("Content-Type", "text/event-stream")
		c.Status(http.StatusOK)
		send("log", note)
		send("finish", gin.H{"updated": false})
		return
	}
	if stream {
		c.Header("Content-Type", "text/event-stream")
		c.Header("Cache-Control", "no-cache")
		c.Status(http.StatusOK)
		send("log", fmt.Sprintf("Building the docs of %s:%s/%s (Temporal workflow %s)", kind, namespace, name, run.GetID()))
	}
	waitCtx, cancel := context.WithTimeout(ctx, maxDocsSync)
	defer cancel()
	var res contract.DocsBuildResult
	if stream {
		err = s.streamDocsProgress(waitCtx, c, run, &res, send)
	} else {
		err = run.Get(waitCtx, &res)
	}
	switch {
	case err != nil && waitCtx.Err() != nil && ctx.Err() == nil:
		err = fmt.Errorf("%w: the docs build is still running (workflow %s); its outcome will be at /api/techdocs/build/%s/%s/%s",
			errs.ErrUnavailable, run.GetID(), namespace, kind, name)
	case err != nil:
		err = errs.Invalid("the docs build failed: %s", rootMessage(err))
	case res.Failed != "":
		err = errs.Invalid("the docs build failed: %s", res.Failed)
	}
	site, _, siteErr := s.catalog.DocsSite(ctx, identity(c), kind, namespace, name)
	if !stream {
		if err != nil && !errors.Is(err, errs.ErrInvalid) {
			writeError(c, err)
			return
		}
		out := gin.H{"updated": res.Updated}
		if siteErr == nil {
			out["build"] = buildStatus(site)
		}
		c.JSON(http.StatusOK, out)
		return
	}
	if siteErr == nil {
		for _, line := range site.Log {
			send("log", line)
		}
	}
	if err != nil {
		send("error", err.Error())
		return
	}
	send("finish", gin.H{"updated": res.Updated})
}

// firstLine is s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// rootMessage is the innermost message of a chain of errors (a workflow's
// failure wraps its activity's, which says what went wrong).
func rootMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// docsProgressEvery is how often a streamed sync reads the build's log.
const docsProgressEvery = 250 * time.Millisecond

// streamDocsProgress waits for run, sending the lines its build logs as
// they are stored (every replica reads them from the database).
func (s *Server) streamDocsProgress(ctx context.Context, c *gin.Context, run client.WorkflowRun, res *contract.DocsBuildResult, send func(string, any)) error {
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, res) }()
	kind, namespace, name := docsParams(c)
	sent := 0
	poll := func() {
		lines, err := s.catalog.DocsProgress(ctx, identity(c), kind, namespace, name)
		if err != nil {
			return
		}
		for ; sent < len(lines); sent++ {
			send("log", lines[sent])
		}
	}
	t := time.NewTicker(docsProgressEvery)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-t.C:
			poll()
		}
	}
}
