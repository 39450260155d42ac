package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// resolvePaths makes the relative paths the file set (set holds their key
// paths) absolute against dir, the folder of the file. Values that are not
// local paths (URLs, empty values) are left alone.
func (c *Config) resolvePaths(dir string, set map[string]bool) {
	abs := func(key string, p *string) {
		if set[key] && *p != "" && !filepath.IsAbs(*p) && !strings.Contains(*p, "://") {
			*p = filepath.Join(dir, *p)
		}
	}
	abs("server.dataDir", &c.Server.DataDir)
	abs("database.path", &c.Database.Path)
	abs("scaffolder.workspaceRoot", &c.Scaffolder.WorkspaceRoot)
	abs("temporal.tls.caFile", &c.Temporal.TLS.CAFile)
	abs("temporal.tls.certFile", &c.Temporal.TLS.CertFile)
	abs("temporal.tls.keyFile", &c.Temporal.TLS.KeyFile)
	abs("permission.policyFile", &c.Permission.PolicyFile)
	for i := range c.Permission.PolicyFiles {
		abs(index("permission.policyFiles", i), &c.Permission.PolicyFiles[i])
	}
	abs("audit.path", &c.Audit.Path)
	abs("integrations.terraform.pluginMirror", &c.Integrations.Terraform.PluginMirror)
	for i := range c.Scaffolder.Templates {
		abs(index("scaffolder.templates", i), &c.Scaffolder.Templates[i])
	}
	for i := range c.Catalog.Examples {
		abs(index("catalog.examples", i), &c.Catalog.Examples[i])
	}
	for i := range c.Catalog.Locations {
		if l := &c.Catalog.Locations[i]; l.Type == "file" {
			abs(index("catalog.locations", i)+".target", &l.Target)
		}
	}
}

// PathWarnings names every configured file or glob that matches nothing:
// scaffolder.templates, file targets of catalog.locations,
// permission.policyFile(s) and the temporal.tls files. glob is
// filepath.Glob (injected: this package reads no file but rigger.yaml).
// A bad pattern is Validate's business and is skipped here.
func (c *Config) PathWarnings(glob func(pattern string) ([]string, error)) []string {
	var out []string
	check := func(key, p, effect string) {
		if p == "" {
			return
		}
		if m, err := glob(p); err == nil && len(m) == 0 {
			out = append(out, fmt.Sprintf("%s: %s matches no file%s%s", key, quote(p), effect, relativeHint(p)))
		}
	}
	for i, t := range c.Scaffolder.Templates {
		check(index("scaffolder.templates", i), t, ", so no template is loaded from it")
	}
	for i, l := range c.Catalog.Locations {
		if l.Type == "file" {
			check(index("catalog.locations", i)+".target", l.Target, ", so the location stays empty")
		}
	}
	check("permission.policyFile", c.Permission.PolicyFile, "")
	for i, f := range c.Permission.PolicyFiles {
		check(index("permission.policyFiles", i), f, "")
	}
	if c.Temporal.TLS.Enabled {
		check("temporal.tls.caFile", c.Temporal.TLS.CAFile, "")
		check("temporal.tls.certFile", c.Temporal.TLS.CertFile, "")
		check("temporal.tls.keyFile", c.Temporal.TLS.KeyFile, "")
	}
	return out
}

// relativeHint says what a relative path is relative to (only defaults and
// flags stay relative: Load resolves the file's own).
func relativeHint(p string) string {
	if filepath.IsAbs(p) {
		return ""
	}
	return " (a default or flag value, so relative to the current directory)"
}
