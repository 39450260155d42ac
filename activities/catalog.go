package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riggerdev/rigger/internal/audit"

	"github.com/riggerdev/rigger/activities/contract"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/metrics"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/store"
)

// Catalog implements catalog ingestion: one activity per location that reads,
// parses, validates and writes a whole batch.
type Catalog struct {
	// Metrics records refreshes and docs builds (nil: none).
	Metrics *metrics.Metrics
	Store   store.Store
	Rules   catalog.Rules
	Limits  catalog.Limits
	// Model is catalog.model: the kinds and per-type schemas entities are
	// validated against, and the relations they emit (nil: built-in kinds
	// only).
	Model   *catalog.Model
	Orphans store.OrphanStrategy
	// HTTP fetches url locations; it must be a netguard client.
	HTTP *http.Client
	// StaticRules are extra rules of static locations, by location target.
	StaticRules map[string][]catalog.Rule
	// Git says where git locations may clone from.
	Git    GitSource
	Logger *slog.Logger
	// Audit receives what each refresh changed; nil records nothing.
	Audit audit.Recorder
	// StartDocs starts (or signals) the docs build of an entity a refresh
	// wrote that names its docs (nil: docs are not built on ingestion).
	StartDocs func(ctx context.Context, ref string) error

	// Live, when set, wins over Rules, StaticRules, HTTP and Git: a
	// configuration reload swaps it.
	Live *Swapped[CatalogAccess]
}

// maxNested bounds Location entities pointing at further files.
const maxNested = 5

type source struct {
	typ, target string
	// branch is the branch of a git source ("" = the default branch).
	branch string
}

// rootSource is where reading a location starts. A url location naming a
// file in a repository by its browse URL (https://github.com/org/repo/blob/main/catalog-info.yaml,
// the usual way to register in Backstage) is read from a shallow clone of
// the repository at that branch: the browse URL serves an HTML page, and
// the files its Location entities point at are in the same clone.
func rootSource(loc store.Location) source {
	if loc.Type == "url" {
		if u, err := url.Parse(loc.Target); err == nil {
			if rp, ok := treeURL(u); ok && rp.path != "." && rp.path != ".." && !strings.HasPrefix(rp.path, "../") {
				return source{typ: "git", target: rp.repo + "#" + rp.path, branch: rp.branch}
			}
		}
	}
	return source{typ: loc.Type, target: loc.Target}
}

// RefreshLocation implements contract.CatalogRefreshLocation.
func (c *Catalog) RefreshLocation(ctx context.Context, in contract.CatalogRefreshInput) (contract.CatalogRefreshResult, error) {
	start := time.Now()
	res, err := c.refreshLocation(ctx, in)
	c.Metrics.Refresh(err, time.Since(start), res.Inserted, res.Updated, res.Unchanged, res.Removed)
	return res, err
}

func (c *Catalog) refreshLocation(ctx context.Context, in contract.CatalogRefreshInput) (contract.CatalogRefreshResult, error) {
	var res contract.CatalogRefreshResult
	loc, err := c.Store.GetLocation(ctx, in.LocationID)
	if errors.Is(err, errs.ErrNotFound) {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), "NotFound", err)
	}
	if err != nil {
		return res, err
	}
	// A refresh of a large or remote location takes a while: heartbeats
	// let the server notice within seconds that this worker died, and
	// retry the refresh elsewhere or after a restart (the write is one
	// transaction, so a retry starts over; the progress is for the UI).
	var read atomic.Int64
	stop := keepAlive(ctx, func() any { return refreshProgress{Location: loc.ID, EntitiesRead: read.Load()} })
	defer stop()
	attempt := int32(1)
	if activity.IsActivity(ctx) {
		attempt = activity.GetInfo(ctx).Attempt
	}
	c.Logger.InfoContext(ctx, "catalog location refresh started", "location", loc.ID, "target", loc.Target, "attempt", attempt)
	// The location is parsed while it is written: rows stream from the
	// parsing goroutines into one transaction, file by file, and a file that
	// fails aborts it (stored entities are left as they were).
	var col collected
	var walkErr error
	var docsRefs []string
	rows := func(yield func(store.Entity, error) bool) {
		col, walkErr = c.walk(ctx, loc, func(rows []store.Entity) bool {
			read.Add(int64(len(rows)))
			for _, row := range rows {
				if c.StartDocs != nil && bytes.Contains(row.Body, techdocsAnnotation) {
					docsRefs = append(docsRefs, row.Ref)
				}
				if !yield(row, nil) {
					return false
				}
			}
			return true
		})
		if walkErr != nil && !errors.Is(walkErr, errStopped) {
			yield(store.Entity{}, walkErr)
		}
	}
	if loc.Type != "file" {
		// Network reads (url, git) finish before the write transaction
		// opens: SQLite has one writer, and nothing else (other locations,
		// the API) should wait on a slow remote.
		rows = materialize(rows)
	}
	var rr store.ReplaceResult
	if walkErr == nil || errors.Is(walkErr, errStopped) {
		rr, err = c.Store.ReplaceLocationStream(ctx, loc.ID, rows, store.ReplaceOptions{Orphans: c.Orphans, KeepAfter: func() []string { return col.keep }})
	}
	// else: a network read that failed would fail the write at its end; it
	// is not opened (on PostgreSQL a first load holds the catalog tables
	// while it runs).
	res = col.CatalogRefreshResult
	if res.Entities >= releaseAfter {
		// What a large refresh parsed and wrote is garbage now. Left to
		// the runtime, the heap it grew stays resident until the next
		// forced GC (two minutes) and is handed back slowly: a worker that
		// refreshed 100k entities would sit at its peak. One full GC and
		// scavenge per large refresh costs milliseconds.
		debug.FreeOSMemory()
	}
	if walkErr != nil && !errors.Is(walkErr, errStopped) {
		// An unreadable file or a location over its limits stays that way:
		// record why and do not retry.
		c.recordFailure(ctx, loc.ID, walkErr)
		return res, temporal.NewNonRetryableApplicationError(walkErr.Error(), "LocationRejected", walkErr)
	}
	if err != nil {
		c.recordFailure(ctx, loc.ID, err)
		return res, err
	}
	c.startDocs(ctx, loc, docsRefs)
	for _, cf := range rr.Conflicts {
		res.Errors = append(res.Errors, fmt.Sprintf("%s is already defined by location %s; keeping that one", cf.Ref, cf.OwnerLocation))
	}
	res.Inserted, res.Updated, res.Unchanged, res.Removed, res.Orphaned = rr.Inserted, rr.Updated, rr.Unchanged, rr.Removed, rr.Orphaned
	c.auditChanges(ctx, loc, rr)
	status := strings.Join(res.Errors, "\n")
	if err := c.Store.SetLocationStatus(ctx, loc.ID, status, time.Now()); err != nil {
		return res, err
	}
	tm := rr.Timing
	c.Logger.InfoContext(ctx, "catalog location refreshed", "location", loc.ID, "target", loc.Target,
		"entities", res.Entities, "inserted", res.Inserted, "updated", res.Updated, "removed", res.Removed, "errors", len(res.Errors),
		// Where the store's write went (store.ReplaceTiming), in ms.
		slog.Group("ms", "waitingForParse", tm.Wait.Milliseconds(), "write", tm.Write.Milliseconds(), "finish", tm.Finish.Milliseconds(),
			"analyze", tm.Analyze.Milliseconds(), "commit", tm.Commit.Milliseconds()))
	return res, nil
}

// refreshProgress is what a running refresh reports with its heartbeats.
type refreshProgress struct {
	Location     string `json:"location"`
	EntitiesRead int64  `json:"entitiesRead"`
}

// releaseAfter is the number of entities read by one refresh after which the
// worker returns the memory it used to the OS.
const releaseAfter = 1000

// collected is a refresh result plus the refs to keep as stored.
type collected struct {
	contract.CatalogRefreshResult
	keep []string
}

// recordFailure notes a failed refresh on the location (best effort: the
// failure itself is what the caller returns).
func (c *Catalog) recordFailure(ctx context.Context, id string, cause error) {
	if err := c.Store.SetLocationStatus(ctx, id, cause.Error(), time.Now()); err != nil {
		c.Logger.WarnContext(ctx, "record location failure", "location", id, "error", err)
	}
}

// errStopped is walk's error when its consumer stopped it.
var errStopped = errors.New("stopped by the consumer")

// walk reads a location (following nested Location entities), parses,
// validates and applies the catalog rules, handing the store rows of each
// file to each in file order as soon as they are ready, while the next files
// are parsed. It returns a result holding every problem met, and an error
// when a file cannot be read or parsed as a whole, when the location is
// over its limits, or (errStopped) when each returns false.
func (c *Catalog) walk(ctx context.Context, loc store.Location, each func([]store.Entity) bool) (collected, error) {
	var res collected
	src := catalog.Source{Type: loc.Type, Target: loc.Target, Static: loc.Static}
	// One refresh reads with one set of rules and reading policy, even if
	// a reload swaps them meanwhile.
	r := &reading{access: c.access()}
	defer r.close()
	entities := 0
	queue := []source{rootSource(loc)}
	seen := map[source]bool{}
	readFiles := map[string]bool{}
	for depth := 0; len(queue) > 0 && depth <= maxNested; depth++ {
		var next, todo []source
		for _, s := range queue {
			if !seen[s] {
				seen[s] = true
				todo = append(todo, s)
			}
		}
		var err error
		c.readSources(ctx, r, loc, src, todo, func(got sourceFiles) bool {
			// A file that cannot be read or parsed as a whole fails the
			// refresh: dropping its entities as if deleted would lose data.
			if got.err != nil {
				err = got.err
				return false
			}
			for _, f := range got.files {
				if readFiles[f.name] {
					continue // reached again through a nested Location
				}
				readFiles[f.name] = true
				res.Files++
				if f.err != nil {
					err = f.err
					return false
				}
				if entities += len(f.rows); entities > c.Limits.MaxEntities && c.Limits.MaxEntities > 0 {
					err = fmt.Errorf("location %s defines more than %d entities", loc.Target, c.Limits.MaxEntities)
					return false
				}
				res.Errors = append(res.Errors, f.errors...)
				res.keep = append(res.keep, f.keep...)
				next = append(next, f.next...)
				if !each(f.rows) {
					err = errStopped
					return false
				}
			}
			return true
		})
		if err != nil {
			return res, err
		}
		queue = next
	}
	res.Entities = entities
	return res, nil
}

// processed is what one file of a location yields.
type processed struct {
	name   string
	rows   []store.Entity
	errors []string
	keep   []string
	next   []source
	// err fails the whole refresh (the file cannot be parsed as a whole).
	err error
}

// sourceFiles is what one source of a location yields, file by file.
type sourceFiles struct {
	files []processed
	err   error
	// byCaller says readSources' caller parsed it (for tests).
	byCaller bool
}

// readSources reads, parses, validates and turns into rows the files of each
// source, handing each source's files to each in source order until it
// returns false. Each runs on the calling goroutine (it writes to the
// store); parseWorkers goroutines parse the sources. Where they leave the
// caller's CPU to it, the caller parses too while the source it needs next
// is not ready. Sources are parsed at most one per CPU (plus one) ahead of
// the one each has, which bounds the rows held in memory.
func (c *Catalog) readSources(ctx context.Context, r *reading, loc store.Location, src catalog.Source, sources []source, each func(sourceFiles) bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	procs := runtime.GOMAXPROCS(0)
	workers := min(len(sources), parseWorkers(procs, writesInProcess(c.Store)))
	help := workers < procs
	done := make([]chan sourceFiles, len(sources))
	for i := range done {
		done[i] = make(chan sourceFiles, 1)
	}
	// A token in ahead is a source taken and not yet handed to each.
	ahead := make(chan struct{}, procs+1)
	var next atomic.Int64
	var mu sync.Mutex // placeholders read through r one at a time
	// parse parses the first source nobody took, holding a token: false
	// (the token given back) when none is left or ctx is done.
	parse := func(byCaller bool) bool {
		if ctx.Err() != nil {
			<-ahead
			return false
		}
		i := int(next.Add(1)) - 1
		if i >= len(sources) {
			<-ahead
			return false
		}
		out := sourceFiles{byCaller: byCaller}
		s := sources[i]
		files, err := c.read(ctx, r, s, loc.Static)
		out.err = err
		for _, f := range files {
			out.files = append(out.files, c.processFile(ctx, r, &mu, s, loc, src, f))
		}
		done[i] <- out
		return true
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case ahead <- struct{}{}:
				case <-ctx.Done():
					return
				}
				if !parse(false) {
					return
				}
			}
		})
	}
	// tryTake takes a token if the bound allows it, without waiting.
	tryTake := func() bool {
		select {
		case ahead <- struct{}{}:
			return true
		default:
			return false
		}
	}
	// ready is source i once parsed. Till then, if the caller helps, it
	// parses the first source nobody took (i itself or a later one) while
	// one is left and the bound allows it; then it waits.
	ready := func(i int) sourceFiles {
		for help {
			select {
			case got := <-done[i]:
				<-ahead
				return got
			default:
			}
			if !tryTake() {
				break
			}
			help = parse(true) // false: none is left, or ctx is done
		}
		select {
		case got := <-done[i]:
			<-ahead
			return got
		case <-ctx.Done():
			return sourceFiles{err: ctx.Err()}
		}
	}
	for i := range sources {
		if !each(ready(i)) {
			break
		}
	}
	cancel()
	wg.Wait()
}

// parseWorkers is how many goroutines parse a location's sources on procs
// CPUs, beside the caller's that writes them. A store that writes in this
// process (SQLite's library, on the writer's thread) has every CPU parse:
// the writer's thread gets its share of a CPU from the kernel. A database
// server is left one: the writer's goroutine wakes to each of its answers
// only once Go has a CPU for it, and the server needs one too. On 2 cores,
// parsing on 2 kept a 100k-entity PostgreSQL load's writer waiting (17 s to
// queryable against 14.9-15.8 s on 1; 10k: 1.85 s against 1.73 s), while
// SQLite's 10k loads were 30-40 ms slower on 1.
func parseWorkers(procs int, inProcess bool) int {
	if inProcess {
		return max(1, procs)
	}
	return max(1, procs-1)
}

// writesInProcess says st writes on the calling goroutine's thread
// (store.SQL.WritesInProcess); a store that does not say is taken to be a
// server.
func writesInProcess(st store.Store) bool {
	w, ok := st.(interface{ WritesInProcess() bool })
	return ok && w.WritesInProcess()
}

func (c *Catalog) processFile(ctx context.Context, r *reading, mu *sync.Mutex, s source, loc store.Location, src catalog.Source, f file) processed {
	p := processed{name: f.name}
	docs, err := catalog.ParseWith(f.name, f.data, c.Limits, catalog.Policy{Model: c.Model})
	if err != nil {
		p.err = err
		return p
	}
	for _, d := range docs {
		// An invalid document whose ref is known keeps its last good
		// version in the store.
		reject := func(msgs ...string) {
			p.errors = append(p.errors, msgs...)
			if d.Ref != "" {
				p.keep = append(p.keep, d.Ref)
			}
		}
		if d.Entity == nil {
			for _, e := range d.Errors {
				reject(e.Error())
			}
			continue
		}
		if err := r.access.Rules.Allowed(d.Entity, src, r.access.StaticRules[loc.Target]); err != nil {
			reject(fmt.Sprintf("%s: document %d: %v", f.name, d.Index+1, err))
			continue
		}
		mu.Lock()
		err := c.resolvePlaceholders(ctx, r, s, f.name, d.Entity)
		mu.Unlock()
		if err != nil {
			reject(fmt.Sprintf("%s: document %d: %v", f.name, d.Index+1, err))
			continue
		}
		if strings.EqualFold(d.Entity.Kind(), "Location") {
			p.next = append(p.next, nestedTargets(s, f.name, d.Entity)...)
		}
		row, err := c.toRow(d.Entity, loc, fileRef(s, f.name))
		if err != nil {
			p.errors = append(p.errors, fmt.Sprintf("%s: document %d: %v", f.name, d.Index+1, err))
			continue
		}
		p.rows = append(p.rows, row)
	}
	return p
}

// maxAnalyzeBytes bounds what a dry run returns (it travels through workflow
// history, whose payloads are limited to a few MiB).
const maxAnalyzeBytes = 1 << 20

// AnalyzeLocation implements contract.CatalogAnalyzeLocation: a dry run that
// reads a location as if registered and returns its entities, storing nothing.
func (c *Catalog) AnalyzeLocation(ctx context.Context, in contract.CatalogAnalyzeInput) (contract.CatalogAnalyzeResult, error) {
	defer keepAlive(ctx, nil)()
	var out contract.CatalogAnalyzeResult
	size := 0
	col, err := c.walk(ctx, store.Location{Type: in.Type, Target: in.Target}, func(rows []store.Entity) bool {
		for _, r := range rows {
			if size += len(r.Body); size > maxAnalyzeBytes {
				out.Truncated = true
				break
			}
			out.Entities = append(out.Entities, r.Body)
		}
		return true
	})
	out.Errors = col.Errors
	if err != nil {
		out.Entities, out.Truncated = nil, false
		out.Errors = append(out.Errors, err.Error())
	}
	return out, nil
}

// fileRef is the location ref of the file an entity came from, for its
// backstage.io/managed-by-location annotation (relative references, such as
// a template's skeleton, resolve against it).
func fileRef(s source, name string) string {
	switch s.typ {
	case "file":
		return "file:" + name
	case "git", "gitfile":
		// name is <repo>[?ref=<branch>]#<path in the repository>. A file of
		// a url location read through a clone keeps the browse URL form
		// Backstage shows (and skeletons resolve against).
		repo, file, _ := strings.Cut(name, "#")
		if repo, branch, ok := strings.Cut(repo, "?ref="); ok && strings.HasPrefix(repo, "https://") {
			return "url:" + strings.TrimSuffix(repo, ".git") + "/blob/" + branch + "/" + file
		}
		return "git:" + name
	}
	return "url:" + name
}

// toRow turns a validated entity into a store row.
func (c *Catalog) toRow(e catalog.Entity, loc store.Location, file string) (store.Entity, error) {
	delete(e, "relations")
	md := e.Metadata()
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		md["annotations"] = ann
	}
	ann["backstage.io/managed-by-location"] = file
	ann["backstage.io/managed-by-origin-location"] = loc.Type + ":" + loc.Target
	delete(md, "uid")
	delete(md, "etag")
	return c.Model.Row(e)
}

// reading holds what one refresh opened: the clone of a git location.
type reading struct {
	access  CatalogAccess
	root    *os.Root
	label   string
	cleanup func()
}

func (r *reading) close() {
	if r.cleanup != nil {
		r.cleanup()
	}
}

type file struct {
	name string
	data []byte
}

// read returns the files of a location: a file path or glob, or a URL.
func (c *Catalog) read(ctx context.Context, r *reading, s source, static bool) ([]file, error) {
	maxBytes := int64(c.Limits.DocumentBytes)
	switch s.typ {
	case "git":
		repo, pattern := SplitGitTarget(s.target)
		g := r.access.Git
		g.AllowLocal = g.AllowLocal || static
		root, cleanup, err := g.clone(ctx, repo, s.branch)
		if err != nil {
			return nil, fmt.Errorf("location %s: %w", s.target, err)
		}
		// The label names files (and so the managed-by-location of their
		// entities, against which a template's skeleton resolves).
		label := repo
		if s.branch != "" {
			label += "?ref=" + s.branch
		}
		r.root, r.label, r.cleanup = root, label, cleanup
		return readRoot(root, label, pattern, maxBytes)
	case "gitfile":
		if r.root == nil {
			return nil, fmt.Errorf("%s: no repository open", s.target)
		}
		return readRoot(r.root, r.label, s.target, maxBytes)
	case "file":
		matches, err := filepath.Glob(s.target)
		if err != nil {
			return nil, fmt.Errorf("location %s: bad glob: %v", s.target, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("location %s: no such file", s.target)
		}
		// A directory means its catalog-info.yaml, as Backstage reads a
		// repository's root.
		if len(matches) == 1 && matches[0] == s.target {
			if info, err := os.Stat(s.target); err == nil && info.IsDir() {
				f := filepath.Join(s.target, "catalog-info.yaml")
				if _, err := os.Stat(f); err != nil {
					return nil, fmt.Errorf("location %s is a directory without a catalog-info.yaml: name a file, or a glob such as %s", s.target, filepath.Join(s.target, "*.yaml"))
				}
				matches = []string{f}
			}
		}
		var out []file
		for _, m := range matches {
			info, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("location %s: %v", m, err)
			}
			if info.IsDir() {
				continue
			}
			if info.Size() > maxBytes {
				return nil, fmt.Errorf("%s: file is %d bytes, more than the limit of %d", m, info.Size(), maxBytes)
			}
			data, err := os.ReadFile(m)
			if err != nil {
				return nil, fmt.Errorf("location %s: %v", m, err)
			}
			out = append(out, file{name: m, data: data})
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("location %s matches only directories: name files, or a glob of files such as %s", s.target, filepath.Join(s.target, "*.yaml"))
		}
		return out, nil
	case "url":
		data, err := netguard.Get(ctx, r.access.HTTP, s.target, maxBytes)
		if err != nil {
			return nil, fmt.Errorf("location %s: %w", s.target, err)
		}
		return []file{{name: s.target, data: data}}, nil
	default:
		return nil, fmt.Errorf("location type %q is not supported yet (file and url are)", s.typ)
	}
}

// nestedTargets resolves a Location entity's targets relative to the file it
// was read from; a nested location cannot switch from url to file.
func nestedTargets(parent source, fileName string, e catalog.Entity) []source {
	spec := e.Spec()
	var targets []string
	if t, ok := spec["target"].(string); ok {
		targets = append(targets, t)
	}
	if l, ok := spec["targets"].([]any); ok {
		for _, t := range l {
			if s, ok := t.(string); ok {
				targets = append(targets, s)
			}
		}
	}
	typ, _ := spec["type"].(string)
	if typ == "" {
		typ = parent.typ
	}
	var out []source
	for _, t := range targets {
		switch {
		case (parent.typ == "git" || parent.typ == "gitfile") && isHTTPURL(t):
			// An absolute URL from a repository's file (Backstage's all.yaml
			// pointing at other repositories): read as a url location.
			out = append(out, rootSource(store.Location{Type: "url", Target: t}))
		case parent.typ == "git" || parent.typ == "gitfile":
			// Inside a repository: relative to the file, confined to the clone.
			_, inRepo, _ := strings.Cut(fileName, "#")
			out = append(out, source{typ: "gitfile", target: path.Join(path.Dir(inRepo), t)})
		case parent.typ == "file" && typ == "file":
			if !filepath.IsAbs(t) {
				t = filepath.Join(filepath.Dir(fileName), t)
			}
			out = append(out, source{typ: "file", target: filepath.Clean(t)})
		case parent.typ == "url" && typ == "url":
			base, err := url.Parse(fileName)
			if err != nil {
				continue
			}
			ref, err := url.Parse(t)
			if err != nil {
				continue
			}
			out = append(out, source{typ: "url", target: base.ResolveReference(ref).String()})
		}
	}
	return out
}

// isHTTPURL reports whether t is an absolute http(s) URL.
func isHTTPURL(t string) bool {
	u, err := url.Parse(t)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// materialize runs a row stream to its end and replays it.
func materialize(rows iter.Seq2[store.Entity, error]) iter.Seq2[store.Entity, error] {
	var all []store.Entity
	var failed error
	for e, err := range rows {
		if err != nil {
			failed = err
			break
		}
		all = append(all, e)
	}
	return func(yield func(store.Entity, error) bool) {
		for _, e := range all {
			if !yield(e, nil) {
				return
			}
		}
		if failed != nil {
			yield(store.Entity{}, failed)
		}
	}
}

// auditChanges records what a refresh changed in the catalog: one event
// per kind of change (create, update, delete) with its count, attributed
// to the refresh of the location (who registered the location is in its
// catalog.location.create event).
func (c *Catalog) auditChanges(ctx context.Context, loc store.Location, rr store.ReplaceResult) {
	if c.Audit == nil {
		return
	}
	for _, ch := range []struct {
		action string
		n      int
	}{{"catalog.entity.create", rr.Inserted}, {"catalog.entity.update", rr.Updated}, {"catalog.entity.delete", rr.Removed + rr.Orphaned}} {
		if ch.n == 0 {
			continue
		}
		c.Audit.Record(ctx, audit.Event{Actor: "system:catalog-refresh", ActorKind: audit.ActorSystem, Action: ch.action,
			Target: "location:" + loc.ID, Decision: audit.Allow,
			Details: map[string]string{"count": strconv.Itoa(ch.n), "location": audit.RedactURL(loc.Target)}})
	}
}

// techdocsAnnotation marks the bodies of entities that name their docs.
var techdocsAnnotation = []byte(`"backstage.io/techdocs-ref"`)

// maxDocsStarts bounds the docs builds one refresh starts (the rest are
// built when first viewed).
const maxDocsStarts = 500

// startDocs starts the docs builds a refresh calls for: every entity of a
// file location (its build skips an unchanged source cheaply, and a local
// edit of the docs shows at the next refresh), and of other locations
// those never built or changed since their last build (a remote source is
// cloned to build; its later changes are built when the docs are viewed).
// Failing to start one is logged, not a failed refresh.
func (c *Catalog) startDocs(ctx context.Context, loc store.Location, refs []string) {
	for i, ref := range refs {
		if i == maxDocsStarts {
			c.Logger.WarnContext(ctx, "docs builds not started on ingestion: too many", "location", loc.ID, "count", len(refs)-i)
			return
		}
		if loc.Type != "file" {
			site, err := c.Store.DocsSite(ctx, ref)
			if err == nil {
				e, err := c.Store.EntityByRef(ctx, ref)
				if err != nil || !e.UpdatedAt.After(site.AttemptedAt) {
					continue
				}
			}
		}
		if err := c.StartDocs(ctx, ref); err != nil {
			c.Logger.WarnContext(ctx, "start docs build", "entity", ref, "error", err)
		}
	}
}
