package main

import (
	"log/slog"
	"slices"

	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/githost"
)

// rigger dev's shared catalog repository on its git host: templates open
// pull requests against it to add a component (one file under
// components/), as Backstage users do against a central catalog
// repository; a merge registers it as a catalog location and refreshes it.
const (
	DevCatalogOwner = "platform"
	DevCatalogRepo  = "catalog"
)

var devCatalogFiles = map[string]string{
	"README.md": `# platform/catalog

The shared catalog of this rigger dev: one file per component under
components/, added by pull request (the template "Create a component with a
catalog pull request" opens one). Merge a pull request on its page
(/git/platform/catalog/pulls) and the component is in the catalog after the
location refreshes.
`,
	"catalog-info.yaml": `apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: platform-catalog
  description: Components registered by pull request, one file each.
spec:
  targets:
    - ./components/*.yaml
`,
	"components/README.md": "Add one `<name>.yaml` per component, by pull request.\n",
}

// seedDevCatalog creates platform/catalog on the git host at the first
// start of rigger dev.
func seedDevCatalog(h *githost.Host, logger *slog.Logger) {
	created, err := h.Seed(DevCatalogOwner, DevCatalogRepo, "Start the shared catalog", devCatalogFiles)
	switch {
	case err != nil:
		logger.Warn("the git host's shared catalog repository could not be created: " + err.Error())
	case created:
		logger.Info("created the shared catalog repository", "clone", h.CloneURL(DevCatalogOwner, DevCatalogRepo))
	}
}

// devCatalogLocation is platform/catalog as a static git location (a
// local path: rigger dev reads its own repositories without HTTP).
func devCatalogLocation(h *githost.Host) config.Location {
	return config.Location{Type: "git", Target: h.RepoPath(DevCatalogOwner, DevCatalogRepo), Path: "catalog-info.yaml"}
}

// watchDevCatalog registers platform/catalog as a catalog location at
// the next merge of a pull request into it, which also refreshes it at
// once (before, ensure adds it whenever something was merged: see
// withDevCatalog). ensure registers a configuration's static locations;
// current is the running configuration (a reload replaces it).
func watchDevCatalog(current func() *config.Config, h *githost.Host, ensure func(*config.Config) error, logger *slog.Logger) {
	h.OnMerge = func(owner, repo string, _ githost.Pull) {
		if owner != DevCatalogOwner || repo != DevCatalogRepo {
			return
		}
		if err := ensure(current()); err != nil {
			logger.Warn("register the shared catalog repository as a location: " + err.Error())
		}
	}
}

// withDevCatalog is cfg with platform/catalog among its locations once a
// pull request was merged into it (cfg itself is left as it is).
func withDevCatalog(h *githost.Host, cfg *config.Config) *config.Config {
	if h == nil || !h.HasMerged(DevCatalogOwner, DevCatalogRepo) {
		return cfg
	}
	loc := devCatalogLocation(h)
	if slices.ContainsFunc(cfg.Catalog.Locations, func(l config.Location) bool { return l.Type == loc.Type && l.Target == loc.Target }) {
		return cfg
	}
	c := *cfg
	c.Catalog.Locations = append(slices.Clone(cfg.Catalog.Locations), loc)
	return &c
}
