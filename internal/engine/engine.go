// Package engine connects rigger to a Temporal cluster: it dials the frontend
// with the configured TLS/mTLS and API key, and makes sure rigger's custom
// search attributes exist. It does not run a server (see internal/devserver)
// and must not import api, worker, workflows or activities.
package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"

	"github.com/riggerdev/rigger/internal/payloadcodec"
)

// TLS describes how to reach a cluster over TLS, optionally with a client
// certificate (mTLS).
type TLS struct {
	Enabled            bool
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
}

// Options describe one cluster connection.
type Options struct {
	Address   string
	Namespace string
	// APIKey is sent as a bearer credential; it requires TLS.
	APIKey string
	TLS    TLS
	Logger *slog.Logger
	// DialTimeout bounds how long Dial retries while the frontend comes up.
	DialTimeout time.Duration
	// Retrying, if set, is told about a failed attempt to connect at most
	// every 5 seconds while Dial keeps trying, with the time waited so far.
	Retrying func(err error, waited time.Duration)
	// Codec encrypts every payload the client and its workers hand to
	// Temporal (nil: payloads are stored as they are).
	Codec *payloadcodec.Codec
	// Metrics receives the SDK's metrics (nil: none).
	Metrics client.MetricsHandler
	// Interceptors wrap the client and the workers made from it (tracing).
	Interceptors []interceptor.ClientInterceptor
	// Compression of the gRPC messages to and from the frontend:
	// CompressionAuto (or empty), CompressionGzip or CompressionNone.
	Compression string
}

// The values of Options.Compression.
const (
	// CompressionAuto sends messages uncompressed to an address on this
	// host (localhost, a loopback or unspecified address: the embedded dev
	// server), where gzip only costs CPU, and gzip-compressed to any other
	// (the SDK's default, for a frontend across a network). A remote
	// cluster reached through a local tunnel looks local: gRPC compression
	// is end to end, so that wants CompressionGzip.
	CompressionAuto = "auto"
	CompressionGzip = "gzip"
	CompressionNone = "none"
)

// Gzip reports whether the client compresses its messages: with
// CompressionAuto, when address is not on this host.
func (o Options) Gzip() bool {
	switch o.Compression {
	case CompressionGzip:
		return true
	case CompressionNone:
		return false
	}
	return !onThisHost(o.Address)
}

// onThisHost reports whether a host:port names this host without a
// lookup: localhost, a loopback IP, or the unspecified address (which
// dials this host).
func onThisHost(address string) bool {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	ip = ip.Unmap()
	return err == nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// TLSConfig builds the client TLS configuration, or nil when TLS is off.
func (o Options) TLSConfig() (*tls.Config, error) {
	t := o.TLS
	if !t.Enabled && t.CAFile == "" && t.CertFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // explicit opt-in, documented as unsafe
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls.caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal.tls.caFile: %s holds no PEM certificate", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("temporal.tls: certFile and keyFile must be set together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// ClientOptions turns o into SDK client options.
func (o Options) ClientOptions() (client.Options, error) {
	if o.Address == "" || o.Namespace == "" {
		return client.Options{}, errors.New("temporal address and namespace are required")
	}
	tlsCfg, err := o.TLSConfig()
	if err != nil {
		return client.Options{}, err
	}
	opts := client.Options{
		HostPort:      o.Address,
		Namespace:     o.Namespace,
		DataConverter: payloadcodec.DataConverter(o.Codec),
		// Failures carry a run's state as details and its step's error as
		// message: both encrypted with the payloads.
		FailureConverter: payloadcodec.FailureConverter(o.Codec),
		ConnectionOptions: client.ConnectionOptions{
			TLS: tlsCfg,
		},
	}
	switch o.Compression {
	case "", CompressionAuto, CompressionGzip, CompressionNone:
	default:
		return client.Options{}, fmt.Errorf("temporal compression %q: want %s, %s or %s", o.Compression, CompressionAuto, CompressionGzip, CompressionNone)
	}
	if o.Gzip() {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionGzip{}
	} else {
		// Over loopback, gzip is CPU for nothing: compressing and
		// decompressing every call on both sides took 13% and 21% of the
		// server's CPU for a read of a finished task, in two pairs of runs.
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	if o.Logger != nil {
		opts.Logger = sdklog.NewStructuredLogger(o.Logger)
	}
	if o.Metrics != nil {
		opts.MetricsHandler = o.Metrics
	}
	opts.Interceptors = o.Interceptors
	if o.APIKey != "" {
		if tlsCfg == nil {
			return client.Options{}, errors.New("temporal.apiKey needs temporal.tls.enabled: refusing to send the key in clear text")
		}
		opts.Credentials = client.NewAPIKeyStaticCredentials(o.APIKey)
	}
	return opts, nil
}

// Dial connects to the frontend, retrying until it answers its health check or
// DialTimeout (default 30s) passes.
func Dial(ctx context.Context, o Options) (client.Client, error) {
	opts, err := o.ClientOptions()
	if err != nil {
		return nil, err
	}
	timeout := o.DialTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	start, told := time.Now(), time.Now()
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if o.Retrying != nil && time.Since(told) >= 5*time.Second {
			told = time.Now()
			o.Retrying(err, time.Since(start))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to temporal at %s (namespace %s): %w", o.Address, o.Namespace, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// EnsureSearchAttributes registers each missing attribute on the namespace and
// fails when one exists with another type.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enumspb.IndexedValueType) error {
	_, err := RegisterSearchAttributes(ctx, c, namespace, want)
	return err
}

// RegisterSearchAttributes is EnsureSearchAttributes, also telling whether
// it registered any (the server's caches then lag behind until refreshed).
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string, want map[string]enumspb.IndexedValueType) (registered bool, err error) {
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return false, fmt.Errorf("list search attributes of %s: %w", namespace, err)
	}
	have := resp.GetCustomAttributes()
	missing := map[string]enumspb.IndexedValueType{}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		typ, ok := have[name]
		switch {
		case !ok:
			missing[name] = want[name]
		case typ != want[name]:
			return false, fmt.Errorf("search attribute %s exists in %s as %s, rigger needs %s", name, namespace, typ, want[name])
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	if err != nil {
		return false, fmt.Errorf("register search attributes %v in %s: %w", names, namespace, err)
	}
	return true, nil
}
