//go:build nodevserver

package main

import (
	"errors"
	"log/slog"

	"github.com/riggerdev/rigger/internal/config"
)

func startEmbedded(*config.Config, string, *slog.Logger) (embeddedTemporal, error) {
	return nil, errors.New("this rigger binary was built without the embedded Temporal server (tag nodevserver): pass --temporal-address")
}

func embeddedServerVersion() string { return "" }
