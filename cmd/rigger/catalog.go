package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/postgres"
	"github.com/riggerdev/rigger/internal/store/sqlite"
	"github.com/riggerdev/rigger/workflows"
)

// openStore opens the configured catalog database; serving says the
// process answers people's catalog reads (rigger server and dev), which
// have connection pools of their own on PostgreSQL (postgres.Open); a
// worker or a CLI command has none.
func openStore(ctx context.Context, cfg *config.Config, serving bool) (store.Store, error) {
	switch cfg.Database.Driver {
	case "postgres":
		var opts []postgres.Option
		if !serving {
			opts = append(opts, postgres.WithoutReadPools())
		}
		return postgres.Open(ctx, cfg.Database.URL.Reveal(), cfg.Database.MaxOpenConns, opts...)
	default:
		path := cfg.Database.Path
		if path == "" {
			path = filepath.Join(cfg.Server.DataDir, "rigger.db")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create directory for %s: %w", path, err)
		}
		return sqlite.Open(ctx, path)
	}
}

func catalogRules(cfg *config.Config) (catalog.Rules, map[string][]catalog.Rule) {
	conv := func(rs []config.Rule) []catalog.Rule {
		out := make([]catalog.Rule, 0, len(rs))
		for _, r := range rs {
			cr := catalog.Rule{Allow: r.Allow}
			for _, l := range r.Locations {
				cr.Locations = append(cr.Locations, catalog.RuleLocation{Type: l.Type, Target: l.Target, Pattern: l.Pattern})
			}
			out = append(out, cr)
		}
		return out
	}
	rules := catalog.DefaultRules()
	if len(cfg.Catalog.Rules) > 0 {
		rules.Global = conv(cfg.Catalog.Rules)
	}
	static := map[string][]catalog.Rule{}
	for _, l := range cfg.Catalog.Locations {
		static[l.Target] = conv(l.Rules)
	}
	return rules, static
}

func catalogLimits(cfg *config.Config) catalog.Limits {
	l := cfg.Catalog.Limits
	return catalog.Limits{DocumentBytes: l.DocumentBytes, EntityBytes: l.EntityBytes, MaxDepth: l.MaxDepth,
		MaxEntities: l.EntitiesPerLocation, MaxStringLength: l.MaxStringLength}
}

// catalogModel compiles catalog.model (loadConfig has checked it, so an
// error here is a configuration built without Validate).
func catalogModel(cfg *config.Config) (*catalog.Model, error) {
	m, probs := cfg.Catalog.Model.Build()
	if len(probs) > 0 {
		var errs []error
		for _, p := range probs {
			errs = append(errs, fmt.Errorf("catalog.model.%w", p))
		}
		return nil, errors.Join(errs...)
	}
	return m, nil
}

// catalogActivities builds the ingestion activity with an SSRF-safe client
// limited to catalog.reading.allow, validating with catalog.model.
func catalogActivities(cfg *config.Config, st store.Store, c *cli, dev bool) (*activities.Catalog, error) {
	model, err := catalogModel(cfg)
	if err != nil {
		return nil, err
	}
	return &activities.Catalog{
		Store:   st,
		Live:    activities.NewSwapped(catalogAccess(cfg, dev)),
		Limits:  catalogLimits(cfg),
		Model:   model,
		Orphans: store.OrphanStrategy(cfg.Catalog.OrphanStrategy),
		Logger:  newLogger(c.stderr, cfg.Server.LogLevel, cfg.Server.LogFormat).With("component", "catalog"),
	}, nil
}

// catalogAccess is what ingestion may read (catalog.reading.allow) and
// which kinds each location may define (catalog.rules, the static
// locations' rules).
func catalogAccess(cfg *config.Config, dev bool) activities.CatalogAccess {
	var hosts []string
	paths := map[string][]string{}
	for _, a := range cfg.Catalog.Reading.Allow {
		hosts = append(hosts, a.Host)
		if len(a.Paths) > 0 {
			paths[a.Host] = append(paths[a.Host], a.Paths...)
		}
	}
	rules, static := catalogRules(cfg)
	policy := netguard.Policy{AllowedHosts: hosts, AllowedPaths: paths, Setting: "catalog.reading.allow"}
	return activities.CatalogAccess{Rules: rules, StaticRules: static, HTTP: netguard.NewClient(policy),
		Git: activities.GitSource{Policy: policy, AllowLocal: dev}}
}

// ensureStaticLocations registers rigger.yaml's locations — catalog.locations
// and the scaffolder.templates and catalog.examples globs that match
// something — and starts (or
// nudges) their refresh loops. Static locations the configuration no longer
// names are removed, with their entities deleted or orphaned as
// catalog.orphanStrategy says; a loop running with another interval than
// catalog.refreshInterval is restarted with it.
func ensureStaticLocations(ctx context.Context, cfg *config.Config, st store.Store, tc client.Client, dc converter.DataConverter, logger *slog.Logger) error {
	locations := slices.Clone(cfg.Catalog.Locations)
	for _, glob := range slices.Concat(cfg.Scaffolder.Templates, cfg.Catalog.Examples) {
		if m, err := filepath.Glob(glob); err == nil && len(m) > 0 {
			locations = append(locations, config.Location{Type: "file", Target: glob})
		}
	}
	wanted := map[[2]string]bool{}
	for i, l := range locations {
		target := l.Target
		if l.Type == "git" && l.Path != "" {
			target += "#" + l.Path
		}
		if l.Type == "file" {
			abs, err := filepath.Abs(target)
			if err != nil {
				return fmt.Errorf("catalog.locations[%d].target: %w", i, err)
			}
			target = abs
		}
		wanted[[2]string{l.Type, target}] = true
		loc, err := st.AddLocation(ctx, store.Location{Type: l.Type, Target: target, Static: true})
		if err != nil && !errors.Is(err, errs.ErrConflict) {
			return fmt.Errorf("catalog.locations[%d]: %w", i, err)
		}
		id := workflows.CatalogWorkflowID(loc.ID)
		if running, ok := refreshInterval(ctx, tc, dc, id); ok && running != cfg.Catalog.RefreshInterval {
			logger.Info("catalog location refresh interval changed; restarting its refresh loop", "location", loc.ID,
				"from", running.String(), "to", cfg.Catalog.RefreshInterval.String())
			if err := tc.TerminateWorkflow(ctx, id, "", "catalog.refreshInterval changed"); err != nil && !isNotFound(err) {
				return fmt.Errorf("restart refresh of catalog.locations[%d]: %w", i, err)
			}
		}
		if _, err := tc.SignalWithStartWorkflow(ctx, id, workflows.CatalogRefreshSignal, nil,
			client.StartWorkflowOptions{ID: id, TaskQueue: contract.QueueDefault},
			workflows.CatalogRefreshName, workflows.CatalogRefreshInput{LocationID: loc.ID, Interval: cfg.Catalog.RefreshInterval}); err != nil {
			return fmt.Errorf("start refresh of catalog.locations[%d]: %w", i, err)
		}
	}
	all, err := st.ListLocations(ctx)
	if err != nil {
		return fmt.Errorf("list catalog locations: %w", err)
	}
	for _, l := range all {
		if !l.Static || wanted[[2]string{l.Type, l.Target}] {
			continue
		}
		remove := st.DeleteLocation
		if store.OrphanStrategy(cfg.Catalog.OrphanStrategy) == store.OrphanKeep {
			remove = st.OrphanLocation
		}
		if err := remove(ctx, l.ID); err != nil && !errors.Is(err, errs.ErrNotFound) {
			return fmt.Errorf("remove static location %s:%s, no longer in the configuration: %w", l.Type, l.Target, err)
		}
		if err := tc.TerminateWorkflow(ctx, workflows.CatalogWorkflowID(l.ID), "", "location removed from the configuration"); err != nil && !isNotFound(err) {
			logger.Warn("stop catalog refresh", "location", l.ID, "error", err)
		}
		logger.Info("static catalog location removed: it is no longer in the configuration", "location", l.ID,
			"type", l.Type, "target", l.Target, "entities", cfg.Catalog.OrphanStrategy+"d")
	}
	return nil
}

// refreshInterval is the interval the running refresh loop id was started
// with (read from its current run's first history event); ok is false when
// no loop runs or its input cannot be read.
func refreshInterval(ctx context.Context, tc client.Client, dc converter.DataConverter, id string) (time.Duration, bool) {
	desc, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil || desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return 0, false
	}
	it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return 0, false
	}
	ev, err := it.Next()
	if err != nil {
		return 0, false
	}
	var in workflows.CatalogRefreshInput
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || dc.FromPayloads(attrs.GetInput(), &in) != nil {
		return 0, false
	}
	return in.Interval, true
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// emptyCatalogNotice returns a function that explains an empty catalog in
// rigger server: static locations are configured, none has been read and no
// entity is stored — the sign of a worker writing to another database (a
// server and a worker started in different directories without one
// --data-dir). It returns "" when there is nothing to say, and always in dev
// (its workers share its store).
func emptyCatalogNotice(cfg *config.Config, st store.Store, m mode) func(context.Context) string {
	where := "database.url"
	if cfg.Database.Driver != "postgres" {
		where = "SQLite file " + cfg.SQLitePath() + "; give every process the same --data-dir or RIGGER_DATA_DIR"
	}
	return func(ctx context.Context) string {
		if m != modeServer {
			return ""
		}
		locs, err := st.ListLocations(ctx)
		if err != nil {
			return ""
		}
		static := 0
		for _, l := range locs {
			if !l.Static {
				continue
			}
			static++
			if !l.LastRefresh.IsZero() {
				return ""
			}
		}
		if static == 0 {
			return ""
		}
		page, err := st.Query(ctx, store.Query{Limit: 1})
		if err != nil || len(page.Entities) > 0 {
			return ""
		}
		return fmt.Sprintf("the catalog is empty and none of its %d configured locations has been read yet: "+
			"a rigger worker on queue %s must use this server's database (%s)", static, contract.QueueDefault, where)
	}
}
