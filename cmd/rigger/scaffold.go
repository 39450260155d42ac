package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/keyfile"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/runsign"
	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/templates"
)

// scaffoldActivities builds the scaffolder's activities: a guarded HTTP
// client limited to scaffolder.allowedHosts, the secret keeper (nil when
// there is no key) and the catalog for catalog:* actions.
func scaffoldActivities(cfg *config.Config, logger *slog.Logger, keeper *secretbox.Keeper, cat *activities.Catalog) (*activities.Scaffold, error) {
	lim := templates.DefaultLimits()
	lim.MaxEachItems = cfg.Scaffolder.Limits.MaxEachItems
	lim.Timeout = cfg.Scaffolder.Limits.RenderTimeout
	lim.MaxIterations = cfg.Scaffolder.Limits.MaxIterations
	lim.MaxOutputBytes = cfg.Scaffolder.Limits.MaxOutputBytes
	r, err := templates.NewRenderer(lim)
	if err != nil {
		return nil, err
	}
	dir := cfg.Scaffolder.WorkspaceRoot
	if dir == "" {
		dir = filepath.Join(cfg.Server.DataDir, "workspaces")
	}
	sc := &activities.Scaffold{
		Renderer:        r,
		Workspaces:      activities.NewWorkspaces(dir, 0, 0),
		Logger:          logger.With("component", "scaffolder"),
		Catalog:         cat,
		RegisteredDir:   filepath.Join(cfg.Server.DataDir, "registered"),
		RefreshInterval: cfg.Catalog.RefreshInterval,
	}
	sc.Live = activities.NewSwapped(scaffoldFetch(cfg))
	if keeper != nil {
		sc.Secrets = keeper
	}
	return sc, nil
}

// scaffoldFetch is where the scaffolder's fetches and clones may go
// (scaffolder.allowedHosts; no client when it is empty).
func scaffoldFetch(cfg *config.Config) activities.ScaffoldFetch {
	policy := netguard.Policy{AllowedHosts: cfg.Scaffolder.AllowedHosts, AllowPrivate: cfg.Scaffolder.AllowPrivateNetworks, Setting: "scaffolder.allowedHosts"}
	f := activities.ScaffoldFetch{Git: activities.GitSource{Policy: policy}}
	if len(cfg.Scaffolder.AllowedHosts) > 0 {
		f.HTTP = netguard.NewClient(policy)
	}
	return f
}

// secretKeeper returns the task secret keeper: scaffolder.secretKey, or in
// dev a key file in the data dir; nil when a server has no key (tasks with
// secrets are then refused).
func secretKeeper(cfg *config.Config, st store.Store, dev bool) (*secretbox.Keeper, error) {
	key, err := secretKey(cfg, dev)
	if err != nil || key == nil {
		return nil, err
	}
	return secretbox.New(key, st, cfg.Scaffolder.SecretTTL)
}

// secretKey is scaffolder.secretKey, or in dev the key file in the data dir
// (made on first use); nil when a server has none.
func secretKey(cfg *config.Config, dev bool) ([]byte, error) {
	switch {
	case cfg.Scaffolder.SecretKey != "":
		return secretbox.ParseKey(cfg.Scaffolder.SecretKey.Reveal())
	case dev:
		return secretbox.LoadOrCreateKeyFile(filepath.Join(cfg.Server.DataDir, "secret.key"))
	}
	return nil, nil
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

// runSigning reads scaffolder.runSigningKey, or in dev the key file in the
// data dir (created on first start, 0600). signer is nil without a private
// key (a worker given the public key), verifier nil without any key.
func runSigning(cfg *config.Config, dev bool) (*runsign.Signer, *runsign.Verifier, error) {
	var priv ed25519.PrivateKey
	var pub ed25519.PublicKey
	var err error
	switch {
	case cfg.Scaffolder.RunSigningKey != "":
		priv, pub, err = runsign.ParseKey(cfg.Scaffolder.RunSigningKey.Reveal())
	case dev:
		priv, err = devRunSigningKey(filepath.Join(cfg.Server.DataDir, "run-signing.key"))
		if err == nil {
			pub = priv.Public().(ed25519.PublicKey)
		}
	default:
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("scaffolder.runSigningKey: %w", err)
	}
	var signer *runsign.Signer
	if priv != nil {
		signer = runsign.NewSigner(priv)
	}
	return signer, runsign.NewVerifier(pub), nil
}

// runMarker is the key workers mark what they rendered and produced for a
// run with, and the API server checks a retry's resume state with:
// derived from scaffolder.secretKey (in dev its key file), or else from
// the private scaffolder.runSigningKey; nil when the process holds
// neither (its workers then run no action activity).
func runMarker(cfg *config.Config, dev bool, signer *runsign.Signer) (*runsign.Marker, error) {
	key, err := secretKey(cfg, dev)
	switch {
	case err != nil:
		return nil, err
	case key != nil:
		return runsign.NewMarker(key)
	case signer != nil:
		return runsign.NewMarkerFromSigner(signer)
	}
	return nil, nil
}

// runTrust is what a worker accepts as a run's template base: files under
// scaffolder.templates and static file locations (the folders their globs
// start from), local repositories of static git locations, and hosts of
// scaffolder.allowedHosts and catalog.reading.allow.
func runTrust(cfg *config.Config, v *runsign.Verifier) *activities.RunTrust {
	return &activities.RunTrust{Verifier: v, Live: activities.NewSwapped(templateSources(cfg))}
}

// templateSources are the places runTrust accepts a template base from.
func templateSources(cfg *config.Config) activities.TemplateSources {
	var t activities.TemplateSources
	addDir := func(p string) {
		if abs, err := filepath.Abs(p); err == nil {
			t.Dirs = append(t.Dirs, abs)
		}
	}
	for _, g := range cfg.Scaffolder.Templates {
		addDir(globDir(g))
	}
	for _, l := range cfg.Catalog.Locations {
		repo, _, _ := strings.Cut(l.Target, "#") // git: repo#path
		switch {
		case l.Type == "file":
			addDir(globDir(l.Target))
		case l.Type == "git" && strings.HasPrefix(repo, "file://"):
			addDir(strings.TrimPrefix(repo, "file://"))
		case l.Type == "git" && !strings.Contains(repo, "://"):
			addDir(repo)
		}
	}
	hosts := slices.Clone(cfg.Scaffolder.AllowedHosts)
	for _, a := range cfg.Catalog.Reading.Allow {
		hosts = append(hosts, a.Host)
	}
	t.Hosts = netguard.Policy{AllowedHosts: hosts}
	return t
}

// globDir is the folder a file glob starts from: its path up to the first
// element with a glob character.
func globDir(glob string) string {
	glob = filepath.Clean(glob)
	parts := strings.Split(glob, string(filepath.Separator))
	for i, p := range parts {
		if strings.ContainsAny(p, `*?[\`) {
			return strings.Join(parts[:i], string(filepath.Separator)) + string(filepath.Separator)
		}
	}
	return filepath.Dir(glob)
}

// devRunSigningKey reads rigger dev's private run signing key from path,
// creating it (0600, in a 0700 folder) when it does not exist.
func devRunSigningKey(path string) (ed25519.PrivateKey, error) {
	text, err := keyfile.LoadOrCreate(path, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	priv, _, err := runsign.ParseKey(text)
	if err == nil && priv == nil {
		err = errors.New("it holds a public key; the API server needs the private key")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return priv, nil
}
