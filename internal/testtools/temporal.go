package testtools

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Temporal is a running official Temporal server (go.temporal.io/server's
// cmd/server, its own process): PostgreSQL persistence and visibility,
// several history shards, and a frontend that requires client
// certificates signed by the test's CA.
type Temporal struct {
	// Address is the frontend's host:port on 127.0.0.1.
	Address string
	// Namespace is registered, ready for workflows.
	Namespace string
	// CAFile signed the frontend's certificate and the client's; CertFile
	// and KeyFile are a client certificate it accepts. ServerName is the
	// name in the frontend's certificate.
	CAFile, CertFile, KeyFile, ServerName string
	// Shards is the number of history shards.
	Shards int

	proc *temporalProc
}

// TemporalOptions says where the server keeps its data.
type TemporalOptions struct {
	// PostgresAddr is host:port of a PostgreSQL server whose user
	// PostgresUser may create databases (no password: trust auth).
	PostgresAddr, PostgresUser string
	// Namespace to register (default "rigger").
	Namespace string
}

// temporalShards is more than one, so a cluster test runs workflows on
// several shards as production does.
const temporalShards = 4

// StartTemporal builds the server and its SQL schema tool (once per
// machine), creates the persistence and visibility databases with their
// schemas on opts.PostgresAddr, writes the certificates and the server's
// config into a temp dir, starts the server on free 127.0.0.1 ports,
// registers the namespace and stops the server when t ends.
func StartTemporal(t testing.TB, opts TemporalOptions) *Temporal {
	t.Helper()
	if opts.Namespace == "" {
		opts.Namespace = "rigger"
	}
	server := Binary(t, "temporal-server")
	sqlTool := Binary(t, "temporal-sql-tool")
	schemaRoot := filepath.Join(ModuleDir(t, "go.temporal.io/server"), "schema", "postgresql", "v12")
	dir := t.TempDir()
	tc := &Temporal{Namespace: opts.Namespace, ServerName: "localhost", Shards: temporalShards}
	if err := tc.writeCerts(dir); err != nil {
		t.Fatalf("temporal certificates: %v", err)
	}
	start := time.Now()
	host, port, err := net.SplitHostPort(opts.PostgresAddr)
	if err != nil {
		t.Fatalf("postgres address %q: %v", opts.PostgresAddr, err)
	}
	for _, db := range []struct{ name, schema string }{{"temporal", "temporal"}, {"temporal_visibility", "visibility"}} {
		base := []string{"--plugin", "postgres12", "--ep", host, "-p", port, "-u", opts.PostgresUser, "--db", db.name}
		for _, args := range [][]string{
			{"create-database"},
			{"setup-schema", "-v", "0.0"},
			{"update-schema", "-d", filepath.Join(schemaRoot, db.schema, "versioned")},
		} {
			cmd := exec.Command(sqlTool, append(append([]string{}, base...), args...)...)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("temporal-sql-tool %s %s: %v\n%s", db.name, args[0], err, lastLines(string(out), 20))
			}
		}
	}
	t.Logf("temporal schemas (persistence and visibility) set up in %s", time.Since(start).Round(time.Millisecond))
	// A free port may be taken before the server binds it: start again on
	// other ports.
	for attempt := 1; attempt <= 3; attempt++ {
		tc.proc, err = tc.start(server, dir, opts, attempt)
		if err == nil {
			break
		}
		t.Logf("temporal server attempt %d: %v", attempt, err)
	}
	if err != nil {
		t.Fatalf("start temporal server: %v", err)
	}
	t.Cleanup(tc.proc.stop)
	if err := tc.registerNamespace(); err != nil {
		t.Fatalf("register namespace %s: %v\nserver log:\n%s", tc.Namespace, err, tc.LogTail())
	}
	t.Logf("temporal server ready at %s (mTLS, %d shards, PostgreSQL) in %s", tc.Address, tc.Shards, time.Since(start).Round(time.Millisecond))
	return tc
}

// TLSConfig is a client TLS configuration for the frontend; withCert
// false leaves the client certificate out (for testing the refusal).
func (tc *Temporal) TLSConfig(withCert bool) (*tls.Config, error) {
	caPEM, err := os.ReadFile(tc.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", tc.CAFile)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: tc.ServerName, MinVersion: tls.VersionTLS12}
	if withCert {
		pair, err := tls.LoadX509KeyPair(tc.CertFile, tc.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Dial connects an SDK client to the namespace over mTLS.
func (tc *Temporal) Dial(ctx context.Context, withCert bool) (client.Client, error) {
	cfg, err := tc.TLSConfig(withCert)
	if err != nil {
		return nil, err
	}
	return client.DialContext(ctx, client.Options{
		HostPort: tc.Address, Namespace: tc.Namespace,
		ConnectionOptions: client.ConnectionOptions{TLS: cfg},
	})
}

// Pid is the server's process id.
func (tc *Temporal) Pid() int { return tc.proc.cmd.Process.Pid }

// LogTail is the end of the server's log.
func (tc *Temporal) LogTail() string { return tc.proc.logTail() }

// registerNamespace registers the namespace and waits until the frontend
// serves it (its namespace cache refreshes every second here).
func (tc *Temporal) registerNamespace() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg, err := tc.TLSConfig(true)
	if err != nil {
		return err
	}
	nc, err := client.NewNamespaceClient(client.Options{HostPort: tc.Address, ConnectionOptions: client.ConnectionOptions{TLS: cfg}})
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: tc.Namespace, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		return err
	}
	c, err := tc.Dial(ctx, true)
	if err != nil {
		return err
	}
	defer c.Close()
	for {
		_, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: tc.Namespace, PageSize: 1})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace not served: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// start writes the config for fresh ports and starts the server, waiting
// until the frontend answers a health check over mTLS.
func (tc *Temporal) start(bin, dir string, opts TemporalOptions, attempt int) (*temporalProc, error) {
	ports := make([]int, 9)
	for i := range ports {
		ports[i] = lowPort()
	}
	tc.Address = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	dyn := filepath.Join(dir, "dynamicconfig.yaml")
	if err := os.WriteFile(dyn, []byte(temporalDynamicConfig), 0o600); err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(dir, fmt.Sprintf("temporal-%d.yaml", attempt))
	if err := os.WriteFile(cfgFile, []byte(tc.config(opts, ports, dyn)), 0o600); err != nil {
		return nil, err
	}
	p := &temporalProc{done: make(chan struct{}), procLog: newProcLog()}
	p.cmd = exec.Command(bin, "--config-file", cfgFile, "--allow-no-auth", "start")
	p.cmd.Dir = dir
	p.cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cfg, err := tc.TLSConfig(true)
	if err != nil {
		p.stop()
		return nil, err
	}
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("temporal server exited before it was ready: %s\n%s", p.cmd.ProcessState, p.logTail())
		default:
		}
		c, err := client.DialContext(ctx, client.Options{HostPort: tc.Address, Namespace: "temporal-system", ConnectionOptions: client.ConnectionOptions{TLS: cfg}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return p, nil
			}
		}
		if ctx.Err() != nil {
			p.stop()
			return nil, fmt.Errorf("temporal frontend %s not healthy after 90s: %v\n%s", tc.Address, err, p.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// temporalDynamicConfig makes hand-offs fast (TEMPORAL.md: the default 20
// polls/s per shard adds ~45 ms to each) and new namespaces visible
// within a second.
const temporalDynamicConfig = `system.namespaceCacheRefreshInterval:
  - value: 1s
history.transferProcessorMaxPollRPS:
  - value: 1000
history.timerProcessorMaxPollRPS:
  - value: 1000
history.visibilityProcessorMaxPollRPS:
  - value: 1000
history.outboundProcessorMaxPollRPS:
  - value: 1000
`

// config is the server's YAML: ports[0..8] are frontend gRPC, frontend
// HTTP, and gRPC/membership of frontend, history, matching, worker.
func (tc *Temporal) config(opts TemporalOptions, ports []int, dynamicConfig string) string {
	store := func(db string, conns int) string {
		return fmt.Sprintf(`      sql:
        pluginName: postgres12
        databaseName: %s
        connectAddr: %q
        connectProtocol: tcp
        user: %q
        maxConns: %d
        maxIdleConns: %d
        maxConnLifetime: 1h
`, db, opts.PostgresAddr, opts.PostgresUser, conns, conns)
	}
	service := func(name string, grpc, membership int, extra string) string {
		return fmt.Sprintf("  %s:\n    rpc:\n      grpcPort: %d\n      membershipPort: %d\n      bindOnIP: 127.0.0.1\n%s", name, grpc, membership, extra)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: %d
  datastores:
    default:
%s    visibility:
%sglobal:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  tls:
    frontend:
      server:
        certFile: %q
        keyFile: %q
        requireClientAuth: true
        clientCaFiles: [%q]
      client:
        serverName: %s
        rootCaFiles: [%q]
    systemWorker:
      certFile: %q
      keyFile: %q
      client:
        serverName: %s
        rootCaFiles: [%q]
services:
`, tc.Shards, store("temporal", 20), store("temporal_visibility", 4),
		filepath.Join(filepath.Dir(tc.CAFile), "server.pem"), filepath.Join(filepath.Dir(tc.CAFile), "server-key.pem"), tc.CAFile,
		tc.ServerName, tc.CAFile, tc.CertFile, tc.KeyFile, tc.ServerName, tc.CAFile)
	b.WriteString(service("frontend", ports[0], ports[2], fmt.Sprintf("      httpPort: %d\n", ports[1])))
	b.WriteString(service("history", ports[3], ports[4], ""))
	b.WriteString(service("matching", ports[5], ports[6], ""))
	b.WriteString(service("worker", ports[7], ports[8], ""))
	fmt.Fprintf(&b, `clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: %q
dcRedirectionPolicy:
  policy: noop
publicClient:
  hostPort: %q
dynamicConfigClient:
  filepath: %q
  pollInterval: 10s
`, tc.Address, tc.Address, dynamicConfig)
	return b.String()
}

// writeCerts creates a CA, the frontend's certificate (for 127.0.0.1 and
// localhost) and a client certificate, as PEM files in dir.
func (tc *Temporal) writeCerts(dir string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rigger test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	tc.CAFile = filepath.Join(dir, "ca.pem")
	if err := writePEM(tc.CAFile, "CERTIFICATE", caDER); err != nil {
		return err
	}
	leaf := func(name string, serial int64, usage []x509.ExtKeyUsage, dns []string, ips []net.IP) (string, string, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", "", err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage, DNSNames: dns, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return "", "", err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return "", "", err
		}
		cert, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		if err := writePEM(cert, "CERTIFICATE", der); err != nil {
			return "", "", err
		}
		return cert, keyFile, writePEM(keyFile, "EC PRIVATE KEY", keyDER)
	}
	if _, _, err := leaf("server", 2, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		[]string{tc.ServerName}, []net.IP{net.IPv4(127, 0, 0, 1)}); err != nil {
		return err
	}
	tc.CertFile, tc.KeyFile, err = leaf("client", 3, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil, nil)
	return err
}

func writePEM(file, typ string, der []byte) error {
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// temporalProc is one started server.
type temporalProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	procLog
}

// lowPorts hands out candidate ports in [10000, 20000): the server
// records membership ports in a PostgreSQL smallint (a port above 32767
// fails its start with "out of range for type smallint"), and ports
// below the kernel's ephemeral range (32768+) are not handed to other
// processes' outgoing connections. Each test process starts at its own
// pid-derived offset; a port in use is passed over.
var lowPorts = struct {
	sync.Mutex
	next int
}{}

func lowPort() int {
	lowPorts.Lock()
	defer lowPorts.Unlock()
	const low, high = 10000, 20000
	if lowPorts.next == 0 {
		lowPorts.next = low + (os.Getpid()*89)%(high-low)
	}
	for {
		p := lowPorts.next
		lowPorts.next++
		if lowPorts.next >= high {
			lowPorts.next = low
		}
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			l.Close()
			return p
		}
	}
}

func (p *temporalProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
