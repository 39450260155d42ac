package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"go.temporal.io/sdk/client"

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

// openStore opens the configured catalog database.
func openStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	switch cfg.Database.Driver {
	case "postgres":
		return postgres.Open(ctx, cfg.Database.URL.Reveal(), cfg.Database.MaxOpenConns)
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

// catalogActivities builds the ingestion activity with an SSRF-safe client
// limited to catalog.reading.allow.
func catalogActivities(cfg *config.Config, st store.Store, c *cli, dev bool) *activities.Catalog {
	var hosts []string
	for _, a := range cfg.Catalog.Reading.Allow {
		hosts = append(hosts, a.Host)
	}
	rules, static := catalogRules(cfg)
	policy := netguard.Policy{AllowedHosts: hosts}
	return &activities.Catalog{
		Store:       st,
		Rules:       rules,
		Limits:      catalogLimits(cfg),
		Orphans:     store.OrphanStrategy(cfg.Catalog.OrphanStrategy),
		HTTP:        netguard.NewClient(policy),
		Git:         activities.GitSource{Policy: policy, AllowLocal: dev},
		StaticRules: static,
		Logger:      newLogger(c.stderr, cfg.Server.LogLevel, cfg.Server.LogFormat).With("component", "catalog"),
	}
}

// ensureStaticLocations registers rigger.yaml's locations — catalog.locations
// and the scaffolder.templates globs that match something — and starts (or
// nudges) their refresh loops.
func ensureStaticLocations(ctx context.Context, cfg *config.Config, st store.Store, tc client.Client) error {
	locations := slices.Clone(cfg.Catalog.Locations)
	for _, glob := range cfg.Scaffolder.Templates {
		if m, err := filepath.Glob(glob); err == nil && len(m) > 0 {
			locations = append(locations, config.Location{Type: "file", Target: glob})
		}
	}
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
		loc, err := st.AddLocation(ctx, store.Location{Type: l.Type, Target: target, Static: true})
		if err != nil && !errors.Is(err, errs.ErrConflict) {
			return fmt.Errorf("catalog.locations[%d]: %w", i, err)
		}
		id := workflows.CatalogWorkflowID(loc.ID)
		if _, err := tc.SignalWithStartWorkflow(ctx, id, workflows.CatalogRefreshSignal, nil,
			client.StartWorkflowOptions{ID: id, TaskQueue: contract.QueueDefault},
			workflows.CatalogRefreshName, workflows.CatalogRefreshInput{LocationID: loc.ID, Interval: cfg.Catalog.RefreshInterval}); err != nil {
			return fmt.Errorf("start refresh of catalog.locations[%d]: %w", i, err)
		}
	}
	return nil
}

// emptyCatalogNotice returns a function that explains an empty catalog in
// rigger server: static locations are configured, none has been read and no
// entity is stored — the sign of a worker writing to another database (a
// server and a worker started in different directories without one
// --data-dir). It returns "" when there is nothing to say, and always in dev
// (its workers share its store).
func emptyCatalogNotice(_ context.Context, cfg *config.Config, st store.Store, m mode) func(context.Context) string {
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
