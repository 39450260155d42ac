package main

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"

	"github.com/riggerdev/rigger/api"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/payloadcodec"
)

// payloadCodec is the codec that encrypts workflow payloads: the keys of
// temporal.payloadKeys, else one derived from scaffolder.secretKey (in dev,
// its key file); nil, with a warning, when there is neither. The derived
// key still decrypts when explicit keys are set (runs it encrypted keep
// working after the move), and its id names the secret it came from, so a
// changed secret is reported as a missing key, not as forged payloads.
func payloadCodec(cfg *config.Config, dev bool, logger *slog.Logger) (*payloadcodec.Codec, error) {
	secret, err := secretKey(cfg, dev)
	if err != nil {
		return nil, err
	}
	var derived []payloadcodec.Key
	if secret != nil {
		k, err := payloadcodec.DeriveFromSecret(secret)
		if err != nil {
			return nil, err
		}
		derived = append(derived, k)
	}
	if ks := cfg.Temporal.PayloadKeys; len(ks) > 0 {
		keys := make([]payloadcodec.Key, len(ks))
		for i, k := range ks {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k.Key.Reveal()))
			if err != nil {
				return nil, fmt.Errorf("temporal.payloadKeys[%d].key: %w", i, err)
			}
			keys[i] = payloadcodec.Key{ID: k.ID, Secret: b}
		}
		for _, d := range derived {
			if !slices.ContainsFunc(keys, func(k payloadcodec.Key) bool { return k.ID == d.ID }) {
				keys = append(keys, d)
			}
		}
		return payloadcodec.New(keys[0].ID, keys...)
	}
	if len(derived) == 0 {
		logger.Warn("workflow payloads are stored unencrypted in Temporal: set scaffolder.secretKey or temporal.payloadKeys (the same on every server and worker)")
		return nil, nil
	}
	return payloadcodec.New(derived[0].ID, derived...)
}

// loopbackAddress is listen as a browser on this machine reaches it: an
// unspecified host (0.0.0.0, ::, empty) becomes 127.0.0.1.
func loopbackAddress(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// codecOrigin is the Temporal UI origin trusted to call the codec
// endpoint from a browser: in rigger dev, whose guest needs no credential,
// only its own embedded UI; otherwise temporal.uiUrl's (whose callers must
// still sign in).
func codecOrigin(m mode, embedded embeddedTemporal, uiURL string) string {
	if m == modeDev {
		if embedded == nil {
			return ""
		}
		return api.OriginOf(embedded.UIURL())
	}
	return api.OriginOf(uiURL)
}
