//go:build !nodevserver

package main

import (
	"log/slog"
	"time"

	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/devserver"
	"github.com/riggerdev/rigger/internal/searchattr"
)

// embeddedRetention keeps closed runs for 30 days in dev (the server's own
// default of one day would make yesterday's runs vanish).
const embeddedRetention = 30 * 24 * time.Hour

func startEmbedded(cfg *config.Config, codecEndpoint string, logger *slog.Logger) (embeddedTemporal, error) {
	return devserver.Start(devserver.Options{
		CodecEndpoint:    codecEndpoint,
		DataDir:          cfg.Server.DataDir,
		FrontendAddress:  cfg.Temporal.Embedded.FrontendListen,
		UIAddress:        cfg.Temporal.Embedded.UIListen,
		Namespace:        cfg.Temporal.Namespace,
		Retention:        embeddedRetention,
		SearchAttributes: searchattr.Definitions(),
		Logger:           logger,
	})
}

func embeddedServerVersion() string { return devserver.ServerVersion() }
