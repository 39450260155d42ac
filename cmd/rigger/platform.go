package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/riggerdev/rigger/api"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/binpages"
	"github.com/riggerdev/rigger/internal/config"
	creds "github.com/riggerdev/rigger/internal/credentials"
	"github.com/riggerdev/rigger/internal/engine"
	"github.com/riggerdev/rigger/internal/gcfloor"
	"github.com/riggerdev/rigger/internal/githost"
	"github.com/riggerdev/rigger/internal/liveconfig"
	"github.com/riggerdev/rigger/internal/mcpserver"
	"github.com/riggerdev/rigger/internal/metrics"
	"github.com/riggerdev/rigger/internal/payloadcodec"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/internal/tracing"
	"github.com/riggerdev/rigger/web"
	"github.com/riggerdev/rigger/worker"
)

type mode string

const (
	modeDev    mode = "dev"
	modeServer mode = "server"
	modeWorker mode = "worker"
)

// embeddedTemporal is the part of the embedded dev server the wiring needs;
// binaries built with -tags nodevserver have none.
type embeddedTemporal interface {
	FrontendAddress() string
	UIURL() string
	Stop()
	// SearchAttributesSettled: rigger's search attributes are registered
	// (registeredNow: some just now), the server may trust its caches.
	SearchAttributesSettled(registeredNow bool)
}

// devHeapHeadroom and serverHeapHeadroom are rigger dev's and rigger
// server's heap floors (gcfloor), held while they serve: rigger server's
// live heap is ~10 MB, so GOGC alone collected every ~250 by-name reads
// (~35 kB each), ten times a second under a steady stream, and the reads
// beside a collection were most of the slowest. With 64 MiB, on 10k
// entities on PostgreSQL (2026-12-07, 3,000 reads a run): by-name p99
// 1.09-1.16 ms instead of 1.36-1.40, an owner page's p99 3.0-3.9 ms
// instead of 4.1-4.3, for ~107 MiB of RSS under that load instead of ~50.
// Once a whole heapIdlePeriod passes without requests (5-10 s after the
// last) the memory is handed back (gcfloor). rigger worker has none: its
// peak is a catalog load's.
const (
	devHeapHeadroom    = 128 << 20
	serverHeapHeadroom = 64 << 20
	heapIdlePeriod     = 5 * time.Second
)

// heapHeadroom is mode m's heap floor (dev or server) under a memory limit
// of limit bytes (limited: one is set), and whether the limit lowered it:
// in a container with a small limit the floor is a quarter of it at most
// (128 MiB for a server leaves 32).
func heapHeadroom(m mode, limit uint64, limited bool) (headroom uint64, lowered bool) {
	headroom = devHeapHeadroom
	if m == modeServer {
		headroom = serverHeapHeadroom
	}
	if limited && headroom > limit/4 {
		return limit / 4, true
	}
	return headroom, false
}

// cgroupMemoryLimit is the memory limit the process's cgroups put on it:
// the smallest set at any level from its group (read from self,
// /proc/self/cgroup) up to the root (root, /sys/fs/cgroup), in cgroup v2
// (memory.max) and in v1's memory hierarchy (root/memory,
// memory.limit_in_bytes). A container's namespace shows its own group as
// the root. false when no level sets one ("max", v1's huge "unlimited")
// or none is readable. A group path with ".." (a group outside the
// namespace) is not followed.
func cgroupMemoryLimit(self, root string) (uint64, bool) {
	var v2, v1 string // the process's groups, "" unknown
	if b, err := os.ReadFile(self); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.SplitN(line, ":", 3)
			switch {
			case len(f) != 3:
			case f[0] == "0" && f[1] == "":
				v2 = f[2]
			case slices.Contains(strings.Split(f[1], ","), "memory"):
				v1 = f[2]
			}
		}
	}
	var limit uint64
	found := false
	levels := func(base, group, file string) {
		dirs := []string{base}
		if group != "" && !slices.Contains(strings.Split(group, "/"), "..") {
			for g := path.Clean("/" + group); g != "/"; g = path.Dir(g) {
				dirs = append(dirs, filepath.Join(base, filepath.FromSlash(g)))
			}
		}
		for _, d := range dirs {
			if n, ok := readMemoryLimit(filepath.Join(d, file)); ok && (!found || n < limit) {
				limit, found = n, true
			}
		}
	}
	levels(root, v2, "memory.max")
	levels(filepath.Join(root, "memory"), v1, "memory.limit_in_bytes")
	return limit, found
}

// readMemoryLimit reads one cgroup limit file: false for "max", v1's
// "unlimited" (a number near 2^63) and anything unreadable.
func readMemoryLimit(file string) (uint64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n == 0 || n >= 1<<60 {
		return 0, false
	}
	return n, true
}

// releaseStartupPages hands back, a second after the process is ready,
// the pages of the executable its startup mapped (binpages): 50 of an
// idle rigger server's 67 MiB of RSS. What it runs again is mapped again.
func releaseStartupPages(logger *slog.Logger) {
	time.AfterFunc(time.Second, func() { releaseExecutablePages(logger, "startup") })
}

// releaseExecutablePages hands back the pages of the executable mapped
// since the process started or was last idle (when names which).
func releaseExecutablePages(logger *slog.Logger, when string) {
	n, err := binpages.Release()
	if errors.Is(err, errors.ErrUnsupported) {
		return // not on Linux: nothing to hand back, nothing to say
	}
	if err != nil {
		logger.Warn("could not hand back the executable's "+when+" pages", "err", err)
		return
	}
	if n == 0 {
		if when == "startup" { // said once, not at every idle period
			logger.Info("found no read-only mapping of the executable to hand back")
		}
		return
	}
	logger.Debug("handed back the executable's "+when+" pages", "mapped_bytes", n)
}

// gcTuned reports whether the environment tunes the garbage collector
// (GOGC or GOMEMLIMIT), which then stays as told.
func (c *cli) gcTuned() bool {
	_, gogc := c.env("GOGC")
	_, limit := c.env("GOMEMLIMIT")
	return gogc || limit
}

// runPlatform starts what mode needs, blocks until ctx is cancelled (SIGINT or
// SIGTERM), then stops everything in order: HTTP, workers, client, server.
// Meanwhile it reloads the configuration file with reread on SIGHUP and
// when the file changes (reload.go).
func (c *cli) runPlatform(ctx context.Context, cfg *config.Config, reread liveconfig.Loader, m mode, queues []string) error {
	logger := newLogger(c.stderr, cfg.Server.LogLevel, cfg.Server.LogFormat).With("mode", string(m))
	started := time.Now()
	privateFiles()
	if err := tightenDataDir(cfg.Server.DataDir); err != nil {
		return err
	}
	if addr, ok := c.env("RIGGER_PPROF_LISTEN"); ok && addr != "" {
		if err := startProfiler(addr, logger); err != nil {
			return err
		}
	}
	if (m == modeDev || m == modeServer) && !c.gcTuned() {
		// rigger dev's live heap is small (~35 MB with a 10k catalog), so
		// GOGC alone collected every few dozen catalog reads, and the
		// reads beside a collection were most of the slowest: the goal is
		// kept 128 MiB above the live heap (at most that much more memory),
		// 64 MiB for rigger server, while requests come.
		limit, limited := cgroupMemoryLimit("/proc/self/cgroup", "/sys/fs/cgroup")
		headroom, lowered := heapHeadroom(m, limit, limited)
		if lowered {
			logger.Info("heap floor lowered to a quarter of the memory limit", "limit_bytes", limit, "floor_bytes", headroom)
		}
		// Idle, the code the requests ran is handed back too, as at
		// startup: an idle rigger server after 6,000 reads held 47 MiB,
		// 25 of them pages of the binary.
		defer gcfloor.Start(100, headroom, heapIdlePeriod, func() { releaseExecutablePages(logger, "serving") }).Stop()
	}

	if cfg.File != "" {
		logger.Info("configuration read", "file", cfg.File)
	} else {
		logger.Info("no configuration file (no --config, RIGGER_CONFIG or ./" + defaultConfigFile + "): defaults, environment and flags")
	}
	for _, w := range cfg.PathWarnings(filepath.Glob) {
		logger.Warn("configuration: " + w)
		fmt.Fprintln(c.stdout, "warning:", w)
	}

	var authn auth.Authenticator
	if m != modeWorker {
		a, err := authenticator(cfg, m)
		if err != nil {
			return err
		}
		authn = a
		if g := cfg.Auth.Guest; m == modeServer && g.Access != "" {
			w := fmt.Sprintf("auth.guest is on: callers without a credential from %s may read non-sensitive catalog entities and docs (every guest read is audited); turn it off once everyone signs in",
				strings.Join(g.Networks, ", "))
			logger.Warn(w)
			fmt.Fprintln(c.stdout, "warning:", w)
		}
	}

	codec, err := payloadCodec(cfg, m == modeDev, logger)
	if err != nil {
		return err
	}
	address := cfg.Temporal.Address
	var embedded embeddedTemporal
	if address == "" {
		if m != modeDev {
			return fmt.Errorf("rigger %s needs temporal.address (--temporal-address or RIGGER_TEMPORAL_ADDRESS); only rigger dev embeds a Temporal server", m)
		}
		// Its Temporal UI decodes payloads through this process's API.
		codecEndpoint := ""
		if codec != nil {
			codecEndpoint = "http://" + loopbackAddress(cfg.Server.Listen) + "/api/temporal-codec"
		}
		e, err := startEmbedded(cfg, codecEndpoint, serverLogger(cfg, c.stderr))
		if err != nil {
			return err
		}
		embedded = e
		defer func() {
			embedded.Stop()
			logger.Info("temporal server stopped")
		}()
		address = e.FrontendAddress()
	}

	// Metrics: this process's, on their own listener when configured.
	mx := metrics.New()
	metricsURL := ""
	if cfg.Server.MetricsListen != "" {
		addr, err := mx.Serve(ctx, cfg.Server.MetricsListen, logger)
		if err != nil {
			return err
		}
		metricsURL = "http://" + addr + "/metrics"
	}
	// Traces, when tracing.endpoint names a collector.
	var tr *tracing.Tracing
	if cfg.Tracing.Endpoint != "" {
		t, err := tracing.New(ctx, tracing.Options{Endpoint: cfg.Tracing.Endpoint, SampleRatio: float64(cfg.Tracing.SamplePercent) / 100,
			Service: "rigger-" + string(m)})
		if err != nil {
			return err
		}
		tr = t
		defer func() {
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tr.Shutdown(shut); err != nil {
				logger.Warn("tracing: spans not sent at shutdown", "error", err)
			}
		}()
		logger.Info("tracing on", "endpoint", cfg.Tracing.Endpoint, "sample_percent", cfg.Tracing.SamplePercent)
	}
	eo := engineOptions(cfg, address)
	eo.Logger = logger.With("component", "temporal-sdk")
	eo.Codec = codec
	eo.Metrics = mx.Temporal()
	if ti, err := tr.Interceptor(); err != nil {
		return fmt.Errorf("tracing: %w", err)
	} else if ti != nil {
		eo.Interceptors = append(eo.Interceptors, ti)
	}
	if embedded == nil {
		fmt.Fprintf(c.stdout, "Connecting to Temporal at %s (namespace %s)...\n", address, cfg.Temporal.Namespace)
		eo.Retrying = func(err error, waited time.Duration) {
			fmt.Fprintf(c.stdout, "  still connecting to Temporal at %s after %s, retrying: %v\n", address, waited.Round(time.Second), err)
			logger.Warn("temporal not reachable yet, retrying", "temporal", address, "waited", waited.String(), "error", err)
		}
	}
	tc, err := engine.Dial(ctx, eo)
	if err != nil {
		return err
	}
	defer tc.Close()
	logger.Info("temporal connected", "temporal", address, "namespace", cfg.Temporal.Namespace, "gzip", eo.Gzip())
	// The permission policy: one that does not load stops start-up (after
	// the cluster connection, whose files are checked there too).
	// Workers need it too: their credential brokers ask it.
	policy, err := loadPolicy(cfg, logger)
	if err != nil {
		return err
	}

	if m != modeWorker {
		registered, err := engine.RegisterSearchAttributes(ctx, tc, cfg.Temporal.Namespace, searchattr.Definitions())
		if err == nil && embedded != nil {
			embedded.SearchAttributesSettled(registered)
		}
		if err != nil {
			if embedded != nil {
				return err
			}
			// On a shared cluster rigger may lack operator rights: an admin
			// registers them once (README shows the temporal CLI command).
			logger.Warn("search attributes not registered; listing runs by template, user or status will fail", "error", err)
		}
	}

	// The catalog store: workers write it, the API reads it. A worker-only
	// process for queues without database work would skip it; today every
	// queue needs it.
	st, err := openStore(ctx, cfg, m != modeWorker)
	if err != nil {
		return fmt.Errorf("catalog store: %w", err)
	}
	defer st.Close()
	audits, err := openAudit(cfg, st, c.stdout, logger)
	if err != nil {
		return err
	}
	defer audits.Close() // after the HTTP server stopped: stores every queued event
	var tokenDeps api.TokenDeps
	var signInDeps api.SignInDeps
	if m != modeWorker {
		if authn, tokenDeps, signInDeps, err = tokenAuth(ctx, cfg, st, m, authn, logger); err != nil {
			return err
		}
	}

	var workersUp atomic.Bool
	var workers []sdkworker.Worker
	keeper, err := secretKeeper(cfg, st, m == modeDev)
	if err != nil {
		return fmt.Errorf("scaffolder secrets: %w", err)
	}
	catalogActs, err := catalogActivities(cfg, st, c, m == modeDev)
	if err != nil {
		return err
	}
	catalogActs.Audit = audits.recorder()
	catalogActs.Metrics = mx
	sites, err := docsSites(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	docsBuilder := docsBuilds(cfg, tc, catalogActs, sites)
	scaffold, err := scaffoldActivities(cfg, logger, keeper, catalogActs)
	if err != nil {
		return err
	}
	actions, err := actionRegistry(cfg, cfg.Scaffolder.DisabledActions)
	if err != nil {
		return err
	}
	if m != modeWorker {
		if err := checkDisabledActions(ctx, cfg, st, actions, logger, c.stdout); err != nil {
			return err
		}
	}
	scaffold.Audit = audits.recorder()
	// Every step asks the live disabled set before it runs (a reload
	// replaces it), on a worker as on the API.
	scaffold.Disabled = actions
	// catalog:fetch reads only what the run's user may read (nil policy:
	// permission.enabled is false, everything is readable).
	scaffold.Policy = policy
	scaffold.Metrics = mx
	scaffold.Waits = st
	signer, verifier, err := runSigning(cfg, m == modeDev)
	if err != nil {
		return err
	}
	marker, err := runMarker(cfg, m == modeDev, signer)
	if err != nil {
		return fmt.Errorf("scaffolder run marks: %w", err)
	}
	scaffold.Trust = runTrust(cfg, verifier)
	scaffold.Trust.Marker = marker
	switch {
	case verifier == nil:
		logger.Warn("no scaffolder.runSigningKey: this server starts no scaffolder tasks and this worker runs none")
	case marker == nil:
		logger.Warn("no scaffolder.secretKey and only the public scaffolder.runSigningKey: this worker cannot mark or check rendered steps and runs no scaffolder step; give every worker and the server the same scaffolder.secretKey")
	case signer != nil && m != modeWorker:
		logger.Info("scaffolder runs are signed; workers may verify them with the public key", "runSigningPublicKey", runsign.PublicString(signer.PublicKey()))
	}
	var gitHost *githost.Host
	if m == modeDev {
		if gitHost, err = devGitHost(cfg); err != nil {
			logger.Warn("no git host for the example templates: " + err.Error())
			gitHost = nil
		} else {
			seedDevCatalog(gitHost, logger)
		}
	}
	use := forWorkers
	if m == modeServer {
		use = forServerDryRuns
	}
	var ut creds.UserTokens
	if u, err := userTokens(cfg, st, m == modeDev); err != nil {
		return err
	} else if u != nil {
		ut = u
	}
	integrations, err := integrationActions(cfg, queuesWithActions(m, queues), policy, gitHost, logger, use, audits.recorder(), ut)
	if err != nil {
		return err
	}
	if m != modeServer {
		for _, q := range queues {
			if m == modeDev && q != worker.DefaultQueue && len(integrations[q]) == 0 {
				logger.Info("no worker for "+q+": its integration is not configured (its steps wait until a worker serves it)", "queue", q)
				continue
			}
			w, err := worker.New(tc, q, worker.Deps{
				Logger:       logger.With("component", "worker", "queue", q),
				Catalog:      catalogActs,
				Docs:         docsBuilder,
				Scaffold:     scaffold,
				Integrations: integrations,
			})
			if err != nil {
				return err
			}
			if err := w.Start(); err != nil {
				return fmt.Errorf("start worker for %s: %w", q, err)
			}
			workers = append(workers, w)
		}
		workersUp.Store(true)
		go sweepWorkspaces(ctx, scaffold.Workspaces, cfg.Scaffolder.WorkspaceTTL, logger)
		defer func() {
			workersUp.Store(false)
			for _, w := range workers {
				w.Stop() // drains in-flight tasks
			}
			logger.Info("workers stopped")
		}()
	}

	parts := liveParts{m: m, dev: m == modeDev, st: st, policy: policy, catalog: catalogActs, scaffold: scaffold, steps: actions, audit: audits.log, logger: logger}
	if m == modeWorker {
		startReloads(ctx, cfg, c.configData, reread, parts, audits.recorder(), c.stdout)
		logger.Info("rigger worker ready", "queues", queues, "temporal", address, "namespace", cfg.Temporal.Namespace,
			"startup_ms", time.Since(started).Milliseconds())
		fmt.Fprintf(c.stdout, "Rigger worker is ready: queues %v on %s (namespace %s)\n", queues, address, cfg.Temporal.Namespace)
		releaseStartupPages(logger)
		if metricsURL != "" {
			fmt.Fprintf(c.stdout, "  Metrics:         %s\n", metricsURL)
		}
		<-ctx.Done()
		logger.Info("shutting down", "reason", context.Cause(ctx))
		return nil
	}

	uiURL := cfg.Temporal.UIURL
	if embedded != nil && uiURL == "" {
		uiURL = embedded.UIURL()
	}
	// The static locations of a configuration (rigger dev adds its git
	// host's shared catalog once something was merged into it).
	locations := func(ctx context.Context, c *config.Config) error {
		return ensureStaticLocations(ctx, withDevCatalog(gitHost, c), st, tc, payloadcodec.DataConverter(eo.Codec), logger)
	}
	var live *liveconfig.Live
	if gitHost != nil {
		current := func() *config.Config {
			if live != nil {
				return live.Current()
			}
			return cfg
		}
		watchDevCatalog(current, gitHost, func(c *config.Config) error { return locations(ctx, c) }, logger)
	}
	if err := locations(ctx, cfg); err != nil {
		return err
	}
	parts.actions = actions
	parts.locations = locations
	var mcpSrv atomic.Pointer[mcpserver.Server]
	parts.mcp = mcpSrv.Load
	var admins atomic.Pointer[[]string]
	admins.Store(&cfg.Permission.Admins)
	parts.admins = &admins
	live = startReloads(ctx, cfg, c.configData, reread, parts, audits.recorder(), c.stdout)
	tokenDeps.LiveAdmins = parts.liveAdmins
	catalogState := emptyCatalogNotice(cfg, st, m)
	if msg := catalogState(ctx); msg != "" {
		logger.Warn(msg)
	}
	checks := []api.Check{{Name: "temporal", Check: func(ctx context.Context) error {
		_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}, {Name: "store", Check: st.Ping}}
	if m == modeServer {
		checks = append(checks, api.Check{Name: "catalog", Info: true, Check: func(ctx context.Context) error {
			if msg := catalogState(ctx); msg != "" {
				return errors.New(msg)
			}
			return nil
		}})
	}
	if m == modeDev {
		checks = append(checks, api.Check{Name: "workers", Check: func(context.Context) error {
			if !workersUp.Load() {
				return errors.New("workers are not running")
			}
			return nil
		}})
	}
	proxies, err := auth.ParseProxies(cfg.Server.TrustedProxies)
	if err != nil {
		return fmt.Errorf("server.trustedProxies: %w", err)
	}
	srv := api.New(api.Deps{
		Proxies:       proxies,
		Codec:         api.CodecDeps{Codec: eo.Codec, UIOrigin: codecOrigin(m, embedded, uiURL)},
		Logger:        logger.With("component", "api"),
		Temporal:      tc,
		Namespace:     cfg.Temporal.Namespace,
		TemporalUIURL: uiURL,
		BaseURL:       cfg.Server.BaseURL,
		Ready:         checks,
		Auth:          authn,
		Dev:           m == modeDev,
		Catalog: api.CatalogDeps{
			Store:              st,
			RefreshInterval:    cfg.Catalog.RefreshInterval,
			AllowFileLocations: m == modeDev,
			Limits:             catalogLimits(cfg),
			Model:              catalogActs.Model,
			Docs:               sites,
			DocsExternal:       cfg.Docs.Builder == "external",
		},
		Scaffolder: api.ScaffolderDeps{
			Actions: actions,
			DryRun:  (&worker.DryRunner{Scaffold: scaffold, Logger: logger.With("component", "dry-run"), Integrations: integrations}).DryRun,
			Secrets: secretsForAPI(keeper),
			Signer:  signer,
			Marker:  marker,
			// The workers' workspaces: in dev the same process; a server
			// serves downloads only when it shares scaffolder.workspaceRoot.
			WorkspaceDir:   cfg.WorkspaceDir(),
			WorkspaceTTL:   cfg.Scaffolder.WorkspaceTTL,
			GitHubWebhooks: githubWebhooks(cfg),
		},
		Config:   live,
		Audit:    audits.deps(),
		Tokens:   tokenDeps,
		SignIn:   signInDeps,
		Policy:   policy,
		UI:       web.Dist(),
		GitHost:  httpHandler(gitHost),
		Metrics:  mx,
		Tracer:   apiTracer(tr),
		MCP:      mcpDeps(live.Current().MCP),
		MCPOAuth: mcpOAuthDeps(live.Current().MCP.OAuth(), live.Current().MCP.AllowWrite, st),
	})
	mcpSrv.Store(srv.MCP())
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("api: cannot listen on %s: %w", cfg.Server.Listen, err)
	}
	httpSrv := srv.HTTPServer(cfg.Server.Listen)
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()

	apiURL := "http://" + ln.Addr().String()
	logger.Info("rigger ready", "api", apiURL, "temporal_ui", uiURL, "temporal", address,
		"namespace", cfg.Temporal.Namespace, "startup_ms", time.Since(started).Milliseconds())
	fmt.Fprintf(c.stdout, "Rigger is ready.\n  API and web UI:  %s\n", apiURL)
	releaseStartupPages(logger)
	if uiURL != "" {
		fmt.Fprintf(c.stdout, "  Temporal UI:     %s\n", uiURL)
	}
	fmt.Fprintf(c.stdout, "  Temporal:        %s (namespace %s)\n", address, cfg.Temporal.Namespace)
	if metricsURL != "" {
		fmt.Fprintf(c.stdout, "  Metrics:         %s\n", metricsURL)
	}

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "reason", context.Cause(ctx))
	case err := <-serveErr:
		runErr = fmt.Errorf("api server: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("api shutdown", "error", err)
	}
	return runErr
}

// runTemporalOnly runs the embedded Temporal server (and its UI) until ctx is
// cancelled, with rigger's search attributes registered, for rigger server
// and rigger worker processes to use.
func (c *cli) runTemporalOnly(ctx context.Context, cfg *config.Config) error {
	logger := newLogger(c.stderr, cfg.Server.LogLevel, cfg.Server.LogFormat).With("mode", "dev")
	started := time.Now()
	privateFiles()
	if err := tightenDataDir(cfg.Server.DataDir); err != nil {
		return err
	}
	e, err := startEmbedded(cfg, "", serverLogger(cfg, c.stderr))
	if err != nil {
		return err
	}
	defer func() {
		e.Stop()
		logger.Info("temporal server stopped")
	}()
	logger.Info("temporal server ready", "temporal", e.FrontendAddress(), "temporal_ui", e.UIURL(),
		"namespace", cfg.Temporal.Namespace, "startup_ms", time.Since(started).Milliseconds())
	fmt.Fprintf(c.stdout, "Temporal is ready (no rigger API or workers in this process).\n  Temporal:        %s (namespace %s)\n", e.FrontendAddress(), cfg.Temporal.Namespace)
	if e.UIURL() != "" {
		fmt.Fprintf(c.stdout, "  Temporal UI:     %s\n", e.UIURL())
	}
	<-ctx.Done()
	logger.Info("shutting down", "reason", context.Cause(ctx))
	return nil
}

// authenticator picks how callers are identified: guest only in dev, service
// tokens otherwise; a server with no way to authenticate refuses to start.
// Once the store is open, tokenAuth adds rigger's own and stored tokens;
// they alone do not count as a way in (who would hold the first one?).
func authenticator(cfg *config.Config, m mode) (auth.Authenticator, error) {
	if m == modeDev {
		guest := auth.Guest{}
		for _, g := range cfg.Auth.DevGuestGroups {
			guest.Groups = append(guest.Groups, strings.ToLower(g)) // catalog refs are compared in lower case
		}
		if len(cfg.Auth.ServiceTokens) > 0 {
			return auth.GuestOrTokens{Guest: guest, Tokens: serviceTokens(cfg)}, nil
		}
		return guest, nil
	}
	if cfg.Auth.AllowGuest {
		return nil, errors.New("auth.allowGuest is only honoured by rigger dev; rigger server never allows guests")
	}
	if len(cfg.Auth.DevGuestGroups) > 0 {
		return nil, errors.New("auth.devGuestGroups is only honoured by rigger dev, whose guest it describes; rigger server has no guest (remove it)")
	}
	p := cfg.Auth.Providers
	providers := p.GitHub.ClientID != "" || p.OIDC.IssuerURL != "" || p.AWSALB.Region != "" || p.GCPIAP.Audience != "" || p.CloudflareAccess.TeamDomain != ""
	if !providers && len(cfg.Auth.ServiceTokens) == 0 && len(cfg.Auth.ExternalAccess) == 0 {
		return nil, errors.New("rigger server needs a way to authenticate callers: configure a sign-in provider (auth.providers), auth.serviceTokens or auth.externalAccess (guest access exists only in rigger dev; auth.guest only adds read-only access)")
	}
	return serviceTokens(cfg), nil
}

func serviceTokens(cfg *config.Config) *auth.ServiceTokens {
	tokens := make([]auth.ServiceToken, 0, len(cfg.Auth.ServiceTokens))
	for _, t := range cfg.Auth.ServiceTokens {
		tokens = append(tokens, auth.ServiceToken{Name: t.Name, Token: t.Token.Reveal(), Scopes: t.Scopes})
	}
	return auth.NewServiceTokens(tokens)
}

// serverLogger is the embedded Temporal server's logger: it is chatty at info,
// so it logs warnings and above unless rigger runs at debug.
func serverLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	level := "warn"
	if cfg.Server.LogLevel == "debug" {
		level = "debug"
	}
	return newLogger(w, level, cfg.Server.LogFormat).With("mode", "dev", "component", "temporal-server")
}

// secretsForAPI keeps a nil keeper a nil interface (the API then refuses
// tasks with secrets).
func secretsForAPI(k *secretbox.Keeper) api.SecretKeeper {
	if k == nil {
		return nil
	}
	return k
}

// githubWebhooks are the secrets /api/webhooks/github verifies deliveries
// with, per GitHub host.
func githubWebhooks(cfg *config.Config) []api.GitHubWebhook {
	var out []api.GitHubWebhook
	for _, g := range cfg.Integrations.GitHub {
		for _, s := range g.WebhookSecrets() {
			out = append(out, api.GitHubWebhook{Host: g.Host, Secret: []byte(s.Reveal())})
		}
	}
	return out
}

// queuesWithActions are the queues whose integration actions this process
// builds: the ones it serves, and on an API server every queue (its dry
// runs call each action's dry-run behaviour, which needs no credential).
func queuesWithActions(m mode, queues []string) []string {
	if m == modeServer {
		return worker.Queues()
	}
	return queues
}

// httpHandler is h as an http.Handler, nil when h is nil.
func httpHandler(h *githost.Host) http.Handler {
	if h == nil {
		return nil
	}
	return h
}

// apiTracer is the API's tracer: nil when tracing is off, so requests
// start no spans at all.
func apiTracer(t *tracing.Tracing) trace.Tracer {
	if !t.Enabled() {
		return nil
	}
	return t.Tracer()
}

// mcpDeps configure /api/mcp. It is always routed and answers 404 while
// mcp.enabled is false, so the reload's mcp hook can turn it on and off.
func mcpDeps(c config.MCP) api.MCPDeps {
	return api.MCPDeps{Config: &c, Version: version}
}
