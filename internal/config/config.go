// Package config is rigger's single configuration file, rigger.yaml, in the
// spirit of Backstage's app-config: sections server, temporal, database, auth,
// catalog, scaffolder, integrations, permission and audit; ${VAR}
// substitution; precise errors (file:line:col and the dotted key path) for
// unknown keys, wrong types and missing variables; secrets that never print.
//
// Only main reads the real environment: Load takes a lookup function. This
// package must not import any other rigger package.
package config

import "time"

// Config is the whole configuration. Default() fills every field.
type Config struct {
	Server       Server       `yaml:"server"`
	Temporal     Temporal     `yaml:"temporal"`
	Database     Database     `yaml:"database"`
	Auth         Auth         `yaml:"auth"`
	Catalog      Catalog      `yaml:"catalog"`
	Scaffolder   Scaffolder   `yaml:"scaffolder"`
	Integrations Integrations `yaml:"integrations"`
	Permission   Permission   `yaml:"permission"`
	Audit        Audit        `yaml:"audit"`
}

// Server configures the API server and where rigger keeps its data.
type Server struct {
	// Listen is the API and web UI address.
	Listen string `yaml:"listen"`
	// BaseURL is how users reach rigger (used in links).
	BaseURL string `yaml:"baseUrl"`
	// DataDir holds the embedded Temporal database, rigger.db and workspaces.
	DataDir string `yaml:"dataDir"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"logLevel"`
	// LogFormat is json or text.
	LogFormat string `yaml:"logFormat"`
}

// Temporal says which Temporal cluster to use.
type Temporal struct {
	// Address of the frontend; empty means the embedded dev server (rigger dev).
	Address string `yaml:"address"`
	// Namespace rigger's workflows run in.
	Namespace string `yaml:"namespace"`
	// APIKey authenticates to the cluster (Temporal Cloud); requires TLS.
	APIKey Secret `yaml:"apiKey"`
	// TLS configures TLS and mTLS to the frontend.
	TLS TemporalTLS `yaml:"tls"`
	// UIURL is the Temporal Web UI that run links point to ("" = derived in dev).
	UIURL string `yaml:"uiUrl"`
	// Embedded configures the dev server rigger dev runs in-process.
	Embedded Embedded `yaml:"embedded"`
	// TaskQueues rigger dev runs a worker for.
	TaskQueues []string `yaml:"taskQueues"`
}

// TemporalTLS configures the connection to the frontend.
type TemporalTLS struct {
	Enabled bool `yaml:"enabled"`
	// CAFile verifies the frontend's certificate (default: system roots).
	CAFile string `yaml:"caFile"`
	// CertFile and KeyFile are the client certificate for mTLS.
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
	// ServerName overrides the name verified in the frontend's certificate.
	ServerName string `yaml:"serverName"`
	// InsecureSkipVerify disables verification (testing only).
	InsecureSkipVerify bool `yaml:"insecureSkipVerify"`
}

// Embedded configures the in-process Temporal server of rigger dev.
type Embedded struct {
	FrontendListen string `yaml:"frontendListen"`
	// UIListen is the Temporal Web UI address; empty disables the UI.
	UIListen      string `yaml:"uiListen"`
	HistoryShards int    `yaml:"historyShards"`
}

// Database is rigger's own store (catalog, audit, ...).
type Database struct {
	// Driver is sqlite or postgres.
	Driver string `yaml:"driver"`
	// Path of the SQLite file; empty = <dataDir>/rigger.db.
	Path string `yaml:"path"`
	// URL is the PostgreSQL connection URL (may hold a password).
	URL          Secret `yaml:"url"`
	MaxOpenConns int    `yaml:"maxOpenConns"`
}

// Auth says how callers are identified.
type Auth struct {
	// AllowGuest is honoured only by rigger dev.
	AllowGuest    bool           `yaml:"allowGuest"`
	Providers     Providers      `yaml:"providers"`
	Session       Session        `yaml:"session"`
	ServiceTokens []ServiceToken `yaml:"serviceTokens"`
}

// Providers are the sign-in providers.
type Providers struct {
	GitHub GitHubAuth `yaml:"github"`
	OIDC   OIDCAuth   `yaml:"oidc"`
}

// GitHubAuth is GitHub OAuth sign-in.
type GitHubAuth struct {
	ClientID     string `yaml:"clientId"`
	ClientSecret Secret `yaml:"clientSecret"`
}

// OIDCAuth is OpenID Connect sign-in.
type OIDCAuth struct {
	IssuerURL    string   `yaml:"issuerUrl"`
	ClientID     string   `yaml:"clientId"`
	ClientSecret Secret   `yaml:"clientSecret"`
	Scopes       []string `yaml:"scopes"`
}

// Session configures signed-in sessions.
type Session struct {
	Secret Secret        `yaml:"secret"`
	TTL    time.Duration `yaml:"ttl"`
}

// ServiceToken is a bearer token for automation.
type ServiceToken struct {
	Name   string   `yaml:"name"`
	Token  Secret   `yaml:"token"`
	Scopes []string `yaml:"scopes"`
}

// Catalog configures ingestion.
type Catalog struct {
	// Locations are static locations, trusted to define any allowed kind.
	Locations []Location `yaml:"locations"`
	// Rules say which kinds locations may define (Backstage's catalog.rules).
	Rules   []Rule  `yaml:"rules"`
	Reading Reading `yaml:"reading"`
	// OrphanStrategy is delete or keep (keep marks them orphaned).
	OrphanStrategy  string        `yaml:"orphanStrategy"`
	RefreshInterval time.Duration `yaml:"refreshInterval"`
	Limits          Limits        `yaml:"limits"`
}

// Location is a static catalog location.
type Location struct {
	// Type is file, url or git.
	Type   string `yaml:"type"`
	Target string `yaml:"target"`
	// Path inside a git repository.
	Path  string `yaml:"path"`
	Rules []Rule `yaml:"rules"`
}

// Rule allows kinds, optionally only from some locations.
type Rule struct {
	Allow     []string       `yaml:"allow"`
	Locations []RuleLocation `yaml:"locations"`
}

// RuleLocation restricts a rule to locations of a type and target or pattern.
type RuleLocation struct {
	Type    string `yaml:"type"`
	Target  string `yaml:"target"`
	Pattern string `yaml:"pattern"`
}

// Reading allows hosts for url locations.
type Reading struct {
	Allow []ReadingAllow `yaml:"allow"`
}

// ReadingAllow is one allowed host, optionally limited to path prefixes.
type ReadingAllow struct {
	Host  string   `yaml:"host"`
	Paths []string `yaml:"paths"`
}

// Limits bound what one location may make rigger parse and store.
type Limits struct {
	DocumentBytes       int `yaml:"documentBytes"`
	EntityBytes         int `yaml:"entityBytes"`
	MaxDepth            int `yaml:"maxDepth"`
	EntitiesPerLocation int `yaml:"entitiesPerLocation"`
	MaxStringLength     int `yaml:"maxStringLength"`
}

// Scaffolder configures template runs.
type Scaffolder struct {
	// AllowedHosts for fetch actions: host names or *.suffix patterns.
	AllowedHosts []string `yaml:"allowedHosts"`
	// AllowPrivateNetworks lets fetches reach RFC 1918 addresses.
	AllowPrivateNetworks bool     `yaml:"allowPrivateNetworks"`
	DisabledActions      []string `yaml:"disabledActions"`
	// WorkspaceRoot holds run workspaces; empty = <dataDir>/workspaces.
	WorkspaceRoot      string        `yaml:"workspaceRoot"`
	DefaultStepTimeout time.Duration `yaml:"defaultStepTimeout"`
	// Templates are file globs of templates loaded at start.
	Templates []string `yaml:"templates"`
}

// Integrations are third-party systems actions talk to.
type Integrations struct {
	GitHub    []GitHub  `yaml:"github"`
	AWS       AWS       `yaml:"aws"`
	Terraform Terraform `yaml:"terraform"`
}

// GitHub is one GitHub (or GitHub Enterprise) host.
type GitHub struct {
	Host       string      `yaml:"host"`
	APIBaseURL string      `yaml:"apiBaseUrl"`
	Token      Secret      `yaml:"token"`
	Apps       []GitHubApp `yaml:"apps"`
}

// GitHubApp is a GitHub App rigger mints installation tokens from.
type GitHubApp struct {
	AppID         int64  `yaml:"appId"`
	PrivateKey    Secret `yaml:"privateKey"`
	WebhookSecret Secret `yaml:"webhookSecret"`
	ClientID      string `yaml:"clientId"`
	ClientSecret  Secret `yaml:"clientSecret"`
}

// AWS is where AWS actions get short-lived credentials.
type AWS struct {
	Region          string        `yaml:"region"`
	Endpoint        string        `yaml:"endpoint"`
	RoleARN         string        `yaml:"roleArn"`
	AccessKeyID     string        `yaml:"accessKeyId"`
	SecretAccessKey Secret        `yaml:"secretAccessKey"`
	SessionDuration time.Duration `yaml:"sessionDuration"`
}

// Terraform configures the terraform actions.
type Terraform struct {
	Binary       string `yaml:"binary"`
	PluginMirror string `yaml:"pluginMirror"`
}

// Permission configures the permission policy (deny by default).
type Permission struct {
	Enabled    bool     `yaml:"enabled"`
	PolicyFile string   `yaml:"policyFile"`
	Admins     []string `yaml:"admins"`
}

// Audit configures the audit log.
type Audit struct {
	Enabled bool `yaml:"enabled"`
	// Sink is stdout, file or database.
	Sink string `yaml:"sink"`
	Path string `yaml:"path"`
}

// Default returns the configuration used when rigger.yaml says nothing.
func Default() *Config {
	return &Config{
		Server: Server{Listen: "127.0.0.1:7007", BaseURL: "http://127.0.0.1:7007", DataDir: "./.rigger", LogLevel: "info", LogFormat: "json"},
		Temporal: Temporal{
			Namespace:  "default",
			Embedded:   Embedded{FrontendListen: "127.0.0.1:7233", UIListen: "127.0.0.1:8233", HistoryShards: 1},
			TaskQueues: []string{"rigger-default"},
		},
		Database: Database{Driver: "sqlite", MaxOpenConns: 10},
		Auth:     Auth{Session: Session{TTL: 12 * time.Hour}},
		Catalog: Catalog{
			OrphanStrategy:  "delete",
			RefreshInterval: 5 * time.Minute,
			Limits: Limits{
				DocumentBytes: 4 << 20, EntityBytes: 1 << 20, MaxDepth: 64,
				EntitiesPerLocation: 100000, MaxStringLength: 65536,
			},
		},
		Scaffolder: Scaffolder{
			DefaultStepTimeout: 10 * time.Minute,
			Templates:          []string{"examples/templates/*/template.yaml"},
		},
		Integrations: Integrations{
			AWS:       AWS{SessionDuration: 15 * time.Minute},
			Terraform: Terraform{Binary: "terraform"},
		},
		Permission: Permission{Enabled: true},
		Audit:      Audit{Enabled: true, Sink: "stdout"},
	}
}
