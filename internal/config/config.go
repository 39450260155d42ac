// Package config is rigger's single configuration file, rigger.yaml, in the
// spirit of Backstage's app-config: one YAML document with the sections
// server, temporal, database, auth, catalog, scaffolder, integrations,
// permission and audit.
//
// Reading a file (Load, Parse) starts from Default() and overlays what the
// file says: a mapping overlays field by field, a list replaces the default
// list, and a null or empty value (`key:` or `key: ~`) keeps the default.
// Every scalar may refer to the environment with ${VAR} (or ${VAR:-default});
// $${ is a literal ${. Substitution happens before type conversion, so
// `maxOpenConns: ${N}` works.
//
// The file is read defensively: it is capped at MaxFileBytes, and anchors,
// aliases, merge keys, duplicate keys, non-string keys, deep nesting and
// extra documents are rejected before anything is decoded. Then unknown keys
// (with a suggestion), wrong types and missing variables are errors naming
// the file, line, column and dotted key path, all reported at once (the first
// 50, then a count) as joined *Problem values. Validate then checks the
// values themselves.
//
// Secrets are of type Secret, which never prints, logs or marshals its value;
// Redacted renders the effective configuration for `rigger config check`.
//
// This package must not read the real environment or any file other than the
// one it is asked to load: only main reads the environment, and passes a
// lookup function to Load. It must not import anything of ours outside
// internal/, and it must not hold mutable package state.
package config

import (
	"path/filepath"
	"time"

	"github.com/riggerdev/rigger/internal/permission"
)

// Config is the whole configuration. Default fills every field that has a
// default.
type Config struct {
	// Server is the API server and where rigger keeps its data.
	Server Server `yaml:"server"`
	// Temporal is the Temporal cluster (or embedded dev server) runs use.
	Temporal Temporal `yaml:"temporal"`
	// Database is rigger's own store: catalog, locations, audit.
	Database Database `yaml:"database"`
	// Auth says how callers are identified.
	Auth Auth `yaml:"auth"`
	// Catalog configures ingestion of catalog-info.yaml files.
	Catalog Catalog `yaml:"catalog"`
	// Scaffolder configures template runs.
	Scaffolder Scaffolder `yaml:"scaffolder"`
	// Integrations are the third-party systems actions talk to.
	Integrations Integrations `yaml:"integrations"`
	// Permission is the authorization policy (deny by default).
	Permission Permission `yaml:"permission"`
	// Audit is the audit log.
	Audit Audit `yaml:"audit"`
	// Docs configures documentation sites (TechDocs).
	Docs Docs `yaml:"docs"`
	// Tracing sends OpenTelemetry traces to a collector (off by default).
	Tracing Tracing `yaml:"tracing"`
	// MCP is /api/mcp, the endpoint AI agents connect to.
	MCP MCP `yaml:"mcp"`

	// File is the absolute path of the file Load read; empty when no file
	// was read. It is not a key of the file.
	File string `yaml:"-"`
}

// Server configures the API server and rigger's data directory.
type Server struct {
	// Listen is the host:port of the API and web UI [127.0.0.1:7007]. Use
	// 0.0.0.0:7007 to listen on every interface.
	Listen string `yaml:"listen"`
	// BaseURL is how users reach rigger, used in links and redirects
	// [http://127.0.0.1:7007].
	BaseURL string `yaml:"baseUrl"`
	// DataDir holds the embedded Temporal database, rigger.db and run
	// workspaces [./.rigger].
	DataDir string `yaml:"dataDir"`
	// LogLevel is debug, info, warn or error [info].
	LogLevel string `yaml:"logLevel"`
	// LogFormat is json or text [json].
	LogFormat string `yaml:"logFormat"`
	// TrustedProxies are the addresses or CIDRs of the reverse proxies in
	// front of rigger: from a connection whose peer is one of them,
	// X-Forwarded-For names the client (read from the right, past every
	// trusted proxy) for rate limits, audit events and auth.guest.networks.
	// Without any, the peer is the client [none].
	TrustedProxies []string `yaml:"trustedProxies"`
	// MetricsListen is the host:port of a second listener serving
	// Prometheus metrics at /metrics, without authentication: bind it
	// where only the scraper reaches (a pod port the NetworkPolicy opens
	// to the monitoring namespace) [off].
	MetricsListen string `yaml:"metricsListen"`
}

// Temporal says which Temporal cluster to use and how to reach it.
type Temporal struct {
	// Address is the host:port of the frontend; empty means the embedded dev
	// server of `rigger dev` [""].
	Address string `yaml:"address"`
	// Namespace rigger's workflows run in [default].
	Namespace string `yaml:"namespace"`
	// APIKey authenticates to the cluster (Temporal Cloud); it requires TLS.
	APIKey Secret `yaml:"apiKey"`
	// TLS configures TLS and mTLS to the frontend.
	TLS TemporalTLS `yaml:"tls"`
	// UIURL is the Temporal Web UI that run links point to; empty means
	// derived from the embedded server in dev, and no links otherwise [""].
	UIURL string `yaml:"uiUrl"`
	// Compression of the gRPC messages to and from the frontend: auto
	// sends them uncompressed to an address on this host (localhost, a
	// loopback or unspecified address: the embedded server) and
	// gzip-compressed to any other; gzip or none always do that. Set gzip
	// for a remote cluster reached through a local tunnel or proxy [auto].
	Compression string `yaml:"compression"`
	// Embedded configures the in-process dev server (used when Address is
	// empty).
	Embedded Embedded `yaml:"embedded"`
	// TaskQueues are the queues `rigger dev` runs a worker for, each
	// with only its own integration's configuration (one whose
	// integration is not configured is skipped)
	// [[rigger-default, rigger-github, rigger-aws, rigger-terraform]].
	TaskQueues []string `yaml:"taskQueues"`
	// PayloadKeys encrypt workflow payloads (AES-256-GCM): the first
	// encrypts, all decrypt (rotation: put a new key first, keep the old
	// ones while runs that used them are retained). Every API server and
	// worker needs the same list. Empty: a key derived from
	// scaffolder.secretKey (in rigger dev, its key file); without that,
	// payloads are stored unencrypted, with a warning [none].
	PayloadKeys []PayloadKey `yaml:"payloadKeys"`
}

// PayloadKey is one key of temporal.payloadKeys.
type PayloadKey struct {
	// ID names the key in each payload it encrypted (1 to 64 characters).
	ID string `yaml:"id"`
	// Key is 32 random bytes, base64 (openssl rand -base64 32).
	Key Secret `yaml:"key"`
}

// TemporalTLS configures the connection to the Temporal frontend.
type TemporalTLS struct {
	// Enabled turns TLS on [false]. The other fields are only used when it is.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle that verifies the frontend's certificate; empty
	// means the system roots.
	CAFile string `yaml:"caFile"`
	// CertFile is the PEM client certificate for mTLS; set with KeyFile.
	CertFile string `yaml:"certFile"`
	// KeyFile is the PEM client key for mTLS; set with CertFile.
	KeyFile string `yaml:"keyFile"`
	// ServerName overrides the name verified in the frontend's certificate.
	ServerName string `yaml:"serverName"`
	// InsecureSkipVerify disables certificate verification (tests only)
	// [false].
	InsecureSkipVerify bool `yaml:"insecureSkipVerify"`
}

// Embedded configures the in-process Temporal server of `rigger dev`.
type Embedded struct {
	// FrontendListen is the gRPC host:port of the frontend [127.0.0.1:7233].
	FrontendListen string `yaml:"frontendListen"`
	// UIListen is the Temporal Web UI host:port; empty disables the UI
	// [127.0.0.1:8233].
	UIListen string `yaml:"uiListen"`
	// HistoryShards is the number of history shards [1]. It cannot change
	// once the data directory exists.
	HistoryShards int `yaml:"historyShards"`
}

// Database is rigger's own store.
type Database struct {
	// Driver is sqlite or postgres [sqlite].
	Driver string `yaml:"driver"`
	// Path is the SQLite file; empty means <dataDir>/rigger.db [""]. Only
	// used by sqlite.
	Path string `yaml:"path"`
	// URL is the PostgreSQL connection URL or key=value string; it may hold
	// a password. Required for postgres, not used by sqlite.
	URL Secret `yaml:"url"`
	// MaxOpenConns bounds the connection pool [10].
	MaxOpenConns int `yaml:"maxOpenConns"`
}

// Auth says how callers are identified. Authorization is Permission's job.
type Auth struct {
	// AllowGuest lets unauthenticated callers in as a guest; only `rigger
	// dev` honours it [false].
	AllowGuest bool `yaml:"allowGuest"`
	// DevGuestGroups are the groups rigger dev's guest acts for, as full
	// refs (group:default/team-a): what it owns ("owned by me") and what
	// policies grant those groups. rigger server refuses it [none].
	DevGuestGroups []string `yaml:"devGuestGroups"`
	// Providers are the sign-in providers.
	Providers Providers `yaml:"providers"`
	// Session configures signed-in browser sessions.
	Session Session `yaml:"session"`
	// ServiceTokens are bearer tokens for automation (CI, scripts).
	ServiceTokens []ServiceToken `yaml:"serviceTokens"`
	// Guest lets unauthenticated callers from listed networks read the
	// catalog on rigger server (off unless set; a step of a phased
	// rollout, never a default).
	Guest GuestAccess `yaml:"guest"`
	// Tokens configures rigger's own access tokens.
	Tokens Tokens `yaml:"tokens"`
	// ExternalAccess trusts JWTs of these issuers, e.g. GitHub Actions'
	// OIDC tokens, so pipelines need no long-lived secret.
	ExternalAccess []ExternalAccess `yaml:"externalAccess"`
}

// GuestAccess is rigger server's read-only guest: callers without a
// credential, from one of Networks, may read non-sensitive catalog
// entities and docs; never run templates, see tasks, tokens or audit.
type GuestAccess struct {
	// Access is read-only, or empty for no guest access [empty].
	Access string `yaml:"access"`
	// Networks are the CIDRs guests may come from (the connection's peer
	// address, not a forwarded header); required with access.
	Networks []string `yaml:"networks"`
}

// Tokens configures rigger's access tokens: ES256 JWTs signed by keys kept
// in the database, sealed with scaffolder.secretKey.
type Tokens struct {
	// TTL is an access token's lifetime [15m], at most 1h.
	TTL time.Duration `yaml:"ttl"`
	// KeyRotation is how long a signing key signs before the next [24h].
	KeyRotation time.Duration `yaml:"keyRotation"`
}

// ExternalAccess is one trusted issuer of JWTs for automation.
type ExternalAccess struct {
	// Issuer is the exact iss, e.g. https://token.actions.githubusercontent.com.
	Issuer string `yaml:"issuer"`
	// JWKSURL serves the issuer's keys; empty means the jwks_uri of its
	// discovery document.
	JWKSURL string `yaml:"jwksUrl"`
	// Audience must be among the token's aud.
	Audience string `yaml:"audience"`
	// SubjectPrefix must start the token's sub, e.g. repo:acme/app:.
	SubjectPrefix string `yaml:"subjectPrefix"`
	// Scopes are what such a caller may do.
	Scopes []string `yaml:"scopes"`
	// Claims must equal these values, e.g. repository: acme/app.
	Claims map[string]string `yaml:"claims"`
}

// Providers are the sign-in providers; a provider is on when it is
// configured.
type Providers struct {
	// GitHub is GitHub OAuth sign-in.
	GitHub GitHubAuth `yaml:"github"`
	// OIDC is OpenID Connect sign-in.
	OIDC OIDCAuth `yaml:"oidc"`
	// AWSALB trusts the signed x-amzn-oidc-data assertion of an AWS
	// Application Load Balancer with authentication on.
	AWSALB AWSALBAuth `yaml:"awsAlb"`
	// GCPIAP trusts the signed x-goog-iap-jwt-assertion of Google Cloud
	// Identity-Aware Proxy.
	GCPIAP GCPIAPAuth `yaml:"gcpIap"`
	// CloudflareAccess trusts the signed Cf-Access-Jwt-Assertion of
	// Cloudflare Access.
	CloudflareAccess CloudflareAccessAuth `yaml:"cloudflareAccess"`
}

// SignIn says how a provider's identity becomes a User entity of the
// catalog.
type SignIn struct {
	// Resolvers are tried in order until one finds exactly one User
	// [emailMatchingUserEntityProfileEmail].
	Resolvers []SignInResolver `yaml:"resolvers"`
}

// SignInResolver is one sign-in resolver.
type SignInResolver struct {
	// Resolver is emailMatchingUserEntityProfileEmail (the verified email
	// against spec.profile.email), usernameMatchingUserEntityName (the
	// login against metadata.name) or annotation:<key> (the login against
	// that annotation, e.g. annotation:github.com/user-login).
	Resolver string `yaml:"resolver"`
	// DangerouslyAllowSignInWithoutUserInCatalog signs in a person no
	// resolver matched as user:default/<login>, owning nothing else
	// [false].
	DangerouslyAllowSignInWithoutUserInCatalog bool `yaml:"dangerouslyAllowSignInWithoutUserInCatalog"`
}

// GitHubAuth is GitHub OAuth sign-in.
type GitHubAuth struct {
	// ClientID of the OAuth app; set with ClientSecret.
	ClientID string `yaml:"clientId"`
	// ClientSecret of the OAuth app.
	ClientSecret Secret `yaml:"clientSecret"`
	// EnterpriseURL is a GitHub Enterprise Server (https), e.g.
	// https://github.example.com; empty means github.com.
	EnterpriseURL string `yaml:"enterpriseUrl"`
	// SignIn maps a GitHub user to a catalog User.
	SignIn SignIn `yaml:"signIn"`
	// UserTokenScopes are OAuth scopes asked for at sign-in besides
	// read:user and user:email, for templates that act with the user's own
	// token (RepoUrlPicker's requestUserCredentials), e.g. [repo].
	UserTokenScopes []string `yaml:"userTokenScopes"`
}

// AWSALBAuth is sign-in behind an AWS Application Load Balancer.
type AWSALBAuth struct {
	// Region of the load balancer, e.g. eu-west-1; set with Signer.
	Region string `yaml:"region"`
	// Signer is the load balancer's ARN; assertions signed by another are
	// refused.
	Signer string `yaml:"signer"`
	// SignIn maps the ALB's user to a catalog User.
	SignIn SignIn `yaml:"signIn"`
}

// GCPIAPAuth is sign-in behind Google Cloud Identity-Aware Proxy.
type GCPIAPAuth struct {
	// Audience is /projects/<number>/global/backendServices/<id> or
	// /projects/<number>/apps/<project-id>.
	Audience string `yaml:"audience"`
	// SignIn maps the IAP user to a catalog User.
	SignIn SignIn `yaml:"signIn"`
}

// CloudflareAccessAuth is sign-in behind Cloudflare Access.
type CloudflareAccessAuth struct {
	// TeamDomain is <team>.cloudflareaccess.com; set with Audience.
	TeamDomain string `yaml:"teamDomain"`
	// Audience is the Access application's AUD tag.
	Audience string `yaml:"audience"`
	// SignIn maps the Access user to a catalog User.
	SignIn SignIn `yaml:"signIn"`
}

// OIDCAuth is OpenID Connect sign-in.
type OIDCAuth struct {
	// IssuerURL is the https URL of the issuer (its discovery document is
	// <issuerUrl>/.well-known/openid-configuration).
	IssuerURL string `yaml:"issuerUrl"`
	// ClientID registered with the issuer.
	ClientID string `yaml:"clientId"`
	// ClientSecret registered with the issuer (empty for public clients).
	ClientSecret Secret `yaml:"clientSecret"`
	// Scopes requested from the issuer; when set, they must include openid.
	Scopes []string `yaml:"scopes"`
	// SignIn maps the issuer's user to a catalog User.
	SignIn SignIn `yaml:"signIn"`
}

// Session configures signed-in sessions.
type Session struct {
	// Secret signs session cookies; at least 32 characters when set.
	Secret Secret `yaml:"secret"`
	// TTL is how long a session lasts [12h].
	TTL time.Duration `yaml:"ttl"`
}

// ServiceTokenScopes are the scopes a service token may hold: catalog.write
// implies catalog.read, scaffolder.run implies scaffolder.read, * is
// everything.
func ServiceTokenScopes() []string { return permission.Grantable() }

// ServiceToken is a bearer token for automation.
type ServiceToken struct {
	// Name identifies the token in audit events; unique.
	Name string `yaml:"name"`
	// Token is the bearer value, at least 32 characters.
	Token Secret `yaml:"token"`
	// Scopes are what the token may do (deny by default), e.g.
	// catalog.read or scaffolder.run.
	Scopes []string `yaml:"scopes"`
}

// Catalog configures catalog ingestion.
type Catalog struct {
	// Locations are static locations. They are trusted more than locations
	// registered through the API.
	Locations []Location `yaml:"locations"`
	// Rules say which kinds locations may define (Backstage's
	// catalog.rules); empty means rigger's built-in rules.
	Rules []Rule `yaml:"rules"`
	// Reading allows hosts for url locations.
	Reading Reading `yaml:"reading"`
	// OrphanStrategy is delete or keep; keep marks orphans instead of
	// deleting them [delete].
	OrphanStrategy string `yaml:"orphanStrategy"`
	// RefreshInterval is how often each location is read again [5m].
	RefreshInterval time.Duration `yaml:"refreshInterval"`
	// Limits bound what one location may make rigger parse and store.
	Limits Limits `yaml:"limits"`
	// Model adds kinds of the installation's own and JSON Schemas per
	// spec.type to the built-in catalog model; see CatalogModel.
	Model CatalogModel `yaml:"model"`
	// Examples are file globs of an example catalog, registered as static
	// file locations at start when they match something and skipped
	// silently otherwise (as scaffolder.templates, relative to the current
	// directory unless set in a file); [] turns them off
	// [[examples/catalog/*.yaml]].
	Examples []string `yaml:"examples"`
}

// Location is a static catalog location.
type Location struct {
	// Type is file, url or git.
	Type string `yaml:"type"`
	// Target is a file path or glob (file), an http(s) URL (url) or a
	// repository URL (git).
	Target string `yaml:"target"`
	// Path is the file inside the repository; git only.
	Path string `yaml:"path"`
	// Rules replace catalog.rules for this location.
	Rules []Rule `yaml:"rules"`
}

// Rule allows kinds, optionally only from some locations.
type Rule struct {
	// Allow lists entity kinds, e.g. [Component, API].
	Allow []string `yaml:"allow"`
	// Locations restrict the rule; empty means every location.
	Locations []RuleLocation `yaml:"locations"`
}

// RuleLocation matches locations by type and either an exact target or a
// glob pattern.
type RuleLocation struct {
	// Type is file, url or git.
	Type string `yaml:"type"`
	// Target matches one location exactly.
	Target string `yaml:"target"`
	// Pattern is a glob matched against the target.
	Pattern string `yaml:"pattern"`
}

// Reading lists the hosts url locations may be read from.
type Reading struct {
	// Allow lists hosts; empty allows none.
	Allow []ReadingAllow `yaml:"allow"`
}

// ReadingAllow is one allowed host, optionally limited to path prefixes.
type ReadingAllow struct {
	// Host is a host name or a *.suffix pattern (no scheme, port or path).
	Host string `yaml:"host"`
	// Paths are allowed path prefixes, each starting with /; empty allows
	// every path.
	Paths []string `yaml:"paths"`
}

// Limits bound what one location may make rigger parse and store.
type Limits struct {
	// DocumentBytes caps one fetched file [4194304].
	DocumentBytes int `yaml:"documentBytes"`
	// EntityBytes caps one entity [1048576].
	EntityBytes int `yaml:"entityBytes"`
	// MaxDepth caps nesting inside an entity [64].
	MaxDepth int `yaml:"maxDepth"`
	// EntitiesPerLocation caps the entities one location may define
	// [100000].
	EntitiesPerLocation int `yaml:"entitiesPerLocation"`
	// MaxStringLength caps any one string in an entity [65536].
	MaxStringLength int `yaml:"maxStringLength"`
}

// Scaffolder configures template runs.
type Scaffolder struct {
	// AllowedHosts are the hosts fetch actions may reach: host names or
	// *.suffix patterns (no scheme, port or path). Empty allows none.
	AllowedHosts []string `yaml:"allowedHosts"`
	// AllowPrivateNetworks lets fetches reach RFC 1918 and ULA addresses
	// (never loopback or link-local) [false].
	AllowPrivateNetworks bool `yaml:"allowPrivateNetworks"`
	// DisabledActions are action ids templates may not use, e.g. fs:delete.
	DisabledActions []string `yaml:"disabledActions"`
	// DisabledActionsPolicy says what a start or a reload does when an
	// action newly disabled (not in the set last accepted) is used by a
	// stored template: warn names each such template; refuse-if-used
	// refuses the start or the reload, so a change cannot break templates
	// nobody inventoried (an action already disabled only warns) [warn].
	DisabledActionsPolicy string `yaml:"disabledActionsPolicy"`
	// WorkspaceRoot holds run workspaces; empty means <dataDir>/workspaces
	// [""].
	WorkspaceRoot string `yaml:"workspaceRoot"`
	// DefaultStepTimeout bounds a step that sets no timeout [10m].
	DefaultStepTimeout time.Duration `yaml:"defaultStepTimeout"`
	// Templates are file globs of templates loaded at start
	// [[examples/templates/*/template.yaml]].
	Templates []string `yaml:"templates"`
	// SecretKey encrypts the secrets given with tasks while they are stored
	// (base64 of 32 random bytes; every API server and worker needs the
	// same key). rigger dev generates one in its data dir. Without it a
	// server refuses tasks that carry secrets [""].
	SecretKey Secret `yaml:"secretKey"`
	// RunSigningKey signs what the API server decides about each run (the
	// user and their permissions, the template and its base, the hash of
	// the compiled plan); workers refuse runs without a valid signature, so
	// a run started straight through Temporal with a forged input does
	// nothing. Ed25519: the base64 of a 32-byte seed (head -c 32
	// /dev/urandom | base64) on API servers; workers take the same value or
	// only the public key, "ed25519-public:<base64>" (rigger server logs
	// it), and then cannot sign. rigger dev generates one in its data dir.
	// Without it a server refuses to start tasks and a worker refuses to
	// run them [""].
	RunSigningKey Secret `yaml:"runSigningKey"`
	// SecretTTL is how long a task's secrets are kept when the task fails
	// (a retry needs them); a finished task's are deleted at once [24h].
	SecretTTL time.Duration `yaml:"secretTTL"`
	// WorkspaceTTL is how long a task's workspace is kept after a step
	// last used it; then it is deleted. Keep it above the longest
	// debug:wait of your templates [24h].
	WorkspaceTTL time.Duration `yaml:"workspaceTTL"`
	// Limits bound what rendering one step may consume.
	Limits ScaffolderLimits `yaml:"limits"`
	// Sandbox confines the tools integration steps run (git, terraform).
	Sandbox Sandbox `yaml:"sandbox"`
	// ExternalActions are actions served by plugin workers on their own
	// task queues (see ExternalAction) [].
	ExternalActions []ExternalAction `yaml:"externalActions"`
}

// Sandbox confines subprocesses: Landlock (write only the step's own
// directories), a new network namespace when a step needs no network,
// no_new_privs, rlimits and an environment holding only the step's own
// credentials.
type Sandbox struct {
	// Required refuses to run a tool unconfined when the kernel lacks
	// Landlock (or network namespaces, for a step without network); false
	// runs it with what the kernel has, logging what is missing [true].
	Required bool `yaml:"required"`
	// Helper is the rigger-sandbox binary that confines each tool; empty
	// means rigger-sandbox next to the rigger binary when it is there,
	// else rigger itself (~35 ms of CPU per tool start instead of ~1 ms) [""].
	Helper string `yaml:"helper"`
}

// ScaffolderLimits bound the rendering of one step (its if, each and the
// input of every item share one budget).
type ScaffolderLimits struct {
	// MaxEachItems is the most items a step's each may give [10000].
	MaxEachItems int `yaml:"maxEachItems"`
	// RenderTimeout, MaxIterations and MaxOutputBytes are one step's
	// rendering budget, shared by its if, each, every item's input and the
	// skeleton files its fetch action renders [1s, 100000, 1 MiB]. Raise
	// them for very large skeletons.
	RenderTimeout  time.Duration `yaml:"renderTimeout"`
	MaxIterations  int           `yaml:"maxIterations"`
	MaxOutputBytes int           `yaml:"maxOutputBytes"`
}

// Integrations are third-party systems actions talk to.
type Integrations struct {
	// GitHub lists GitHub and GitHub Enterprise hosts.
	GitHub []GitHub `yaml:"github"`
	// AWS is where AWS actions get short-lived credentials.
	AWS AWS `yaml:"aws"`
	// Terraform configures the terraform actions.
	Terraform Terraform `yaml:"terraform"`
}

// GitHub is one GitHub (or GitHub Enterprise) host.
type GitHub struct {
	// Host is the web host name [github.com, also inside a list item].
	Host string `yaml:"host"`
	// APIBaseURL is the REST API root; empty means https://api.github.com
	// for github.com and https://<host>/api/v3 otherwise.
	APIBaseURL string `yaml:"apiBaseUrl"`
	// Token is a personal access token; prefer Apps, whose tokens are short
	// lived and narrowly scoped.
	Token Secret `yaml:"token"`
	// Apps are GitHub Apps rigger mints installation tokens from.
	Apps []GitHubApp `yaml:"apps"`
	// WebhookSecret verifies deliveries of repository or organisation
	// webhooks (not an App's) to /api/webhooks/github.
	WebhookSecret Secret `yaml:"webhookSecret"`
	// GitBaseURL is where git clones and pushes, <gitBaseUrl>/<owner>/<repo>.git
	// [https://<host>].
	GitBaseURL string `yaml:"gitBaseUrl"`
}

// WebhookSecrets are the secrets deliveries from this host may be signed
// with: the host's own and every App's.
func (g GitHub) WebhookSecrets() []Secret {
	var out []Secret
	if g.WebhookSecret != "" {
		out = append(out, g.WebhookSecret)
	}
	for _, a := range g.Apps {
		if a.WebhookSecret != "" {
			out = append(out, a.WebhookSecret)
		}
	}
	return out
}

// defaultListItem gives a github list item its default host.
func (g *GitHub) defaultListItem() { g.Host = "github.com" }

// APIURL is the REST API root of g.
func (g GitHub) APIURL() string {
	switch {
	case g.APIBaseURL != "":
		return g.APIBaseURL
	case g.Host == "github.com" || g.Host == "":
		return "https://api.github.com"
	default:
		return "https://" + g.Host + "/api/v3"
	}
}

// GitHubApp is a GitHub App rigger mints installation tokens from.
type GitHubApp struct {
	// AppID is the App's numeric id.
	AppID int64 `yaml:"appId"`
	// PrivateKey is the App's PEM private key.
	PrivateKey Secret `yaml:"privateKey"`
	// WebhookSecret verifies webhook deliveries.
	WebhookSecret Secret `yaml:"webhookSecret"`
	// ClientID of the App, for sign-in through the App; set with
	// ClientSecret.
	ClientID string `yaml:"clientId"`
	// ClientSecret of the App.
	ClientSecret Secret `yaml:"clientSecret"`
}

// AWS is where AWS actions get short-lived credentials.
type AWS struct {
	// Region is the default region, e.g. eu-west-1.
	Region string `yaml:"region"`
	// Endpoint overrides the AWS endpoints (an S3/STS-compatible server).
	Endpoint string `yaml:"endpoint"`
	// RoleARN is the role assumed for each run, with a session policy.
	RoleARN string `yaml:"roleArn"`
	// AccessKeyID is the base credential's id; set with SecretAccessKey.
	// Empty means the default credential chain.
	AccessKeyID string `yaml:"accessKeyId"`
	// SecretAccessKey is the base credential's secret.
	SecretAccessKey Secret `yaml:"secretAccessKey"`
	// SessionDuration is how long each step's STS session lasts; STS's
	// minimum, 15m, is also Rigger's maximum (a step's credential lives
	// minutes) [15m].
	SessionDuration time.Duration `yaml:"sessionDuration"`
}

// Terraform configures the terraform actions.
type Terraform struct {
	// Binary is the terraform (or tofu) executable [terraform].
	Binary string `yaml:"binary"`
	// PluginMirror is a provider mirror directory or URL, so runs need no
	// access to the public registry.
	PluginMirror string `yaml:"pluginMirror"`
}

// Permission configures the permission policy; it denies by default.
type Permission struct {
	// Enabled turns policy checks on [true].
	Enabled bool `yaml:"enabled"`
	// PolicyFiles are the Cedar policy files; none (and no PolicyFile)
	// means the built-in default policy (examples/policies/default.cedar).
	PolicyFiles []string `yaml:"policyFiles"`
	// PolicyFile is a single policy file, an alias for one PolicyFiles
	// entry (both may be set).
	PolicyFile string `yaml:"policyFile"`
	// Admins are user or group entity refs allowed everything, e.g.
	// group:default/platform.
	Admins []string `yaml:"admins"`
}

// Files are the policy files to load: PolicyFile, then PolicyFiles.
func (p Permission) Files() []string {
	var out []string
	if p.PolicyFile != "" {
		out = append(out, p.PolicyFile)
	}
	return append(out, p.PolicyFiles...)
}

// Audit configures the audit log.
type Audit struct {
	// Enabled turns audit events on [true].
	Enabled bool `yaml:"enabled"`
	// Sink is stdout, file or database [stdout].
	Sink string `yaml:"sink"`
	// Path is the file the file sink appends to; required for it.
	Path string `yaml:"path"`
	// Alerts are rules that raise an alert (an audit.alert event, and
	// optionally a webhook POST) on suspicious events.
	Alerts Alerts `yaml:"alerts"`
}

// Alerts configures the audit alert rules. Each rigger server counts the
// events it records itself.
type Alerts struct {
	OutsideHours     OutsideHoursAlert     `yaml:"outsideHours"`
	CatalogReads     CatalogReadsAlert     `yaml:"catalogReads"`
	CatalogMutations CatalogMutationsAlert `yaml:"catalogMutations"`
	SignInFailures   SignInFailuresAlert   `yaml:"signInFailures"`
	// MaxTracked is how many actors (or source IPs) a counting rule keeps
	// counts for; past it the one seen least recently is forgotten [10000].
	MaxTracked int `yaml:"maxTracked"`
	// WebhookHosts are the hosts webhooks may be sent to (host names or
	// *.suffix patterns); every webhook's host must be listed.
	WebhookHosts []string `yaml:"webhookHosts"`
	// WebhookNetworks are CIDRs a webhook may reach although they are not
	// public (10.0.0.0/8 for an in-cluster receiver); loopback, private
	// and link-local addresses are refused otherwise.
	WebhookNetworks []string `yaml:"webhookNetworks"`
	// WebhookTimeout bounds one POST [10s].
	WebhookTimeout time.Duration `yaml:"webhookTimeout"`
	// WebhookQueue is how many alerts may wait per webhook; more are
	// dropped and logged [100].
	WebhookQueue int `yaml:"webhookQueue"`
}

// AlertWebhook is where a rule's alerts are POSTed as JSON; no URL, no POST.
type AlertWebhook struct {
	// URL may hold a token (Slack's do), so it is a secret.
	URL     Secret        `yaml:"url"`
	Headers []AlertHeader `yaml:"headers"`
}

// AlertHeader is a header sent with each webhook POST.
type AlertHeader struct {
	Name  string `yaml:"name"`
	Value Secret `yaml:"value"`
}

// OutsideHoursAlert alerts on template runs outside working hours.
type OutsideHoursAlert struct {
	Enabled bool `yaml:"enabled"`
	// Name is the alert's target [outsideHours].
	Name string `yaml:"name"`
	// Timezone is an IANA zone such as Europe/Berlin [UTC].
	Timezone string `yaml:"timezone"`
	// Days are the working days [mon, tue, wed, thu, fri].
	Days []string `yaml:"days"`
	// From and To are the working hours, HH:MM [08:00, 20:00]; To before
	// From spans midnight.
	From    string       `yaml:"from"`
	To      string       `yaml:"to"`
	Webhook AlertWebhook `yaml:"webhook"`
}

// CatalogReadsAlert alerts when one actor reads more than Threshold
// entities within Window (once per window).
type CatalogReadsAlert struct {
	Enabled bool `yaml:"enabled"`
	// Name is the alert's target [catalogReads].
	Name      string        `yaml:"name"`
	Threshold int           `yaml:"threshold"` // [50]
	Window    time.Duration `yaml:"window"`    // [5m]
	Webhook   AlertWebhook  `yaml:"webhook"`
}

// CatalogMutationsAlert alerts on catalog changes by actors outside
// Allowed.
type CatalogMutationsAlert struct {
	Enabled bool `yaml:"enabled"`
	// Name is the alert's target [catalogMutations].
	Name string `yaml:"name"`
	// Allowed are the users and groups that may change the catalog
	// unremarked [group:default/platform-team].
	Allowed []string     `yaml:"allowed"`
	Webhook AlertWebhook `yaml:"webhook"`
}

// SignInFailuresAlert alerts on failed sign-ins over a threshold, per
// source IP and in all.
type SignInFailuresAlert struct {
	Enabled bool `yaml:"enabled"`
	// Name is the alert's target [signInFailures].
	Name    string        `yaml:"name"`
	PerIP   int           `yaml:"perIP"`  // [10]; 0 is off
	Total   int           `yaml:"total"`  // [100]; 0 is off
	Window  time.Duration `yaml:"window"` // [5m]
	Webhook AlertWebhook  `yaml:"webhook"`
}

// Default returns the configuration used when rigger.yaml says nothing. Each
// call returns a new value.
func Default() *Config {
	return &Config{
		Server: Server{
			Listen:    "127.0.0.1:7007",
			BaseURL:   "http://127.0.0.1:7007",
			DataDir:   "./.rigger",
			LogLevel:  "info",
			LogFormat: "json",
		},
		Temporal: Temporal{
			Namespace:   "default",
			Compression: "auto",
			Embedded: Embedded{
				FrontendListen: "127.0.0.1:7233",
				UIListen:       "127.0.0.1:8233",
				HistoryShards:  1,
			},
			TaskQueues: []string{"rigger-default", "rigger-github", "rigger-aws", "rigger-terraform"},
		},
		Database: Database{Driver: "sqlite", MaxOpenConns: 10},
		Auth:     Auth{Session: Session{TTL: 12 * time.Hour}, Tokens: Tokens{TTL: 15 * time.Minute, KeyRotation: 24 * time.Hour}},
		Catalog: Catalog{
			Examples:        []string{"examples/catalog/*.yaml"},
			OrphanStrategy:  "delete",
			RefreshInterval: 5 * time.Minute,
			Limits: Limits{
				DocumentBytes:       4 << 20,
				EntityBytes:         1 << 20,
				MaxDepth:            64,
				EntitiesPerLocation: 100000,
				MaxStringLength:     65536,
			},
		},
		Scaffolder: Scaffolder{
			DefaultStepTimeout: 10 * time.Minute,
			Templates:          []string{"examples/templates/*/template.yaml"},
			SecretTTL:          24 * time.Hour,
			WorkspaceTTL:       24 * time.Hour,
			Limits:             ScaffolderLimits{MaxEachItems: 10000, RenderTimeout: time.Second, MaxIterations: 100_000, MaxOutputBytes: 1 << 20},
			Sandbox:            Sandbox{Required: true},
		},
		Integrations: Integrations{
			AWS:       AWS{SessionDuration: 15 * time.Minute},
			Terraform: Terraform{Binary: "terraform"},
		},
		Permission: Permission{Enabled: true},
		Audit:      Audit{Enabled: true, Sink: "stdout", Alerts: DefaultAlerts()},
		Tracing:    Tracing{SamplePercent: 100},
		MCP:        DefaultMCP(),
	}
}

// Tracing sends OpenTelemetry traces over OTLP/HTTP.
type Tracing struct {
	// Endpoint is the collector's OTLP/HTTP base URL, e.g.
	// http://otel-collector:4318 (spans go to /v1/traces); empty turns
	// tracing off [""].
	Endpoint string `yaml:"endpoint"`
	// SamplePercent is the share of new traces kept, 0 to 100; a request
	// carrying a sampled traceparent is always traced [100].
	SamplePercent int `yaml:"samplePercent"`
}

// SQLitePath is the SQLite file: database.path, or rigger.db in the data
// directory.
func (c *Config) SQLitePath() string {
	if c.Database.Path != "" {
		return c.Database.Path
	}
	return filepath.Join(c.Server.DataDir, "rigger.db")
}

// WorkspaceDir is where run workspaces live: scaffolder.workspaceRoot, or
// workspaces in the data directory.
func (c *Config) WorkspaceDir() string {
	if c.Scaffolder.WorkspaceRoot != "" {
		return c.Scaffolder.WorkspaceRoot
	}
	return filepath.Join(c.Server.DataDir, "workspaces")
}

// DefaultAlerts are the alert rules when rigger.yaml says nothing: every
// rule off (a catalog page of 100 entities is already more than 50 reads:
// the thresholds are the organisation's to choose), each filled in so
// that enabled: true is enough to try it.
func DefaultAlerts() Alerts {
	return Alerts{
		OutsideHours: OutsideHoursAlert{Name: "outsideHours", Timezone: "UTC",
			Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "08:00", To: "20:00"},
		CatalogReads:     CatalogReadsAlert{Name: "catalogReads", Threshold: 50, Window: 5 * time.Minute},
		CatalogMutations: CatalogMutationsAlert{Name: "catalogMutations", Allowed: []string{"group:default/platform-team"}},
		SignInFailures:   SignInFailuresAlert{Name: "signInFailures", PerIP: 10, Total: 100, Window: 5 * time.Minute},
		MaxTracked:       10000,
		WebhookTimeout:   10 * time.Second,
		WebhookQueue:     100,
	}
}
