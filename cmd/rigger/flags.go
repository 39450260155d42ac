package main

import (
	"github.com/spf13/pflag"

	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/engine"
)

// temporalFlags are the connection flags shared by dev, server and worker.
type temporalFlags struct {
	address, namespace, apiKey string
	tls                        bool
	ca, cert, key, serverName  string
	insecureSkipVerify         bool
}

func (f *temporalFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.address, "temporal-address", "", "host:port of an existing Temporal frontend (dev: empty = embedded server)")
	fs.StringVar(&f.namespace, "temporal-namespace", "", "Temporal namespace (default \"default\")")
	fs.StringVar(&f.apiKey, "temporal-api-key", "", "Temporal API key (prefer env RIGGER_TEMPORAL_API_KEY: flags show in ps)")
	fs.BoolVar(&f.tls, "temporal-tls", false, "connect to Temporal over TLS")
	fs.StringVar(&f.ca, "temporal-tls-ca", "", "PEM file of the CA that signed the Temporal frontend's certificate")
	fs.StringVar(&f.cert, "temporal-tls-cert", "", "client certificate (PEM) for mTLS")
	fs.StringVar(&f.key, "temporal-tls-key", "", "client key (PEM) for mTLS")
	fs.StringVar(&f.serverName, "temporal-tls-server-name", "", "server name to verify in the frontend's certificate")
	fs.BoolVar(&f.insecureSkipVerify, "temporal-tls-insecure-skip-verify", false, "do not verify the frontend's certificate (unsafe; testing only)")
}

func (f *temporalFlags) apply(cfg *config.Config, set func(string) bool) {
	t := &cfg.Temporal
	if set("temporal-address") {
		t.Address = f.address
	}
	if set("temporal-namespace") {
		t.Namespace = f.namespace
	}
	if set("temporal-api-key") {
		t.APIKey = config.Secret(f.apiKey)
	}
	if set("temporal-tls") {
		t.TLS.Enabled = f.tls
	}
	if set("temporal-tls-ca") {
		t.TLS.CAFile = f.ca
	}
	if set("temporal-tls-cert") {
		t.TLS.CertFile = f.cert
	}
	if set("temporal-tls-key") {
		t.TLS.KeyFile = f.key
	}
	if set("temporal-tls-server-name") {
		t.TLS.ServerName = f.serverName
	}
	if set("temporal-tls-insecure-skip-verify") {
		t.TLS.InsecureSkipVerify = f.insecureSkipVerify
	}
}

// engineOptions turns the validated config into connection options.
func engineOptions(cfg *config.Config, address string) engine.Options {
	t := cfg.Temporal
	return engine.Options{
		Address:     address,
		Namespace:   t.Namespace,
		APIKey:      t.APIKey.Reveal(),
		Compression: t.Compression,
		TLS: engine.TLS{
			Enabled:            t.TLS.Enabled,
			CAFile:             t.TLS.CAFile,
			CertFile:           t.TLS.CertFile,
			KeyFile:            t.TLS.KeyFile,
			ServerName:         t.TLS.ServerName,
			InsecureSkipVerify: t.TLS.InsecureSkipVerify,
		},
	}
}
