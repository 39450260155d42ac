package devserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/headers"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/primitives/timestamp"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// clusterID must never change for a given data directory: the server stores it
// and refuses to start with another one. A fixed, valid UUID keeps restarts safe.
const clusterID = "6f1e3c7a-52b4-4a2e-9c1d-2b7f0e8a9d41"

const clusterName = "active"

// Options configures the embedded server. Zero values are not defaults: cmd
// fills every field from the validated configuration.
type Options struct {
	// DataDir holds temporal.db (SQLite, WAL), temporal-visibility.db (the
	// visibility records), the version stamp and a lock file.
	DataDir string
	// FrontendAddress is the gRPC host:port SDK clients and the temporal CLI
	// use. Port 0 picks a free port (Server.FrontendAddress says which),
	// on Linux held from the pick until the frontend listens: what tests
	// should use, as a port found free and let go may be taken before the
	// server binds it, and the server's failed bind ends the process.
	// Elsewhere (ports_other.go) the port is found free and let go.
	FrontendAddress string
	// UIAddress is the host:port of the Temporal Web UI; empty disables it.
	UIAddress string
	// CodecEndpoint is where the UI decodes encrypted payloads (rigger's
	// /api/temporal-codec); empty: it shows them as they are stored.
	CodecEndpoint string
	// Namespace is created at start when missing.
	Namespace string
	// Retention is how long closed workflow histories are kept.
	Retention time.Duration
	// SearchAttributes are registered on the namespace when it is created.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's own logs.
	Logger *slog.Logger
}

// Server is a running embedded Temporal server (and UI).
type Server struct {
	server temporal.Server
	// dc is the server's dynamic config; SearchAttributesSettled changes it.
	dc    *dynamicconfig.MemoryClient
	ui    *uiserver.Server
	lock  *os.File
	opts  Options
	quiet *atomic.Bool
}

// ServerVersion is the Temporal server version compiled into this binary.
func ServerVersion() string { return headers.ServerVersion }

// Start validates opts, prepares the SQLite file, and starts the frontend,
// history, matching and worker services plus the UI. It returns once the
// services are started; callers still dial the frontend to check health.
func Start(opts Options) (*Server, error) {
	if opts.DataDir == "" || opts.FrontendAddress == "" || opts.Namespace == "" || opts.Logger == nil {
		return nil, errors.New("devserver: data dir, frontend address, namespace and logger are required")
	}
	host, port, err := splitHostPort(opts.FrontendAddress, true)
	if err != nil {
		return nil, fmt.Errorf("temporal frontend address: %w", err)
	}
	if net.ParseIP(host) == nil {
		// The services bind to it (config.RPC.BindOnIP).
		return nil, fmt.Errorf("temporal frontend address %q: the host must be an IP address, such as 127.0.0.1", opts.FrontendAddress)
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	lock, err := lockDataDir(opts.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Server{lock: lock, opts: opts, quiet: &atomic.Bool{}, dc: dynamicConfig()}
	ok := false
	defer func() {
		if !ok {
			s.unlock()
		}
	}()

	if port != 0 {
		if err := checkFree(opts.FrontendAddress); err != nil {
			return nil, fmt.Errorf("temporal frontend: %w", err)
		}
	}
	if opts.UIAddress != "" {
		if _, _, err := splitHostPort(opts.UIAddress, false); err != nil {
			return nil, fmt.Errorf("temporal ui address: %w", err)
		}
		if err := checkFree(opts.UIAddress); err != nil {
			return nil, fmt.Errorf("temporal ui: %w", err)
		}
	}

	sqlCfg, visCfg, err := prepareDatabase(opts)
	if err != nil {
		return nil, err
	}
	cfg, release, err := serverConfig(host, port, sqlCfg, visCfg)
	if err != nil {
		return nil, err
	}
	opts.FrontendAddress = cfg.PublicClient.HostPort
	s.opts.FrontendAddress = opts.FrontendAddress
	// The services listen on their reserved ports in NewServer; the
	// reservations are dropped once they have started (or failed).
	defer release()
	logger := slogLogger{l: opts.Logger, quiet: s.quiet}
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporal claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(cfg.Services[string(svc)].RPC.GRPCPort)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(s.dc),
	)
	if err != nil {
		return nil, fmt.Errorf("build temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start temporal server: %w", err)
	}
	s.server = srv

	if opts.UIAddress != "" {
		uiHost, uiPort, err := splitHostPort(opts.UIAddress, false)
		if err != nil {
			srv.Stop()
			return nil, fmt.Errorf("temporal ui address: %w", err)
		}
		s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
			Host:                uiHost,
			Port:                uiPort,
			TemporalGRPCAddress: opts.FrontendAddress,
			EnableUI:            true,
			DefaultNamespace:    opts.Namespace,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			Codec:               uiconfig.Codec{Endpoint: opts.CodecEndpoint},
			HideLogs:            true,
			DisableNewsFetch:    true,
		}))
		go func() {
			// Start blocks until Stop; a bind failure was ruled out by checkFree.
			if err := s.ui.Start(); err != nil {
				opts.Logger.Error("temporal ui stopped", "error", err)
			}
		}()
	}
	ok = true
	return s, nil
}

// FrontendAddress is where SDK clients connect.
func (s *Server) FrontendAddress() string { return s.opts.FrontendAddress }

// UIURL is the Temporal Web UI's base URL, or "" when the UI is disabled.
func (s *Server) UIURL() string {
	if s.opts.UIAddress == "" {
		return ""
	}
	return "http://" + s.opts.UIAddress
}

// Stop stops the UI, then the server, then releases the data dir. Stop workers
// and clients before calling it.
func (s *Server) Stop() {
	s.quiet.Store(true)
	if s.ui != nil {
		s.ui.Stop()
	}
	if s.server != nil {
		if err := s.server.Stop(); err != nil {
			s.opts.Logger.Warn("temporal server stop", "error", err)
		}
	}
	s.unlock()
}

func (s *Server) unlock() {
	if s.lock != nil {
		_ = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
		_ = s.lock.Close()
		s.lock = nil
	}
}

// lockDataDir takes an exclusive advisory lock so two processes never run a
// server on the same SQLite file. The kernel drops it if the process dies.
func lockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open data dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another rigger process", dir)
	}
	return f, nil
}

// prepareDatabase creates the schema on a new file, refuses a file written by
// another server version, makes sure the namespace exists, and gives the
// visibility records their own file (visibilityFile). It returns the main
// store's configuration and the visibility store's.
func prepareDatabase(opts Options) (_, _ *config.SQL, err error) {
	dbFile := filepath.Join(opts.DataDir, "temporal.db")
	versionFile := filepath.Join(opts.DataDir, "temporal.version")
	sqlCfg := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbFile,
		// Non-URI keys become _pragma parameters. WAL with synchronous=normal
		// survives a process crash; without WAL throughput collapses.
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": "5000",
		},
	}
	_, statErr := os.Stat(dbFile)
	mainIsNew := errors.Is(statErr, os.ErrNotExist)
	switch {
	case mainIsNew:
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return nil, nil, fmt.Errorf("create temporal schema in %s: %w", dbFile, err)
		}
		if err := os.WriteFile(versionFile, []byte(ServerVersion()+"\n"), 0o600); err != nil {
			return nil, nil, fmt.Errorf("write %s: %w", versionFile, err)
		}
	case statErr != nil:
		return nil, nil, fmt.Errorf("stat %s: %w", dbFile, statErr)
	default:
		raw, err := os.ReadFile(versionFile)
		if err != nil {
			return nil, nil, fmt.Errorf("%s exists but its version stamp %s cannot be read (%v): refusing to open a database of unknown schema version", dbFile, versionFile, err)
		}
		if got := strings.TrimSpace(string(raw)); got != ServerVersion() {
			return nil, nil, fmt.Errorf("%s was written by Temporal server %s but this rigger embeds %s; there is no automatic migration yet: use the matching rigger release or move the data dir away", dbFile, got, ServerVersion())
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, nil, fmt.Errorf("namespace %s: %w", opts.Namespace, err)
	}
	if opts.Retention > 0 {
		ns.Detail.Config.Retention = timestamp.DurationPtr(opts.Retention)
	}
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, nil, fmt.Errorf("create namespace %s: %w", opts.Namespace, err)
	}
	visCfg, err := prepareVisibility(sqlCfg, filepath.Join(opts.DataDir, visibilityFile), mainIsNew, opts.Logger)
	if err != nil {
		return nil, nil, err
	}
	return sqlCfg, visCfg, nil
}

// serverConfig is the services' configuration: the frontend on
// frontendPort (0: a reserved one), the other ports reserved on host
// (reservePort) until release is called. cfg.PublicClient.HostPort is the
// frontend's address.
func serverConfig(host string, frontendPort int, sqlCfg, visCfg *config.SQL) (_ *config.Config, release func(), err error) {
	var releases []func()
	release = func() {
		for _, r := range releases {
			r()
		}
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	reserve := func() (int, error) {
		p, r, err := reservePort(host)
		if err != nil {
			return 0, err
		}
		releases = append(releases, r)
		return p, nil
	}
	var cfg config.Config
	cfg.Global.Membership.MaxJoinDuration = 30 * time.Second
	cfg.Global.Membership.BroadcastAddress = host
	cfg.Persistence.DefaultStore = "sqlite"
	cfg.Persistence.VisibilityStore = "visibility"
	cfg.Persistence.NumHistoryShards = 1
	cfg.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlCfg}, "visibility": {SQL: visCfg}}

	httpPort, err := reserve()
	if err != nil {
		return nil, nil, err
	}
	if frontendPort == 0 {
		if frontendPort, err = reserve(); err != nil {
			return nil, nil, err
		}
	}
	frontend := net.JoinHostPort(host, strconv.Itoa(frontendPort))
	cfg.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontend,
				HTTPAddress:            net.JoinHostPort(host, strconv.Itoa(httpPort)),
				ClusterID:              clusterID,
			},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"
	cfg.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = host
		if name == "frontend" {
			svc.RPC.GRPCPort = frontendPort
			svc.RPC.HTTPPort = httpPort
		} else {
			p, err := reserve()
			if err != nil {
				return nil, nil, err
			}
			svc.RPC.GRPCPort = p
		}
		cfg.Services[name] = svc
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	cfg.PublicClient.HostPort = frontend
	return &cfg, release, nil
}

// SearchAttributesSettled ends the search attribute caches' forced refresh
// on every read (ForceSearchAttributesCacheRefreshOnRead, on from the start
// so that attributes registered at run time are seen at once): it costs a
// database read on the one SQLite connection at every workflow start,
// search attribute upsert and visibility write (~16% of the CPU of 200
// waiting tasks). Call it once rigger's attributes are registered;
// registeredNow says some were registered on this server just now, whose
// caches, loaded at start without them, then stay forced until they have
// expired (cacheRefresh).
func (s *Server) SearchAttributesSettled(registeredNow bool) {
	off := func() { s.dc.OverrideValue(dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(), false) }
	if !registeredNow {
		off()
		return
	}
	time.AfterFunc(cacheRefresh, off)
}

// cacheRefresh outlasts the refresh interval of the server's search
// attribute cache (60 s) and of its namespace cache (10 s).
const cacheRefresh = 70 * time.Second

// dynamicConfig holds the settings measured in shared/TEMPORAL.md: with one
// history shard the default 20 polls/s per queue processor adds ~45 ms to every
// hand-off; 1000 brings a 3-activity workflow from ~200 ms to ~40 ms p50.
func dynamicConfig() *dynamicconfig.MemoryClient {
	dc := dynamicconfig.NewMemoryClient()
	for k, v := range map[dynamicconfig.Key]any{
		dynamicconfig.TransferProcessorMaxPollRPS.Key():                  1000,
		dynamicconfig.TimerProcessorMaxPollRPS.Key():                     1000,
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key():                1000,
		dynamicconfig.OutboundProcessorMaxPollRPS.Key():                  1000,
		dynamicconfig.HistoryLongPollExpirationInterval.Key():            2 * time.Second,
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key():      true,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	} {
		dc.OverrideValue(k, v)
	}
	return dc
}

func splitHostPort(addr string, zeroOK bool) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port == 0 && !zeroOK || port > 65535 {
		if zeroOK {
			return "", 0, fmt.Errorf("%q: port must be 0-65535 (0: a free one)", addr)
		}
		return "", 0, fmt.Errorf("%q: port must be 1-65535", addr)
	}
	if host == "" {
		return "", 0, fmt.Errorf("%q: host is required (use 127.0.0.1)", addr)
	}
	return host, port, nil
}

func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return l.Close()
}
