package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/runsign"
)

// devGuestGroup is a full group ref (kind, namespace and name).
var devGuestGroup = regexp.MustCompile(`^(?i:group):[A-Za-z0-9][A-Za-z0-9._-]{0,62}/[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Validate checks the values of c and reports every problem at once (joined
// *Problem values), each prefixed by its dotted key path. It needs no file:
// callers validate after applying flags. Messages never hold a secret.
func (c *Config) Validate() error {
	v := &validator{}
	c.validateServer(v)
	c.validateTemporal(v)
	c.validateDatabase(v)
	c.validateAuth(v)
	c.validateCatalog(v)
	c.validateCatalogModel(v)
	c.validateScaffolder(v)
	c.validateExternalActions(v)
	c.validateIntegrations(v)
	c.validatePermission(v)
	c.validateAudit(v)
	c.validateDocs(v)
	c.validateMCP(v)
	if c.Tracing.Endpoint != "" {
		v.url("tracing.endpoint", c.Tracing.Endpoint, false)
	}
	if p := c.Tracing.SamplePercent; p < 0 || p > 100 {
		v.add("tracing.samplePercent", "must be between 0 and 100, got %d", p)
	}
	walkSecrets(reflect.ValueOf(c).Elem(), "", func(p string, s Secret) {
		if strings.TrimSpace(s.Reveal()) == RedactedText {
			v.add(p, "is the placeholder %s printed by `rigger config check`, not a real value", RedactedText)
		}
	})
	return v.problems.err()
}

func (c *Config) validateServer(v *validator) {
	s := c.Server
	v.listen("server.listen", s.Listen)
	v.baseURL("server.baseUrl", s.BaseURL)
	if v.required("server.dataDir", s.DataDir) {
		v.sqlitePath("server.dataDir", s.DataDir)
	}
	v.oneOf("server.logLevel", s.LogLevel, "debug", "info", "warn", "error")
	v.oneOf("server.logFormat", s.LogFormat, "json", "text")
	if s.MetricsListen != "" {
		v.listen("server.metricsListen", s.MetricsListen)
		v.noClash([][2]string{{"server.listen", s.Listen}, {"server.metricsListen", s.MetricsListen}})
	}
	for i, p := range s.TrustedProxies {
		pre, err := netip.ParsePrefix(strings.TrimSpace(p))
		switch {
		case err == nil && pre.Bits() == 0:
			v.add(index("server.trustedProxies", i), "%s trusts every address: any caller could then choose its own in X-Forwarded-For", quote(p))
		case err != nil:
			if _, err := netip.ParseAddr(strings.TrimSpace(p)); err != nil {
				v.add(index("server.trustedProxies", i), "%s is neither an address nor a CIDR (like 10.0.0.0/8)", quote(p))
			}
		}
	}
}

func (c *Config) validateTemporal(v *validator) {
	t := c.Temporal
	ids := map[string]bool{}
	for i, k := range t.PayloadKeys {
		p := index("temporal.payloadKeys", i)
		switch {
		case k.ID == "" || len(k.ID) > 64:
			v.add(p+".id", "must be 1 to 64 characters")
		case ids[k.ID]:
			v.add(p+".id", "%s is listed twice", quote(k.ID))
		}
		ids[k.ID] = true
		if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k.Key.Reveal())); err != nil || len(b) != 32 {
			v.add(p+".key", "must be 32 random bytes, base64 (openssl rand -base64 32)")
		}
	}
	embedded := t.Address == ""
	if !embedded {
		v.dial("temporal.address", t.Address)
	}
	if v.required("temporal.namespace", t.Namespace) && strings.ContainsAny(t.Namespace, " \t\r\n/") {
		v.add("temporal.namespace", "%s must not contain white space or /", quote(t.Namespace))
	}

	tls := t.TLS
	if tls.CertFile != "" && tls.KeyFile == "" {
		v.add("temporal.tls.certFile", "set but temporal.tls.keyFile is empty")
	}
	if tls.KeyFile != "" && tls.CertFile == "" {
		v.add("temporal.tls.keyFile", "set but temporal.tls.certFile is empty")
	}
	if !tls.Enabled {
		for _, f := range []struct {
			name string
			set  bool
		}{{"caFile", tls.CAFile != ""}, {"certFile", tls.CertFile != ""}, {"keyFile", tls.KeyFile != ""},
			{"serverName", tls.ServerName != ""}, {"insecureSkipVerify", tls.InsecureSkipVerify}} {
			if f.set {
				v.add("temporal.tls."+f.name, "set but temporal.tls.enabled is false, so it would be ignored")
			}
		}
	}
	if tls.InsecureSkipVerify && tls.CAFile != "" {
		v.add("temporal.tls.insecureSkipVerify", "cannot be combined with temporal.tls.caFile: the CA would never be checked")
	}
	if t.APIKey != "" && !tls.Enabled {
		v.add("temporal.apiKey", "requires temporal.tls.enabled: true (an API key must not travel in clear text)")
	}
	if t.UIURL != "" {
		v.url("temporal.uiUrl", t.UIURL, false)
	}
	switch t.Compression {
	case "auto", "gzip", "none":
	default:
		v.add("temporal.compression", "%s is not one of auto, gzip or none", quote(t.Compression))
	}

	e := t.Embedded
	v.listen("temporal.embedded.frontendListen", e.FrontendListen)
	if host, _, err := net.SplitHostPort(e.FrontendListen); embedded && err == nil && host != "" && net.ParseIP(host) == nil {
		// Its services bind to the host (Temporal's bindOnIP).
		v.add("temporal.embedded.frontendListen", "%s: the host must be an IP address, such as 127.0.0.1", quote(e.FrontendListen))
	}
	if e.UIListen != "" {
		v.listen("temporal.embedded.uiListen", e.UIListen)
		if _, port, err := net.SplitHostPort(e.UIListen); embedded && err == nil && port == "0" {
			// Unlike the frontend's, its address goes into links (a run's
			// "open in Temporal UI"), so it is fixed.
			v.add("temporal.embedded.uiListen", "%s: the Temporal UI needs a fixed port, such as 127.0.0.1:8233 (empty disables it)", quote(e.UIListen))
		}
	}
	if e.HistoryShards < 1 {
		v.add("temporal.embedded.historyShards", "must be at least 1")
	}
	if embedded {
		v.noClash([][2]string{
			{"server.listen", c.Server.Listen},
			{"temporal.embedded.frontendListen", e.FrontendListen},
			{"temporal.embedded.uiListen", e.UIListen},
		})
	}

	if len(t.TaskQueues) == 0 {
		v.add("temporal.taskQueues", "must list at least one task queue")
	}
	seen := map[string]string{}
	for i, q := range t.TaskQueues {
		p := index("temporal.taskQueues", i)
		if !v.required(p, q) {
			continue
		}
		if strings.ContainsAny(q, " \t\r\n") {
			v.add(p, "%s must not contain white space", quote(q))
		}
		if first, dup := seen[q]; dup {
			v.add(p, "%s is already listed at %s", quote(q), first)
		}
		seen[q] = p
	}
}

func (c *Config) validateDatabase(v *validator) {
	d := c.Database
	v.oneOf("database.driver", d.Driver, "sqlite", "postgres")
	switch d.Driver {
	case "postgres":
		if d.URL == "" {
			v.add("database.url", "required when database.driver is postgres")
		} else if u := d.URL.Reveal(); strings.Contains(u, "://") &&
			!strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			v.add("database.url", "must be a postgres:// or postgresql:// URL (or a key=value connection string)")
		}
		if d.Path != "" {
			v.add("database.path", "only used when database.driver is sqlite")
		}
	case "sqlite":
		v.sqlitePath("database.path", d.Path)
		if d.URL != "" {
			v.add("database.url", "only used when database.driver is postgres (did you forget driver: postgres?)")
		}
	}
	if d.MaxOpenConns < 1 {
		v.add("database.maxOpenConns", "must be at least 1")
	}
}

func (c *Config) validateAuth(v *validator) {
	a := c.Auth
	v.positive("auth.session.ttl", a.Session.TTL)
	for i, g := range a.DevGuestGroups {
		if !devGuestGroup.MatchString(g) {
			v.add(index("auth.devGuestGroups", i), "%s is not a full group ref such as group:default/team-a", quote(g))
		}
	}
	if a.Session.Secret != "" && len(a.Session.Secret.Reveal()) < 32 {
		v.add("auth.session.secret", "must be at least 32 characters")
	}

	gh := a.Providers.GitHub
	if gh.ClientID != "" && gh.ClientSecret == "" {
		v.add("auth.providers.github.clientSecret", "required when auth.providers.github.clientId is set")
	}
	if gh.ClientSecret != "" && gh.ClientID == "" {
		v.add("auth.providers.github.clientId", "required when auth.providers.github.clientSecret is set")
	}

	if gh.EnterpriseURL != "" {
		v.url("auth.providers.github.enterpriseUrl", gh.EnterpriseURL, true)
	}

	o := a.Providers.OIDC
	if o.IssuerURL == "" {
		if o.ClientID != "" || o.ClientSecret != "" || len(o.Scopes) > 0 {
			v.add("auth.providers.oidc.issuerUrl", "required when the oidc provider is configured")
		}
	} else {
		v.url("auth.providers.oidc.issuerUrl", o.IssuerURL, true)
		v.required("auth.providers.oidc.clientId", o.ClientID)
	}
	for i, s := range o.Scopes {
		v.required(index("auth.providers.oidc.scopes", i), s)
	}
	if len(o.Scopes) > 0 && !slices.Contains(o.Scopes, "openid") {
		v.add("auth.providers.oidc.scopes", "must include openid")
	}

	c.validateGuest(v)
	c.validateProxyProviders(v)
	v.signIn("auth.providers.github.signIn", gh.SignIn)
	v.signIn("auth.providers.oidc.signIn", o.SignIn)
	if a.Tokens.TTL <= 0 || a.Tokens.TTL > time.Hour {
		v.add("auth.tokens.ttl", "%s is outside (0, 1h]: access tokens are short-lived", a.Tokens.TTL)
	}
	if a.Tokens.KeyRotation < time.Minute {
		v.add("auth.tokens.keyRotation", "%s is too short (at least 1m)", a.Tokens.KeyRotation)
	}
	issuers := map[string]string{}
	for i, x := range a.ExternalAccess {
		p := index("auth.externalAccess", i)
		if v.required(p+".issuer", x.Issuer) {
			v.url(p+".issuer", x.Issuer, true)
			if first, dup := issuers[x.Issuer]; dup {
				v.add(p+".issuer", "%s is already trusted by %s", quote(x.Issuer), first)
			}
			issuers[x.Issuer] = p
		}
		if x.JWKSURL != "" {
			v.url(p+".jwksUrl", x.JWKSURL, true)
		}
		v.required(p+".audience", x.Audience)
		if v.required(p+".subjectPrefix", x.SubjectPrefix) && !strings.HasSuffix(x.SubjectPrefix, ":") && !strings.HasSuffix(x.SubjectPrefix, "/") {
			v.add(p+".subjectPrefix", "%s must end with : or / (a plain prefix like repo:acme also matches repo:acme-evil/...)", quote(x.SubjectPrefix))
		}
		if len(x.Scopes) == 0 {
			v.add(p+".scopes", "required: what callers of this issuer may do (%s)", strings.Join(ServiceTokenScopes(), ", "))
		}
		for j, s := range x.Scopes {
			if v.required(index(p+".scopes", j), s) && !slices.Contains(ServiceTokenScopes(), s) {
				v.add(index(p+".scopes", j), "%s is not a scope (known scopes: %s)", quote(s), strings.Join(ServiceTokenScopes(), ", "))
			}
		}
	}

	names := map[string]string{}
	tokens := map[Secret]string{}
	for i, st := range a.ServiceTokens {
		p := index("auth.serviceTokens", i)
		if v.required(p+".name", st.Name) {
			if first, dup := names[st.Name]; dup {
				v.add(p+".name", "%s is already used by %s", quote(st.Name), first)
			}
			names[st.Name] = p
		}
		switch {
		case len(st.Token.Reveal()) < 32:
			v.add(p+".token", "must be at least 32 characters")
		case tokens[st.Token] != "":
			v.add(p+".token", "has the same value as %s.token", tokens[st.Token])
		default:
			tokens[st.Token] = p
		}
		for j, s := range st.Scopes {
			if v.required(index(p+".scopes", j), s) && !slices.Contains(ServiceTokenScopes(), s) {
				v.add(index(p+".scopes", j), "%s is not a scope (known scopes: %s)", quote(s), strings.Join(ServiceTokenScopes(), ", "))
			}
		}
	}
}

// validateProxyProviders checks the providers that trust a proxy's signed
// assertion: each needs what identifies the one proxy it trusts.
func (c *Config) validateProxyProviders(v *validator) {
	p := c.Auth.Providers
	if alb := p.AWSALB; alb.Region != "" || alb.Signer != "" || len(alb.SignIn.Resolvers) > 0 {
		if v.required("auth.providers.awsAlb.region", alb.Region) && !validRegion(alb.Region) {
			v.add("auth.providers.awsAlb.region", "%s is not an AWS region name such as eu-west-1", quote(alb.Region))
		}
		if v.required("auth.providers.awsAlb.signer", alb.Signer) && !validALBARN(alb.Signer) {
			v.add("auth.providers.awsAlb.signer", "%s is not the ARN of an application load balancer (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)", quote(alb.Signer))
		}
		v.signIn("auth.providers.awsAlb.signIn", alb.SignIn)
	}
	if iap := p.GCPIAP; iap.Audience != "" || len(iap.SignIn.Resolvers) > 0 {
		if v.required("auth.providers.gcpIap.audience", iap.Audience) && !validIAPAudience(iap.Audience) {
			v.add("auth.providers.gcpIap.audience", "%s is not /projects/<number>/global/backendServices/<id> or /projects/<number>/apps/<project-id>", quote(iap.Audience))
		}
		v.signIn("auth.providers.gcpIap.signIn", iap.SignIn)
	}
	if cf := p.CloudflareAccess; cf.TeamDomain != "" || cf.Audience != "" || len(cf.SignIn.Resolvers) > 0 {
		if v.required("auth.providers.cloudflareAccess.teamDomain", cf.TeamDomain) && !validTeamDomain(cf.TeamDomain) {
			v.add("auth.providers.cloudflareAccess.teamDomain", "%s is not <team>.cloudflareaccess.com", quote(cf.TeamDomain))
		}
		if v.required("auth.providers.cloudflareAccess.audience", cf.Audience) && !validAUDTag(cf.Audience) {
			v.add("auth.providers.cloudflareAccess.audience", "must be the Access application's AUD tag (64 hex digits)")
		}
		v.signIn("auth.providers.cloudflareAccess.signIn", cf.SignIn)
	}
}

func (c *Config) validateCatalog(v *validator) {
	cat := c.Catalog
	seen := map[[3]string]string{}
	for i, g := range cat.Examples {
		p := index("catalog.examples", i)
		if v.required(p, g) {
			if _, err := path.Match(g, ""); err != nil {
				v.add(p, "%s is not a valid glob", quote(g))
			}
		}
	}
	for i, l := range cat.Locations {
		p := index("catalog.locations", i)
		v.oneOf(p+".type", l.Type, "file", "url", "git")
		if v.required(p+".target", l.Target) {
			switch l.Type {
			case "url":
				v.url(p+".target", l.Target, false)
			case "git":
				v.noCredentials(p+".target", l.Target)
			case "file":
				if strings.Contains(l.Target, "://") {
					v.add(p+".target", "is a URL; use type url or git for remote locations")
				}
			}
		}
		if l.Path != "" && l.Type != "git" {
			v.add(p+".path", "only used by git locations")
		}
		key := [3]string{l.Type, l.Target, l.Path}
		if first, dup := seen[key]; dup {
			v.add(p, "same location as %s", first)
		}
		seen[key] = p
		v.rules(p+".rules", l.Rules)
	}
	v.rules("catalog.rules", cat.Rules)
	for i, a := range cat.Reading.Allow {
		p := index("catalog.reading.allow", i)
		v.host(p+".host", a.Host, true)
		for j, pp := range a.Paths {
			if !strings.HasPrefix(pp, "/") {
				v.add(index(p+".paths", j), "%s must start with /", quote(pp))
			}
		}
	}
	v.oneOf("catalog.orphanStrategy", cat.OrphanStrategy, "delete", "keep")
	v.positive("catalog.refreshInterval", cat.RefreshInterval)

	lim := cat.Limits
	for _, f := range []struct {
		name string
		val  int
	}{{"documentBytes", lim.DocumentBytes}, {"entityBytes", lim.EntityBytes}, {"maxDepth", lim.MaxDepth},
		{"entitiesPerLocation", lim.EntitiesPerLocation}, {"maxStringLength", lim.MaxStringLength}} {
		if f.val <= 0 {
			v.add("catalog.limits."+f.name, "must be positive")
		}
	}
	if lim.DocumentBytes > 0 && lim.EntityBytes > lim.DocumentBytes {
		v.add("catalog.limits.entityBytes", "must not exceed catalog.limits.documentBytes")
	}
	// Every reader of a stored entity decodes its JSON, and Go's decoder
	// stops at 10000 levels: an entity nested past that would be stored
	// and then unreadable. Real entities nest a few levels.
	if lim.MaxDepth > maxCatalogDepth {
		v.add("catalog.limits.maxDepth", "must be at most %d (got %d): an entity nested deeper could be stored but not read back", maxCatalogDepth, lim.MaxDepth)
	}
	if lim.EntityBytes > 0 && lim.MaxStringLength > lim.EntityBytes {
		v.add("catalog.limits.maxStringLength", "must not exceed catalog.limits.entityBytes")
	}
}

// maxCatalogDepth is the highest catalog.limits.maxDepth.
const maxCatalogDepth = 1000

// maxEachItems is the highest scaffolder.limits.maxEachItems: each item
// costs a rendering and an entry in the run's history.
const maxEachItems = 100000

func (c *Config) validateScaffolder(v *validator) {
	s := c.Scaffolder
	for i, h := range s.AllowedHosts {
		v.host(index("scaffolder.allowedHosts", i), h, true)
	}
	for i, a := range s.DisabledActions {
		p := index("scaffolder.disabledActions", i)
		if v.required(p, a) && strings.ContainsAny(a, " \t\r\n") {
			v.add(p, "%s is not an action id (like fs:delete)", quote(a))
		}
	}
	if s.DisabledActionsPolicy != "" {
		v.oneOf("scaffolder.disabledActionsPolicy", s.DisabledActionsPolicy, "warn", "refuse-if-used")
	}
	v.positive("scaffolder.defaultStepTimeout", s.DefaultStepTimeout)
	v.positive("scaffolder.secretTTL", s.SecretTTL)
	v.positive("scaffolder.workspaceTTL", s.WorkspaceTTL)
	if n := s.Limits.MaxEachItems; n < 1 || n > maxEachItems {
		v.add("scaffolder.limits.maxEachItems", "must be between 1 and %d, got %d", maxEachItems, n)
	}
	if d := s.Limits.RenderTimeout; d < 100*time.Millisecond || d > 10*time.Minute {
		v.add("scaffolder.limits.renderTimeout", "must be between 100ms and 10m, got %s", d)
	}
	if n := s.Limits.MaxIterations; n < 1 || n > 100_000_000 {
		v.add("scaffolder.limits.maxIterations", "must be between 1 and 100000000, got %d", n)
	}
	if n := s.Limits.MaxOutputBytes; n < 1024 || n > 512<<20 {
		v.add("scaffolder.limits.maxOutputBytes", "must be between 1024 and %d, got %d", 512<<20, n)
	}
	if k := s.SecretKey.Reveal(); k != "" {
		if key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k)); err != nil || len(key) != 32 {
			v.add("scaffolder.secretKey", "must be the base64 of 32 random bytes (head -c 32 /dev/urandom | base64)")
		}
	}
	if k := s.RunSigningKey.Reveal(); k != "" {
		if _, _, err := runsign.ParseKey(k); err != nil {
			v.add("scaffolder.runSigningKey", "%v", err)
		}
	}
	for i, g := range s.Templates {
		p := index("scaffolder.templates", i)
		if v.required(p, g) {
			if _, err := path.Match(g, ""); err != nil {
				v.add(p, "%s is not a valid glob", quote(g))
			}
		}
	}
}

func (c *Config) validateIntegrations(v *validator) {
	hosts := map[string]string{}
	for i, g := range c.Integrations.GitHub {
		p := index("integrations.github", i)
		if v.host(p+".host", g.Host, false) {
			h := strings.ToLower(g.Host)
			if first, dup := hosts[h]; dup {
				v.add(p+".host", "%s is already configured at %s", quote(g.Host), first)
			}
			hosts[h] = p
		}
		if g.APIBaseURL != "" {
			v.url(p+".apiBaseUrl", g.APIBaseURL, true)
		}
		if g.GitBaseURL != "" {
			v.url(p+".gitBaseUrl", g.GitBaseURL, true)
		}
		if w := g.WebhookSecret.Reveal(); w != "" && len(w) < 16 {
			v.add(p+".webhookSecret", "is %d characters; use at least 16 random ones (anyone who guesses it can fake GitHub's events)", len(w))
		}
		for j, app := range g.Apps {
			ap := index(p+".apps", j)
			if w := app.WebhookSecret.Reveal(); w != "" && len(w) < 16 {
				v.add(ap+".webhookSecret", "is %d characters; use at least 16 random ones (anyone who guesses it can fake GitHub's events)", len(w))
			}
			if app.AppID <= 0 {
				v.add(ap+".appId", "must be a positive GitHub App id")
			}
			switch key := app.PrivateKey.Reveal(); {
			case key == "":
				v.add(ap+".privateKey", "is required")
			case !strings.Contains(key, "-----BEGIN") || !strings.Contains(key, "PRIVATE KEY-----"):
				v.add(ap+".privateKey", "does not look like a PEM private key (-----BEGIN RSA PRIVATE KEY----- ...)")
			}
			if (app.ClientID == "") != (app.ClientSecret == "") {
				v.add(ap, "clientId and clientSecret must be set together")
			}
		}
	}

	a := c.Integrations.AWS
	if a.Region != "" && !validRegion(a.Region) {
		v.add("integrations.aws.region", "%s is not an AWS region (like eu-west-1)", quote(a.Region))
	}
	if a.Endpoint != "" {
		v.url("integrations.aws.endpoint", a.Endpoint, false)
	}
	if a.RoleARN != "" && !validRoleARN(a.RoleARN) {
		v.add("integrations.aws.roleArn", "%s is not an IAM role ARN (like arn:aws:iam::123456789012:role/rigger)", quote(a.RoleARN))
	}
	if a.AccessKeyID != "" && a.SecretAccessKey == "" {
		v.add("integrations.aws.secretAccessKey", "required when integrations.aws.accessKeyId is set")
	}
	if a.SecretAccessKey != "" && a.AccessKeyID == "" {
		v.add("integrations.aws.accessKeyId", "required when integrations.aws.secretAccessKey is set")
	}
	if a.SessionDuration != 15*time.Minute {
		v.add("integrations.aws.sessionDuration", "%s: must be 15m, STS's shortest session and the longest Rigger gives a step", a.SessionDuration)
	}
	v.required("integrations.terraform.binary", c.Integrations.Terraform.Binary)
}

func (c *Config) validatePermission(v *validator) {
	for i, a := range c.Permission.Admins {
		if !validAdminRef(a) {
			v.add(index("permission.admins", i), "%s is not a user or group entity ref (like group:default/platform)", quote(a))
		}
	}
}

func (c *Config) validateAudit(v *validator) {
	a := c.Audit
	v.oneOf("audit.sink", a.Sink, "stdout", "file", "database")
	if a.Sink == "file" && a.Path == "" {
		v.add("audit.path", "required when audit.sink is file")
	}
	if a.Sink != "file" && a.Path != "" {
		v.add("audit.path", "only used when audit.sink is file")
	}
	c.validateAlerts(v)
}

// walkSecrets calls fn for every Secret in v, with its key path.
func walkSecrets(v reflect.Value, p string, fn func(path string, s Secret)) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name != "" && name != "-" && t.Field(i).IsExported() {
				walkSecrets(v.Field(i), join(p, name), fn)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkSecrets(v.Index(i), index(p, i), fn)
		}
	case reflect.String:
		if v.Type() == reflect.TypeFor[Secret]() {
			fn(p, Secret(v.String()))
		}
	}
}

func index(p string, i int) string { return fmt.Sprintf("%s[%d]", p, i) }

func (c *Config) validateGuest(v *validator) {
	g := c.Auth.Guest
	switch g.Access {
	case "":
		if len(g.Networks) > 0 {
			v.add("auth.guest.access", "must be read-only when auth.guest.networks is set (or remove the networks)")
		}
		return
	case "read-only":
	default:
		v.add("auth.guest.access", "%s is not an access level (the only one is read-only)", quote(g.Access))
		return
	}
	if len(g.Networks) == 0 {
		v.add("auth.guest.networks", "required with auth.guest.access: list the CIDRs guests may come from, e.g. 10.0.0.0/8")
	}
	for i, n := range g.Networks {
		if _, err := netip.ParsePrefix(strings.TrimSpace(n)); err != nil {
			v.add(index("auth.guest.networks", i), "%s is not a CIDR like 10.0.0.0/8 or 2001:db8::/32", quote(n))
		}
	}
}
