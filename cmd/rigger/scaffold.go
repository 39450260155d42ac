package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/templates"
)

// scaffoldActivities builds the scaffolder's activities: a guarded HTTP
// client limited to scaffolder.allowedHosts, the secret keeper (nil when
// there is no key) and the catalog for catalog:* actions.
func scaffoldActivities(cfg *config.Config, logger *slog.Logger, keeper *secretbox.Keeper, cat *activities.Catalog) (*activities.Scaffold, error) {
	r, err := templates.NewRenderer(templates.DefaultLimits())
	if err != nil {
		return nil, err
	}
	dir := cfg.Scaffolder.WorkspaceRoot
	if dir == "" {
		dir = filepath.Join(cfg.Server.DataDir, "workspaces")
	}
	sc := &activities.Scaffold{
		Renderer:        r,
		Workspaces:      activities.Workspaces{Dir: dir},
		Logger:          logger.With("component", "scaffolder"),
		Catalog:         cat,
		RegisteredDir:   filepath.Join(cfg.Server.DataDir, "registered"),
		RefreshInterval: cfg.Catalog.RefreshInterval,
	}
	policy := netguard.Policy{AllowedHosts: cfg.Scaffolder.AllowedHosts, AllowPrivate: cfg.Scaffolder.AllowPrivateNetworks, Setting: "scaffolder.allowedHosts"}
	if len(cfg.Scaffolder.AllowedHosts) > 0 {
		sc.HTTP = netguard.NewClient(policy)
	}
	sc.Git = activities.GitSource{Policy: policy}
	if keeper != nil {
		sc.Secrets = keeper
	}
	return sc, nil
}

// secretKeeper returns the task secret keeper: scaffolder.secretKey, or in
// dev a key file in the data dir; nil when a server has no key (tasks with
// secrets are then refused).
func secretKeeper(cfg *config.Config, st store.Store, dev bool) (*secretbox.Keeper, error) {
	var key []byte
	var err error
	switch {
	case cfg.Scaffolder.SecretKey != "":
		key, err = secretbox.ParseKey(cfg.Scaffolder.SecretKey.Reveal())
	case dev:
		key, err = secretbox.LoadOrCreateKeyFile(filepath.Join(cfg.Server.DataDir, "secret.key"))
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return secretbox.New(key, st, cfg.Scaffolder.SecretTTL)
}

// sweepWorkspaces deletes workspaces older than ttl now and every ttl/24
// (at least a minute, at most an hour) until ctx ends.
func sweepWorkspaces(ctx context.Context, w activities.Workspaces, ttl time.Duration, logger *slog.Logger) {
	if ttl <= 0 {
		return
	}
	every := min(max(ttl/24, time.Minute), time.Hour)
	for {
		if n, err := w.Sweep(ttl, time.Now()); err != nil {
			logger.Warn("sweep task workspaces", "error", err)
		} else if n > 0 {
			logger.Info("deleted old task workspaces", "count", n, "older_than", ttl.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}
