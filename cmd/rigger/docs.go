package main

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/internal/catalogsvc"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/techdocs"
)

// docsSites is where built docs sites are kept (docs.storage): the store
// holds every site's record and search rows, and its files unless they go
// to S3.
func docsSites(ctx context.Context, cfg *config.Config, st store.Store, logger *slog.Logger) (*techdocs.Sites, error) {
	sites := &techdocs.Sites{Store: st, Files: techdocs.Database{}, Logger: logger.With("component", "docs")}
	if cfg.Docs.Storage == "s3" {
		s3cfg := cfg.Docs.S3
		files, err := techdocs.NewS3(ctx, techdocs.S3Config{Bucket: s3cfg.Bucket, Prefix: s3cfg.Prefix, Region: s3cfg.Region,
			Endpoint: s3cfg.Endpoint, AccessKeyID: s3cfg.AccessKeyID, SecretAccessKey: s3cfg.SecretAccessKey.Reveal()})
		if err != nil {
			return nil, fmt.Errorf("docs.s3: %w", err)
		}
		sites.Files = files
	}
	return sites, nil
}

// docsBuilds wires docs builds into ingestion: the refresh starts the
// build of every entity that names its docs, and the builder reads
// sources with the catalog's reading policy (nothing when docs.builder is
// external).
func docsBuilds(cfg *config.Config, tc client.Client, catalogActs *activities.Catalog, sites *techdocs.Sites) *activities.DocsBuilder {
	if cfg.Docs.Builder == "external" {
		return nil // sites come from rigger docs publish
	}
	catalogActs.StartDocs = func(ctx context.Context, ref string) error {
		_, err := catalogsvc.StartDocsBuild(ctx, tc, ref, false)
		return err
	}
	return &activities.DocsBuilder{Catalog: catalogActs, Sites: sites}
}
