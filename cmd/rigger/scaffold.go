package main

import (
	"log/slog"
	"path/filepath"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/templates"
)

func scaffoldActivities(cfg *config.Config, logger *slog.Logger) (*activities.Scaffold, error) {
	r, err := templates.NewRenderer(templates.DefaultLimits())
	if err != nil {
		return nil, err
	}
	dir := cfg.Scaffolder.WorkspaceRoot
	if dir == "" {
		dir = filepath.Join(cfg.Server.DataDir, "workspaces")
	}
	return &activities.Scaffold{Renderer: r, Workspaces: activities.Workspaces{Dir: dir}, Logger: logger.With("component", "scaffolder")}, nil
}
