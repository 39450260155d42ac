package config

import (
	"strings"
	"testing"
	"time"
)

// cluster points the config at a Temporal cluster, so TLS checks apply.
func cluster(c *Config) {
	c.Temporal.Address = "temporal.example.com:7233"
	c.Temporal.TLS.Enabled = true
}

const longToken = "0123456789abcdef0123456789abcdef"

const pemKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n"

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string // one whole line of the error; "" means valid
	}{
		// server
		{"listen without port", func(c *Config) { c.Server.Listen = "7007" }, `server.listen: "7007" is not host:port`},
		{"listen without host", func(c *Config) { c.Server.Listen = ":7007" },
			`server.listen: ":7007" has no host: write 127.0.0.1:7007 to stay local, or 0.0.0.0:7007 to listen on every interface`},
		{"listen with scheme", func(c *Config) { c.Server.Listen = "http://127.0.0.1:7007" }, `server.listen: "http://127.0.0.1:7007" is not host:port (write it without a scheme)`},
		{"listen port out of range", func(c *Config) { c.Server.Listen = "127.0.0.1:70000" }, `server.listen: "127.0.0.1:70000" has an invalid port (0 to 65535)`},
		{"listen on every interface", func(c *Config) { c.Server.Listen = "0.0.0.0:7007" }, ""},
		{"listen on IPv6", func(c *Config) { c.Server.Listen = "[::1]:7007" }, ""},
		{"listen on an ephemeral port", func(c *Config) { c.Server.Listen = "localhost:0" }, ""},
		{"base URL not absolute", func(c *Config) { c.Server.BaseURL = "rigger.example.com" }, `server.baseUrl: "rigger.example.com" is not an absolute http or https URL`},
		{"base URL with trailing slash", func(c *Config) { c.Server.BaseURL = "https://rigger.example.com/" }, `server.baseUrl: "https://rigger.example.com/" must not end with /`},
		{"base URL with a path", func(c *Config) { c.Server.BaseURL = "https://example.com/rigger" }, ""},
		{"base URL with a query", func(c *Config) { c.Server.BaseURL = "https://example.com?a=b" }, `server.baseUrl: "https://example.com?a=b" must not have a query`},
		{"base URL with credentials", func(c *Config) { c.Server.BaseURL = "https://u:p@example.com" }, "server.baseUrl: must not hold credentials (user:password@); put them in a secret field"},
		{"empty data dir", func(c *Config) { c.Server.DataDir = "" }, "server.dataDir: is required"},
		{"data dir with a question mark", func(c *Config) { c.Server.DataDir = "/srv/q?x" },
			`server.dataDir: "/srv/q?x" holds "?", which SQLite's file: URIs read as syntax, not as part of the name; choose a path without ?, # or %`},
		{"data dir with a percent sign", func(c *Config) { c.Server.DataDir = "/srv/100%" }, `server.dataDir: "/srv/100%" holds "%", which SQLite's file: URIs read as syntax, not as part of the name; choose a path without ?, # or %`},
		{"data dir with a hash", func(c *Config) { c.Server.DataDir = "/srv/#1" }, `server.dataDir: "/srv/#1" holds "#", which SQLite's file: URIs read as syntax, not as part of the name; choose a path without ?, # or %`},
		{"data dir with spaces and unicode", func(c *Config) { c.Server.DataDir = "/srv/my data/é" }, ""},
		{"database path with a question mark", func(c *Config) { c.Database.Path = "/srv/r?.db" }, `database.path: "/srv/r?.db" holds "?", which SQLite's file: URIs read as syntax, not as part of the name; choose a path without ?, # or %`},
		{"log level", func(c *Config) { c.Server.LogLevel = "loud" }, `server.logLevel: "loud" is not one of debug, info, warn, error`},
		{"log format", func(c *Config) { c.Server.LogFormat = "" }, "server.logFormat: is required (one of json, text)"},

		// temporal
		{"address without port", func(c *Config) { c.Temporal.Address = "temporal.example.com" }, `temporal.address: "temporal.example.com" is not host:port`},
		{"address with port 0", func(c *Config) { c.Temporal.Address = "temporal.example.com:0" }, `temporal.address: "temporal.example.com:0" has an invalid port (1 to 65535)`},
		{"address with scheme", func(c *Config) { c.Temporal.Address = "https://temporal.example.com:7233" },
			`temporal.address: "https://temporal.example.com:7233" is not host:port (write it without a scheme)`},
		{"address with bad host", func(c *Config) { c.Temporal.Address = "tem poral:7233" }, `temporal.address: "tem poral:7233" has an invalid host`},
		{"empty namespace", func(c *Config) { c.Temporal.Namespace = "" }, "temporal.namespace: is required"},
		{"namespace with space", func(c *Config) { c.Temporal.Namespace = "my ns" }, `temporal.namespace: "my ns" must not contain white space or /`},
		{"cert without key", func(c *Config) { cluster(c); c.Temporal.TLS.CertFile = "c.pem" }, "temporal.tls.certFile: set but temporal.tls.keyFile is empty"},
		{"key without cert", func(c *Config) { cluster(c); c.Temporal.TLS.KeyFile = "k.pem" }, "temporal.tls.keyFile: set but temporal.tls.certFile is empty"},
		{"mTLS", func(c *Config) { cluster(c); c.Temporal.TLS.CertFile, c.Temporal.TLS.KeyFile = "c.pem", "k.pem" }, ""},
		{"TLS file while TLS is off", func(c *Config) { c.Temporal.Address = "t.example.com:7233"; c.Temporal.TLS.CAFile = "ca.pem" },
			"temporal.tls.caFile: set but temporal.tls.enabled is false, so it would be ignored"},
		{"skip verify while TLS is off", func(c *Config) { c.Temporal.Address = "t.example.com:7233"; c.Temporal.TLS.InsecureSkipVerify = true },
			"temporal.tls.insecureSkipVerify: set but temporal.tls.enabled is false, so it would be ignored"},
		// The address may come from a flag or RIGGER_TEMPORAL_ADDRESS at run time.
		{"TLS with the address left to flags", func(c *Config) { c.Temporal.TLS.Enabled = true; c.Temporal.APIKey = "k" }, ""},
		{"skip verify with a CA", func(c *Config) {
			cluster(c)
			c.Temporal.TLS.InsecureSkipVerify = true
			c.Temporal.TLS.CAFile = "ca.pem"
		},
			"temporal.tls.insecureSkipVerify: cannot be combined with temporal.tls.caFile: the CA would never be checked"},
		{"API key without TLS", func(c *Config) { c.Temporal.Address = "t.example.com:7233"; c.Temporal.APIKey = "k" },
			"temporal.apiKey: requires temporal.tls.enabled: true (an API key must not travel in clear text)"},
		{"API key with TLS", func(c *Config) { cluster(c); c.Temporal.APIKey = "k" }, ""},
		{"UI URL", func(c *Config) { c.Temporal.UIURL = "ftp://ui" }, `temporal.uiUrl: "ftp://ui" is not an absolute http or https URL`},
		{"compression", func(c *Config) { c.Temporal.Compression = "zstd" }, `temporal.compression: "zstd" is not one of auto, gzip or none`},
		{"no compression", func(c *Config) { c.Temporal.Compression = "none" }, ""},
		{"embedded frontend", func(c *Config) { c.Temporal.Embedded.FrontendListen = "" }, "temporal.embedded.frontendListen: is required (host:port)"},
		{"embedded frontend host name", func(c *Config) { c.Temporal.Embedded.FrontendListen = "localhost:7233" },
			`temporal.embedded.frontendListen: "localhost:7233": the host must be an IP address, such as 127.0.0.1`},
		{"embedded frontend on IPv6", func(c *Config) { c.Temporal.Embedded.FrontendListen = "[::1]:7233" }, ""},
		{"embedded UI disabled", func(c *Config) { c.Temporal.Embedded.UIListen = "" }, ""},
		{"embedded UI", func(c *Config) { c.Temporal.Embedded.UIListen = "8233" }, `temporal.embedded.uiListen: "8233" is not host:port`},
		{"embedded UI on port 0", func(c *Config) { c.Temporal.Embedded.UIListen = "127.0.0.1:0" }, `temporal.embedded.uiListen: "127.0.0.1:0": the Temporal UI needs a fixed port, such as 127.0.0.1:8233 (empty disables it)`},
		{"history shards", func(c *Config) { c.Temporal.Embedded.HistoryShards = 0 }, "temporal.embedded.historyShards: must be at least 1"},
		{"port clash", func(c *Config) { c.Server.Listen = "127.0.0.1:7233" },
			`temporal.embedded.frontendListen: "127.0.0.1:7233" clashes with server.listen ("127.0.0.1:7233")`},
		{"port clash with every interface", func(c *Config) { c.Server.Listen = "0.0.0.0:8233" },
			`temporal.embedded.uiListen: "127.0.0.1:8233" clashes with server.listen ("0.0.0.0:8233")`},
		{"same port on other hosts", func(c *Config) { c.Server.Listen = "127.0.0.2:7233" }, ""},
		{"no clash with a cluster", func(c *Config) { c.Temporal.Address = "t.example.com:7233"; c.Server.Listen = "127.0.0.1:7233" }, ""},
		{"no task queues", func(c *Config) { c.Temporal.TaskQueues = nil }, "temporal.taskQueues: must list at least one task queue"},
		{"blank task queue", func(c *Config) { c.Temporal.TaskQueues = []string{"a", " "} }, "temporal.taskQueues[1]: is required"},
		{"duplicate task queue", func(c *Config) { c.Temporal.TaskQueues = []string{"a", "a"} }, `temporal.taskQueues[1]: "a" is already listed at temporal.taskQueues[0]`},

		// database
		{"driver", func(c *Config) { c.Database.Driver = "mysql" }, `database.driver: "mysql" is not one of sqlite, postgres`},
		{"postgres without url", func(c *Config) { c.Database.Driver = "postgres" }, "database.url: required when database.driver is postgres"},
		{"postgres url scheme", func(c *Config) { c.Database.Driver = "postgres"; c.Database.URL = "mysql://u:p@h/db" },
			"database.url: must be a postgres:// or postgresql:// URL (or a key=value connection string)"},
		{"postgres key=value", func(c *Config) { c.Database.Driver = "postgres"; c.Database.URL = "host=db user=rigger password=x" }, ""},
		{"postgres with path", func(c *Config) {
			c.Database.Driver = "postgres"
			c.Database.URL = "postgres://h/db"
			c.Database.Path = "x.db"
		},
			"database.path: only used when database.driver is sqlite"},
		{"sqlite with url", func(c *Config) { c.Database.URL = "postgres://h/db" }, "database.url: only used when database.driver is postgres (did you forget driver: postgres?)"},
		{"max open conns", func(c *Config) { c.Database.MaxOpenConns = 0 }, "database.maxOpenConns: must be at least 1"},

		{"trusted proxy everyone", func(c *Config) { c.Server.TrustedProxies = []string{"0.0.0.0/0"} },
			`server.trustedProxies[0]: "0.0.0.0/0" trusts every address: any caller could then choose its own in X-Forwarded-For`},
		{"trusted proxy not an address", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7", "lb.internal"} },
			`server.trustedProxies[2]: "lb.internal" is neither an address nor a CIDR (like 10.0.0.0/8)`},
		{"tracing endpoint not a URL", func(c *Config) { c.Tracing.Endpoint = "otel-collector:4318" }, `tracing.endpoint: "otel-collector:4318" is not an absolute http or https URL`},
		{"tracing sample percent", func(c *Config) { c.Tracing.SamplePercent = 101 }, "tracing.samplePercent: must be between 0 and 100, got 101"},
		{"metrics listen without host", func(c *Config) { c.Server.MetricsListen = ":9090" },
			`server.metricsListen: ":9090" has no host: write 127.0.0.1:9090 to stay local, or 0.0.0.0:9090 to listen on every interface`},
		{"metrics listen on the API's port", func(c *Config) { c.Server.Listen, c.Server.MetricsListen = "127.0.0.1:7007", "0.0.0.0:7007" },
			`server.metricsListen: "0.0.0.0:7007" clashes with server.listen ("127.0.0.1:7007")`},

		// auth
		{"session ttl", func(c *Config) { c.Auth.Session.TTL = 0 }, "auth.session.ttl: must be a positive duration (like 90s or 5m)"},
		{"dev guest group not a full ref", func(c *Config) { c.Auth.DevGuestGroups = []string{"group:default/team-a", "team-b"} },
			`auth.devGuestGroups[1]: "team-b" is not a full group ref such as group:default/team-a`},
		{"dev guest group not a group", func(c *Config) { c.Auth.DevGuestGroups = []string{"user:default/admin"} },
			`auth.devGuestGroups[0]: "user:default/admin" is not a full group ref such as group:default/team-a`},
		{"short session secret", func(c *Config) { c.Auth.Session.Secret = "short" }, "auth.session.secret: must be at least 32 characters"},
		{"guest without networks", func(c *Config) { c.Auth.Guest.Access = "read-only" }, "auth.guest.networks: required with auth.guest.access: list the CIDRs guests may come from, e.g. 10.0.0.0/8"},
		{"guest with a bad network", func(c *Config) {
			c.Auth.Guest = GuestAccess{Access: "read-only", Networks: []string{"10.0.0.0/8", "office"}}
		},
			`auth.guest.networks[1]: "office" is not a CIDR like 10.0.0.0/8 or 2001:db8::/32`},
		{"guest write access", func(c *Config) { c.Auth.Guest = GuestAccess{Access: "read-write", Networks: []string{"10.0.0.0/8"}} },
			`auth.guest.access: "read-write" is not an access level (the only one is read-only)`},
		{"guest networks without access", func(c *Config) { c.Auth.Guest.Networks = []string{"10.0.0.0/8"} }, "auth.guest.access: must be read-only when auth.guest.networks is set (or remove the networks)"},
		{"github client id alone", func(c *Config) { c.Auth.Providers.GitHub.ClientID = "id" }, "auth.providers.github.clientSecret: required when auth.providers.github.clientId is set"},
		{"github client secret alone", func(c *Config) { c.Auth.Providers.GitHub.ClientSecret = "s" }, "auth.providers.github.clientId: required when auth.providers.github.clientSecret is set"},
		{"oidc without issuer", func(c *Config) { c.Auth.Providers.OIDC.ClientID = "rigger" }, "auth.providers.oidc.issuerUrl: required when the oidc provider is configured"},
		{"oidc without client id", func(c *Config) { c.Auth.Providers.OIDC.IssuerURL = "https://login.example.com" }, "auth.providers.oidc.clientId: is required"},
		{"oidc over http", func(c *Config) {
			c.Auth.Providers.OIDC = OIDCAuth{IssuerURL: "http://login.example.com", ClientID: "r"}
		},
			`auth.providers.oidc.issuerUrl: "http://login.example.com" must use https (http is allowed only for localhost)`},
		{"oidc over http on loopback", func(c *Config) {
			c.Auth.Providers.OIDC = OIDCAuth{IssuerURL: "http://127.0.0.1:5556/dex", ClientID: "r"}
		}, ""},
		{"oidc scopes without openid", func(c *Config) {
			c.Auth.Providers.OIDC = OIDCAuth{IssuerURL: "https://login.example.com", ClientID: "r", Scopes: []string{"email"}}
		}, "auth.providers.oidc.scopes: must include openid"},
		{"github enterprise over http", func(c *Config) { c.Auth.Providers.GitHub.EnterpriseURL = "http://ghe.example.com" },
			`auth.providers.github.enterpriseUrl: "http://ghe.example.com" must use https (http is allowed only for localhost)`},
		{"unknown resolver", func(c *Config) {
			c.Auth.Providers.OIDC = OIDCAuth{IssuerURL: "https://login.example.com", ClientID: "r",
				SignIn: SignIn{Resolvers: []SignInResolver{{Resolver: "usernameMatchingUserEntityName"}, {Resolver: "emailMatchingUserEntityEmail"}}}}
		}, `auth.providers.oidc.signIn.resolvers[1].resolver: unknown resolver "emailMatchingUserEntityEmail": use emailMatchingUserEntityProfileEmail, usernameMatchingUserEntityName or annotation:<key>`},
		{"annotation resolver without key", func(c *Config) {
			c.Auth.Providers.GitHub.SignIn.Resolvers = []SignInResolver{{Resolver: "annotation:"}}
		}, "auth.providers.github.signIn.resolvers[0].resolver: name the annotation, e.g. annotation:github.com/user-login"},
		{"alb", func(c *Config) {
			c.Auth.Providers.AWSALB = AWSALBAuth{Region: "eu-west-1", Signer: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/rigger/50dc6c495c0c9188",
				SignIn: SignIn{Resolvers: []SignInResolver{{Resolver: "annotation:github.com/user-login", DangerouslyAllowSignInWithoutUserInCatalog: true}}}}
		}, ""},
		{"alb without signer", func(c *Config) { c.Auth.Providers.AWSALB.Region = "eu-west-1" }, "auth.providers.awsAlb.signer: is required"},
		{"alb bad signer", func(c *Config) {
			c.Auth.Providers.AWSALB = AWSALBAuth{Region: "eu-west-1", Signer: "arn:aws:iam::123456789012:role/x"}
		}, `auth.providers.awsAlb.signer: "arn:aws:iam::123456789012:role/x" is not the ARN of an application load balancer (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)`},
		{"alb bad region", func(c *Config) {
			c.Auth.Providers.AWSALB = AWSALBAuth{Region: "europe", Signer: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/rigger/50dc6c495c0c9188"}
		}, `auth.providers.awsAlb.region: "europe" is not an AWS region name such as eu-west-1`},
		{"iap", func(c *Config) { c.Auth.Providers.GCPIAP.Audience = "/projects/123456/global/backendServices/987654" }, ""},
		{"iap bad audience", func(c *Config) { c.Auth.Providers.GCPIAP.Audience = "rigger" },
			`auth.providers.gcpIap.audience: "rigger" is not /projects/<number>/global/backendServices/<id> or /projects/<number>/apps/<project-id>`},
		{"iap resolvers without audience", func(c *Config) {
			c.Auth.Providers.GCPIAP.SignIn.Resolvers = []SignInResolver{{Resolver: "emailMatchingUserEntityProfileEmail"}}
		}, "auth.providers.gcpIap.audience: is required"},
		{"cloudflare", func(c *Config) {
			c.Auth.Providers.CloudflareAccess = CloudflareAccessAuth{TeamDomain: "acme.cloudflareaccess.com", Audience: strings.Repeat("ab", 32)}
		}, ""},
		{"cloudflare bad team", func(c *Config) {
			c.Auth.Providers.CloudflareAccess = CloudflareAccessAuth{TeamDomain: "acme.example.com", Audience: strings.Repeat("ab", 32)}
		}, `auth.providers.cloudflareAccess.teamDomain: "acme.example.com" is not <team>.cloudflareaccess.com`},
		{"cloudflare without audience", func(c *Config) { c.Auth.Providers.CloudflareAccess.TeamDomain = "acme.cloudflareaccess.com" },
			"auth.providers.cloudflareAccess.audience: is required"},
		{"cloudflare bad audience", func(c *Config) {
			c.Auth.Providers.CloudflareAccess = CloudflareAccessAuth{TeamDomain: "acme.cloudflareaccess.com", Audience: "rigger"}
		}, "auth.providers.cloudflareAccess.audience: must be the Access application's AUD tag (64 hex digits)"},
		{"service token", func(c *Config) {
			c.Auth.ServiceTokens = []ServiceToken{{Name: "ci", Token: longToken, Scopes: []string{"catalog.read"}}}
		}, ""},
		{"short service token", func(c *Config) {
			c.Auth.ServiceTokens = []ServiceToken{{Name: "ci", Token: "short", Scopes: []string{"catalog.read"}}}
		},
			"auth.serviceTokens[0].token: must be at least 32 characters"},
		{"service token without name", func(c *Config) {
			c.Auth.ServiceTokens = []ServiceToken{{Token: longToken, Scopes: []string{"catalog.read"}}}
		},
			"auth.serviceTokens[0].name: is required"},
		{"unknown service token scope", func(c *Config) {
			c.Auth.ServiceTokens = []ServiceToken{{Name: "ci", Token: longToken, Scopes: []string{"scaffolder.read", "catalog.admin"}}}
		}, `auth.serviceTokens[0].scopes[1]: "catalog.admin" is not a scope (known scopes: catalog.read, catalog.write, scaffolder.read, scaffolder.run, scaffolder.admin, audit.read, *)`},
		{"service token without scopes", func(c *Config) { c.Auth.ServiceTokens = []ServiceToken{{Name: "ci", Token: longToken}} }, ""},
		{"blank service token scope", func(c *Config) {
			c.Auth.ServiceTokens = []ServiceToken{{Name: "ci", Token: longToken, Scopes: []string{""}}}
		},
			"auth.serviceTokens[0].scopes[0]: is required"},
		{"duplicate service token name", func(c *Config) {
			c.Auth.ServiceTokens = []ServiceToken{{Name: "ci", Token: longToken, Scopes: []string{"catalog.read"}}, {Name: "ci", Token: longToken + "2", Scopes: []string{"catalog.read"}}}
		}, `auth.serviceTokens[1].name: "ci" is already used by auth.serviceTokens[0]`},
		{"reused service token", func(c *Config) {
			c.Auth.ServiceTokens = []ServiceToken{{Name: "a", Token: longToken, Scopes: []string{"catalog.read"}}, {Name: "b", Token: longToken, Scopes: []string{"catalog.read"}}}
		}, "auth.serviceTokens[1].token: has the same value as auth.serviceTokens[0].token"},
		{"token TTL over an hour", func(c *Config) { c.Auth.Tokens.TTL = 2 * time.Hour }, "auth.tokens.ttl: 2h0m0s is outside (0, 1h]: access tokens are short-lived"},
		{"external access", func(c *Config) {
			c.Auth.ExternalAccess = []ExternalAccess{{Issuer: "https://token.actions.githubusercontent.com", Audience: "rigger", SubjectPrefix: "repo:acme/app:", Scopes: []string{"scaffolder.run"}, Claims: map[string]string{"repository": "acme/app"}}}
		}, ""},
		{"external access without subject prefix", func(c *Config) {
			c.Auth.ExternalAccess = []ExternalAccess{{Issuer: "https://token.actions.githubusercontent.com", Audience: "rigger", Scopes: []string{"scaffolder.run"}}}
		}, "auth.externalAccess[0].subjectPrefix: is required"},
		{"external access over http", func(c *Config) {
			c.Auth.ExternalAccess = []ExternalAccess{{Issuer: "http://ci.example.com", Audience: "rigger", SubjectPrefix: "x:", Scopes: []string{"*"}}}
		}, `auth.externalAccess[0].issuer: "http://ci.example.com" must use https (http is allowed only for localhost)`},
		{"external subject prefix without a separator", func(c *Config) {
			c.Auth.ExternalAccess = []ExternalAccess{{Issuer: "https://token.actions.githubusercontent.com", Audience: "rigger", SubjectPrefix: "repo:acme", Scopes: []string{"*"}}}
		}, `auth.externalAccess[0].subjectPrefix: "repo:acme" must end with : or / (a plain prefix like repo:acme also matches repo:acme-evil/...)`},

		// catalog
		{"location type", func(c *Config) { c.Catalog.Locations = []Location{{Type: "ftp", Target: "x"}} }, `catalog.locations[0].type: "ftp" is not one of file, url, git`},
		{"location target", func(c *Config) { c.Catalog.Locations = []Location{{Type: "file"}} }, "catalog.locations[0].target: is required"},
		{"url location", func(c *Config) { c.Catalog.Locations = []Location{{Type: "url", Target: "example.com/a.yaml"}} },
			`catalog.locations[0].target: "example.com/a.yaml" is not an absolute http or https URL`},
		{"url location with credentials", func(c *Config) {
			c.Catalog.Locations = []Location{{Type: "url", Target: "https://u:tok@example.com/a.yaml"}}
		},
			"catalog.locations[0].target: must not hold credentials (user:password@); put them in a secret field"},
		{"git location with password", func(c *Config) {
			c.Catalog.Locations = []Location{{Type: "git", Target: "https://u:tok@github.com/o/r.git"}}
		},
			"catalog.locations[0].target: must not hold a password; configure credentials under integrations"},
		{"git location over ssh", func(c *Config) {
			c.Catalog.Locations = []Location{{Type: "git", Target: "git@github.com:o/r.git", Path: "catalog-info.yaml"}}
		}, ""},
		{"file location that is a URL", func(c *Config) {
			c.Catalog.Locations = []Location{{Type: "file", Target: "https://example.com/a.yaml"}}
		},
			"catalog.locations[0].target: is a URL; use type url or git for remote locations"},
		{"path outside git", func(c *Config) { c.Catalog.Locations = []Location{{Type: "file", Target: "a.yaml", Path: "b.yaml"}} }, "catalog.locations[0].path: only used by git locations"},
		{"duplicate location", func(c *Config) {
			c.Catalog.Locations = []Location{{Type: "file", Target: "a.yaml"}, {Type: "file", Target: "a.yaml"}}
		},
			"catalog.locations[1]: same location as catalog.locations[0]"},
		{"location rule without kinds", func(c *Config) { c.Catalog.Locations = []Location{{Type: "file", Target: "a.yaml", Rules: []Rule{{}}}} },
			"catalog.locations[0].rules[0].allow: must list at least one kind"},
		{"rule without kinds", func(c *Config) { c.Catalog.Rules = []Rule{{}} }, "catalog.rules[0].allow: must list at least one kind"},
		{"rule with a bad kind", func(c *Config) { c.Catalog.Rules = []Rule{{Allow: []string{"Component", "my kind"}}} }, `catalog.rules[0].allow[1]: "my kind" is not an entity kind (like Component)`},
		{"rule location type", func(c *Config) {
			c.Catalog.Rules = []Rule{{Allow: []string{"API"}, Locations: []RuleLocation{{Type: "s3"}}}}
		},
			`catalog.rules[0].locations[0].type: "s3" is not one of file, url, git`},
		{"rule location target and pattern", func(c *Config) {
			c.Catalog.Rules = []Rule{{Allow: []string{"API"}, Locations: []RuleLocation{{Type: "url", Target: "a", Pattern: "b"}}}}
		}, "catalog.rules[0].locations[0]: set target or pattern, not both"},
		{"rule location pattern", func(c *Config) {
			c.Catalog.Rules = []Rule{{Allow: []string{"API"}, Locations: []RuleLocation{{Type: "url", Pattern: "https://x/["}}}}
		}, `catalog.rules[0].locations[0].pattern: "https://x/[" is not a valid glob`},
		{"reading host with scheme", func(c *Config) { c.Catalog.Reading.Allow = []ReadingAllow{{Host: "https://example.com"}} },
			`catalog.reading.allow[0].host: "https://example.com" is a URL; write only the host name, like github.com`},
		{"reading path", func(c *Config) {
			c.Catalog.Reading.Allow = []ReadingAllow{{Host: "example.com", Paths: []string{"org/"}}}
		},
			`catalog.reading.allow[0].paths[0]: "org/" must start with /`},
		{"orphan strategy", func(c *Config) { c.Catalog.OrphanStrategy = "forget" }, `catalog.orphanStrategy: "forget" is not one of delete, keep`},
		{"refresh interval", func(c *Config) { c.Catalog.RefreshInterval = -time.Minute }, "catalog.refreshInterval: must be a positive duration (like 90s or 5m)"},
		{"zero limit", func(c *Config) { c.Catalog.Limits.MaxDepth = 0 }, "catalog.limits.maxDepth: must be positive"},
		{"negative limit", func(c *Config) { c.Catalog.Limits.EntitiesPerLocation = -1 }, "catalog.limits.entitiesPerLocation: must be positive"},
		{"entity larger than document", func(c *Config) { c.Catalog.Limits.EntityBytes = 8 << 20 }, "catalog.limits.entityBytes: must not exceed catalog.limits.documentBytes"},
		{"string longer than entity", func(c *Config) { c.Catalog.Limits.MaxStringLength = 2 << 20 }, "catalog.limits.maxStringLength: must not exceed catalog.limits.entityBytes"},
		{"nesting no JSON reader takes", func(c *Config) { c.Catalog.Limits.MaxDepth = 20000 }, "catalog.limits.maxDepth: must be at most 1000 (got 20000): an entity nested deeper could be stored but not read back"},

		// scaffolder
		{"allowed hosts", func(c *Config) {
			c.Scaffolder.AllowedHosts = []string{"github.com", "*.example.com", "10.0.0.1", "localhost", "API.GitHub.com"}
		}, ""},
		{"allowed host with scheme", func(c *Config) { c.Scaffolder.AllowedHosts = []string{"https://github.com"} },
			`scaffolder.allowedHosts[0]: "https://github.com" is a URL; write only the host name, like github.com`},
		{"allowed host with path", func(c *Config) { c.Scaffolder.AllowedHosts = []string{"github.com/org"} },
			`scaffolder.allowedHosts[0]: "github.com/org" has a path; write only the host name, like github.com`},
		{"allowed host with port", func(c *Config) { c.Scaffolder.AllowedHosts = []string{"github.com:443"} },
			`scaffolder.allowedHosts[0]: "github.com:443" has a port; hosts are matched by name only`},
		{"allowed host star", func(c *Config) { c.Scaffolder.AllowedHosts = []string{"*"} },
			"scaffolder.allowedHosts[0]: a bare * would allow every host; list host names or *.suffix patterns"},
		{"allowed host too broad", func(c *Config) { c.Scaffolder.AllowedHosts = []string{"*.com"} },
			`scaffolder.allowedHosts[0]: "*.com" is too broad: a pattern must name a domain, like *.example.com`},
		{"allowed host inner star", func(c *Config) { c.Scaffolder.AllowedHosts = []string{"api.*.com"} },
			`scaffolder.allowedHosts[0]: "api.*.com" is not a host name or *.suffix pattern (no scheme, port or path)`},
		{"allowed host trailing dot", func(c *Config) { c.Scaffolder.AllowedHosts = []string{"github.com."} },
			`scaffolder.allowedHosts[0]: "github.com." is not a host name or *.suffix pattern (no scheme, port or path)`},
		{"allowed host empty", func(c *Config) { c.Scaffolder.AllowedHosts = []string{""} }, "scaffolder.allowedHosts[0]: is required"},
		{"disabled action", func(c *Config) { c.Scaffolder.DisabledActions = []string{"fs delete"} }, `scaffolder.disabledActions[0]: "fs delete" is not an action id (like fs:delete)`},
		{"disabled actions policy", func(c *Config) { c.Scaffolder.DisabledActionsPolicy = "refuse" }, `scaffolder.disabledActionsPolicy: "refuse" is not one of warn, refuse-if-used`},
		{"step timeout", func(c *Config) { c.Scaffolder.DefaultStepTimeout = 0 }, "scaffolder.defaultStepTimeout: must be a positive duration (like 90s or 5m)"},
		{"each items zero", func(c *Config) { c.Scaffolder.Limits.MaxEachItems = 0 }, "scaffolder.limits.maxEachItems: must be between 1 and 100000, got 0"},
		{"each items too many", func(c *Config) { c.Scaffolder.Limits.MaxEachItems = 100001 }, "scaffolder.limits.maxEachItems: must be between 1 and 100000, got 100001"},
		{"render timeout too short", func(c *Config) { c.Scaffolder.Limits.RenderTimeout = time.Millisecond }, "scaffolder.limits.renderTimeout: must be between 100ms and 10m, got 1ms"},
		{"no iterations", func(c *Config) { c.Scaffolder.Limits.MaxIterations = 0 }, "scaffolder.limits.maxIterations: must be between 1 and 100000000, got 0"},
		{"tiny output", func(c *Config) { c.Scaffolder.Limits.MaxOutputBytes = 10 }, "scaffolder.limits.maxOutputBytes: must be between 1024 and 536870912, got 10"},
		{"each items", func(c *Config) { c.Scaffolder.Limits.MaxEachItems = 500 }, ""},
		{"template glob", func(c *Config) { c.Scaffolder.Templates = []string{"templates/[/*.yaml"} }, `scaffolder.templates[0]: "templates/[/*.yaml" is not a valid glob`},
		{"example catalog glob", func(c *Config) { c.Catalog.Examples = []string{"catalog/[/*.yaml"} }, `catalog.examples[0]: "catalog/[/*.yaml" is not a valid glob`},
		{"secret key not base64", func(c *Config) { c.Scaffolder.SecretKey = "not base64!" }, "scaffolder.secretKey: must be the base64 of 32 random bytes (head -c 32 /dev/urandom | base64)"},
		{"secret key too short", func(c *Config) { c.Scaffolder.SecretKey = "c2hvcnQ=" }, "scaffolder.secretKey: must be the base64 of 32 random bytes (head -c 32 /dev/urandom | base64)"},
		{"run signing key too short", func(c *Config) { c.Scaffolder.RunSigningKey = "c2hvcnQ=" }, "scaffolder.runSigningKey: a run signing key must be the base64 of 32 random bytes (head -c 32 /dev/urandom | base64), or ed25519-public:<base64 public key>"},
		{"run signing public key too short", func(c *Config) { c.Scaffolder.RunSigningKey = "ed25519-public:c2hvcnQ=" }, "scaffolder.runSigningKey: a public run signing key must be ed25519-public: and the base64 of 32 bytes"},
		{"secret key", func(c *Config) { c.Scaffolder.SecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" }, ""},
		{"workspace TTL", func(c *Config) { c.Scaffolder.WorkspaceTTL = -time.Hour }, "scaffolder.workspaceTTL: must be a positive duration (like 90s or 5m)"},

		// integrations
		{"github host", func(c *Config) { c.Integrations.GitHub = []GitHub{{}} }, "integrations.github[0].host: is required"},
		{"github host with scheme", func(c *Config) { c.Integrations.GitHub = []GitHub{{Host: "https://github.com"}} },
			`integrations.github[0].host: "https://github.com" is a URL; write only the host name, like github.com`},
		{"github host pattern", func(c *Config) { c.Integrations.GitHub = []GitHub{{Host: "*.github.com"}} },
			`integrations.github[0].host: "*.github.com" is not a host name (no scheme, port or path)`},
		{"duplicate github host", func(c *Config) { c.Integrations.GitHub = []GitHub{{Host: "github.com"}, {Host: "GitHub.com"}} },
			`integrations.github[1].host: "GitHub.com" is already configured at integrations.github[0]`},
		{"github api over http", func(c *Config) {
			c.Integrations.GitHub = []GitHub{{Host: "ghe.example.com", APIBaseURL: "http://ghe.example.com/api/v3"}}
		},
			`integrations.github[0].apiBaseUrl: "http://ghe.example.com/api/v3" must use https (http is allowed only for localhost)`},
		{"github app", func(c *Config) {
			c.Integrations.GitHub = []GitHub{{Host: "github.com", Apps: []GitHubApp{{AppID: 1, PrivateKey: pemKey}}}}
		}, ""},
		{"github app id", func(c *Config) {
			c.Integrations.GitHub = []GitHub{{Host: "github.com", Apps: []GitHubApp{{PrivateKey: pemKey}}}}
		},
			"integrations.github[0].apps[0].appId: must be a positive GitHub App id"},
		{"github app key", func(c *Config) { c.Integrations.GitHub = []GitHub{{Host: "github.com", Apps: []GitHubApp{{AppID: 1}}}} },
			"integrations.github[0].apps[0].privateKey: is required"},
		{"github app key not PEM", func(c *Config) {
			c.Integrations.GitHub = []GitHub{{Host: "github.com", Apps: []GitHubApp{{AppID: 1, PrivateKey: "MIIE"}}}}
		},
			"integrations.github[0].apps[0].privateKey: does not look like a PEM private key (-----BEGIN RSA PRIVATE KEY----- ...)"},
		{"github app client", func(c *Config) {
			c.Integrations.GitHub = []GitHub{{Host: "github.com", Apps: []GitHubApp{{AppID: 1, PrivateKey: pemKey, ClientID: "Iv1"}}}}
		}, "integrations.github[0].apps[0]: clientId and clientSecret must be set together"},
		{"aws region", func(c *Config) { c.Integrations.AWS.Region = "Europe" }, `integrations.aws.region: "Europe" is not an AWS region (like eu-west-1)`},
		{"aws gov region", func(c *Config) { c.Integrations.AWS.Region = "us-gov-west-1" }, ""},
		{"aws role", func(c *Config) { c.Integrations.AWS.RoleARN = "rigger" },
			`integrations.aws.roleArn: "rigger" is not an IAM role ARN (like arn:aws:iam::123456789012:role/rigger)`},
		{"aws role in another partition", func(c *Config) { c.Integrations.AWS.RoleARN = "arn:aws-cn:iam::123456789012:role/path/rigger" }, ""},
		{"aws key id alone", func(c *Config) { c.Integrations.AWS.AccessKeyID = "AKIA" }, "integrations.aws.secretAccessKey: required when integrations.aws.accessKeyId is set"},
		{"aws secret alone", func(c *Config) { c.Integrations.AWS.SecretAccessKey = "s" }, "integrations.aws.accessKeyId: required when integrations.aws.secretAccessKey is set"},
		{"aws endpoint", func(c *Config) { c.Integrations.AWS.Endpoint = "localhost:4566" }, `integrations.aws.endpoint: "localhost:4566" is not an absolute http or https URL`},
		{"aws local endpoint", func(c *Config) { c.Integrations.AWS.Endpoint = "http://127.0.0.1:4566" }, ""},
		{"aws session too short", func(c *Config) { c.Integrations.AWS.SessionDuration = 5 * time.Minute },
			"integrations.aws.sessionDuration: 5m0s: must be 15m, STS's shortest session and the longest Rigger gives a step"},
		{"aws session too long", func(c *Config) { c.Integrations.AWS.SessionDuration = 13 * time.Hour },
			"integrations.aws.sessionDuration: 13h0m0s: must be 15m, STS's shortest session and the longest Rigger gives a step"},
		{"terraform binary", func(c *Config) { c.Integrations.Terraform.Binary = "" }, "integrations.terraform.binary: is required"},

		// permission, audit
		{"admins", func(c *Config) {
			c.Permission.Admins = []string{"user:alice", "group:default/platform-team", "User:default/Alice.B"}
		}, ""},
		{"admin without kind", func(c *Config) { c.Permission.Admins = []string{"alice"} },
			`permission.admins[0]: "alice" is not a user or group entity ref (like group:default/platform)`},
		{"admin of another kind", func(c *Config) { c.Permission.Admins = []string{"component:default/x"} },
			`permission.admins[0]: "component:default/x" is not a user or group entity ref (like group:default/platform)`},
		{"audit sink", func(c *Config) { c.Audit.Sink = "kafka" }, `audit.sink: "kafka" is not one of stdout, file, database`},
		{"audit file without path", func(c *Config) { c.Audit.Sink = "file" }, "audit.path: required when audit.sink is file"},
		{"audit path without file sink", func(c *Config) { c.Audit.Path = "/var/log/a" }, "audit.path: only used when audit.sink is file"},

		// docs
		{"docs builder", func(c *Config) { c.Docs.Builder = "mkdocs" }, `docs.builder: "mkdocs" is not one of local, external`},
		{"docs built externally", func(c *Config) { c.Docs.Builder = "external" }, ""},
		{"docs storage", func(c *Config) { c.Docs.Storage = "gcs" }, `docs.storage: "gcs" is not one of database, s3`},
		{"docs in s3 without a bucket", func(c *Config) { c.Docs.Storage = "s3" }, "docs.s3.bucket: is required"},
		{"docs bucket while in the database", func(c *Config) { c.Docs.S3.Bucket = "b" }, "docs.s3: only used when docs.storage is s3"},
		{"docs s3 key without its secret", func(c *Config) { c.Docs.Storage, c.Docs.S3.Bucket, c.Docs.S3.AccessKeyID = "s3", "b", "AKIA" },
			"docs.s3: set accessKeyId and secretAccessKey together (or neither, for the default credential chain)"},
		{"docs s3 endpoint over http", func(c *Config) {
			c.Docs.Storage, c.Docs.S3.Bucket, c.Docs.S3.Endpoint = "s3", "b", "http://minio.example.com:9000"
		},
			`docs.s3.endpoint: "http://minio.example.com:9000" must use https (http is allowed only for localhost)`},
		{"docs in minio on localhost", func(c *Config) {
			c.Docs.Storage, c.Docs.S3.Bucket, c.Docs.S3.Endpoint = "s3", "b", "http://127.0.0.1:9000"
		}, ""},

		// secrets
		{"redacted placeholder pasted back", func(c *Config) { cluster(c); c.Temporal.APIKey = RedactedText },
			"temporal.apiKey: is the placeholder [redacted] printed by `rigger config check`, not a real value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Default()
			c.mutate(cfg)
			err := cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("want no error, got\n%v", err)
				}
				return
			}
			if !hasLine(err, c.want) {
				t.Fatalf("error\n%v\nhas no line\n%s", err, c.want)
			}
			if n := len(Problems(err)); n != 1 {
				t.Errorf("%d problems, want 1:\n%v", n, err)
			}
		})
	}
}

func TestValidateReportsEverything(t *testing.T) {
	cfg := Default()
	cfg.Database.Driver = "mysql"
	cfg.Server.LogLevel = "loud"
	cfg.Catalog.Locations = []Location{{Type: "file", Target: "a"}, {Type: "file", Target: "b"}, {Type: "ftp", Target: "c"}}
	cfg.Temporal.Address = "t.example.com:7233"
	cfg.Temporal.TLS = TemporalTLS{Enabled: true, CertFile: "c.pem"}
	err := cfg.Validate()
	for _, want := range []string{
		`server.logLevel: "loud" is not one of debug, info, warn, error`,
		"temporal.tls.certFile: set but temporal.tls.keyFile is empty",
		`database.driver: "mysql" is not one of sqlite, postgres`,
		`catalog.locations[2].type: "ftp" is not one of file, url, git`,
	} {
		if !hasLine(err, want) {
			t.Errorf("error\n%v\nhas no line\n%s", err, want)
		}
	}
	if n := len(Problems(err)); n != 4 {
		t.Errorf("%d problems, want 4", n)
	}
}

func TestValidateNeverRevealsSecrets(t *testing.T) {
	cfg := Default()
	cfg.Database.Driver = "postgres"
	cfg.Database.URL = Secret("mysql://u:" + secretValue + "@h/db")
	cfg.Temporal.APIKey = Secret(secretValue)
	cfg.Auth.Session.Secret = "x"
	cfg.Auth.ServiceTokens = []ServiceToken{{Name: "a", Token: secretValue}, {Name: "b", Token: secretValue}}
	cfg.Catalog.Locations = []Location{
		{Type: "url", Target: "https://u:" + secretValue + "@example.com/a.yaml"},
		{Type: "git", Target: "https://u:" + secretValue + "@example.com/r.git"},
	}
	cfg.Server.BaseURL = "https://u:" + secretValue + "@example.com"
	cfg.Integrations.GitHub = []GitHub{{Host: "github.com", Apps: []GitHubApp{{AppID: 1, PrivateKey: Secret(secretValue)}}}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	if strings.Contains(err.Error(), secretValue) {
		t.Errorf("a validation message reveals a secret:\n%v", err)
	}
}
