package config

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Validate reports every problem at once, each prefixed by its key path.
func (c *Config) Validate() error {
	v := &validator{}
	v.address("server.listen", c.Server.Listen, false)
	v.oneOf("server.logLevel", c.Server.LogLevel, "debug", "info", "warn", "error")
	v.oneOf("server.logFormat", c.Server.LogFormat, "json", "text")
	v.required("server.dataDir", c.Server.DataDir)

	t := c.Temporal
	if t.Address != "" {
		v.address("temporal.address", t.Address, false)
	}
	v.required("temporal.namespace", t.Namespace)
	v.address("temporal.embedded.frontendListen", t.Embedded.FrontendListen, false)
	v.address("temporal.embedded.uiListen", t.Embedded.UIListen, true)
	if t.Embedded.HistoryShards < 1 {
		v.add("temporal.embedded.historyShards", "must be at least 1")
	}
	if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
		v.add("temporal.tls", "certFile and keyFile must be set together")
	}
	if t.APIKey != "" && !t.TLS.Enabled {
		v.add("temporal.apiKey", "requires temporal.tls.enabled: true (the key must not travel in clear text)")
	}
	if len(t.TaskQueues) == 0 {
		v.add("temporal.taskQueues", "at least one task queue is required")
	}
	for i, q := range t.TaskQueues {
		v.required(fmt.Sprintf("temporal.taskQueues[%d]", i), q)
	}

	v.oneOf("database.driver", c.Database.Driver, "sqlite", "postgres")
	if c.Database.Driver == "postgres" && c.Database.URL == "" {
		v.add("database.url", "required when database.driver is postgres")
	}
	if c.Database.MaxOpenConns < 1 {
		v.add("database.maxOpenConns", "must be at least 1")
	}

	if c.Auth.Session.TTL <= 0 {
		v.add("auth.session.ttl", "must be positive")
	}
	names := map[string]bool{}
	for i, st := range c.Auth.ServiceTokens {
		p := fmt.Sprintf("auth.serviceTokens[%d]", i)
		v.required(p+".name", st.Name)
		if names[st.Name] {
			v.add(p+".name", fmt.Sprintf("duplicate service token name %q", st.Name))
		}
		names[st.Name] = true
		if len(st.Token.Reveal()) < 32 {
			v.add(p+".token", "must be at least 32 characters")
		}
	}

	for i, l := range c.Catalog.Locations {
		p := fmt.Sprintf("catalog.locations[%d]", i)
		v.oneOf(p+".type", l.Type, "file", "url", "git")
		v.required(p+".target", l.Target)
		v.rules(p+".rules", l.Rules)
	}
	v.rules("catalog.rules", c.Catalog.Rules)
	for i, a := range c.Catalog.Reading.Allow {
		v.host(fmt.Sprintf("catalog.reading.allow[%d].host", i), a.Host)
	}
	v.oneOf("catalog.orphanStrategy", c.Catalog.OrphanStrategy, "delete", "keep")
	if c.Catalog.RefreshInterval <= 0 {
		v.add("catalog.refreshInterval", "must be positive")
	}
	lim := c.Catalog.Limits
	for name, val := range map[string]int{
		"documentBytes": lim.DocumentBytes, "entityBytes": lim.EntityBytes, "maxDepth": lim.MaxDepth,
		"entitiesPerLocation": lim.EntitiesPerLocation, "maxStringLength": lim.MaxStringLength,
	} {
		if val <= 0 {
			v.add("catalog.limits."+name, "must be positive")
		}
	}
	if lim.EntityBytes > lim.DocumentBytes && lim.DocumentBytes > 0 {
		v.add("catalog.limits.entityBytes", "must not exceed catalog.limits.documentBytes")
	}

	for i, h := range c.Scaffolder.AllowedHosts {
		v.host(fmt.Sprintf("scaffolder.allowedHosts[%d]", i), h)
	}
	if c.Scaffolder.DefaultStepTimeout <= 0 {
		v.add("scaffolder.defaultStepTimeout", "must be positive")
	}

	for i, g := range c.Integrations.GitHub {
		p := fmt.Sprintf("integrations.github[%d]", i)
		v.required(p+".host", g.Host)
		for j, a := range g.Apps {
			if a.AppID <= 0 {
				v.add(fmt.Sprintf("%s.apps[%d].appId", p, j), "must be a positive GitHub App id")
			}
			if a.PrivateKey == "" {
				v.add(fmt.Sprintf("%s.apps[%d].privateKey", p, j), "is required")
			}
		}
	}
	if c.Integrations.AWS.SessionDuration < 900e9 || c.Integrations.AWS.SessionDuration > 12*3600e9 {
		v.add("integrations.aws.sessionDuration", "must be between 15m and 12h (the STS limits)")
	}
	v.oneOf("audit.sink", c.Audit.Sink, "stdout", "file", "database")
	if c.Audit.Sink == "file" && c.Audit.Path == "" {
		v.add("audit.path", "required when audit.sink is file")
	}
	return errors.Join(v.errs...)
}

type validator struct{ errs []error }

func (v *validator) add(path, msg string) { v.errs = append(v.errs, fmt.Errorf("%s: %s", path, msg)) }

func (v *validator) required(path, val string) {
	if strings.TrimSpace(val) == "" {
		v.add(path, "is required")
	}
}

func (v *validator) oneOf(path, val string, allowed ...string) {
	if !slices.Contains(allowed, val) {
		v.add(path, fmt.Sprintf("%q is not one of %s", val, strings.Join(allowed, ", ")))
	}
}

func (v *validator) address(path, val string, emptyOK bool) {
	if val == "" && emptyOK {
		return
	}
	host, port, err := net.SplitHostPort(val)
	if err != nil {
		v.add(path, fmt.Sprintf("%q is not host:port", val))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(path, fmt.Sprintf("%q has an invalid port", val))
	}
	if host == "" {
		v.add(path, fmt.Sprintf("%q has no host (use 127.0.0.1 to stay local)", val))
	}
}

var hostPattern = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$`)

func (v *validator) host(path, val string) {
	if val == "*" {
		return
	}
	if !hostPattern.MatchString(strings.ToLower(val)) {
		v.add(path, fmt.Sprintf("%q is not a host name or *.suffix pattern (no scheme, no path)", val))
	}
}

func (v *validator) rules(path string, rules []Rule) {
	for i, r := range rules {
		p := fmt.Sprintf("%s[%d]", path, i)
		if len(r.Allow) == 0 {
			v.add(p+".allow", "must list at least one kind")
		}
		for j, l := range r.Locations {
			v.oneOf(fmt.Sprintf("%s.locations[%d].type", p, j), l.Type, "file", "url", "git")
		}
	}
}

// Redacted returns the effective configuration as YAML, every secret shown as
// "[redacted]".
func (c *Config) Redacted() ([]byte, error) {
	return yaml.Marshal(c)
}
