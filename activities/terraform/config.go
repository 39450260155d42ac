package terraform

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"unicode"
)

// Config is the Terraform integration's configuration
// (integrations.terraform).
type Config struct {
	// Binary is the terraform (or tofu) executable: an absolute path, or
	// a bare name ("terraform", "tofu") looked up on PATH when Actions is
	// called; "" means "terraform".
	Binary string
	// PluginMirror is where providers come from: an absolute directory (a
	// filesystem mirror) or an https:// URL (a network mirror). When set
	// it is the only provider source: the registry is never asked.
	PluginMirror string
	// AllowDownloads lets terraform install providers from their
	// registries when no PluginMirror is set. Without it and without a
	// mirror no provider can be installed: only configurations that need
	// none (terraform_data, outputs, locals) run.
	AllowDownloads bool
}

// Validate checks c as written by the operator.
func (c Config) Validate() error {
	var errs []error
	if b := c.Binary; strings.ContainsRune(b, filepath.Separator) && !filepath.IsAbs(b) {
		errs = append(errs, fmt.Errorf("integrations.terraform.binary %q: want an absolute path or a command name looked up on PATH", b))
	}
	if m := c.PluginMirror; m != "" {
		switch {
		case strings.IndexFunc(m, unicode.IsControl) >= 0:
			errs = append(errs, errors.New("integrations.terraform.pluginMirror holds a control character"))
		case strings.Contains(m, "://"):
			if u, err := url.Parse(m); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
				errs = append(errs, fmt.Errorf("integrations.terraform.pluginMirror %q: a network mirror must be an https:// URL without credentials", m))
			}
		case !filepath.IsAbs(m):
			errs = append(errs, fmt.Errorf("integrations.terraform.pluginMirror %q: want an absolute directory or an https:// URL", m))
		}
	}
	return errors.Join(errs...)
}

// CLIConfig is the terraform CLI configuration every run gets (through
// TF_CLI_CONFIG_FILE): no update checks, and providers only from the
// mirror when one is set, from nowhere when downloads are not allowed.
func (c Config) CLIConfig(emptyMirror string) string {
	var b strings.Builder
	b.WriteString("disable_checkpoint = true\n")
	switch {
	case strings.Contains(c.PluginMirror, "://"):
		fmt.Fprintf(&b, "provider_installation {\n  network_mirror {\n    url = %s\n  }\n}\n", hclString(c.PluginMirror))
	case c.PluginMirror != "":
		fmt.Fprintf(&b, "provider_installation {\n  filesystem_mirror {\n    path = %s\n  }\n}\n", hclString(c.PluginMirror))
	case !c.AllowDownloads:
		// A mirror that holds nothing and no direct block: every
		// provider is "not found", no registry is asked.
		fmt.Fprintf(&b, "provider_installation {\n  filesystem_mirror {\n    path = %s\n  }\n}\n", hclString(emptyMirror))
	}
	return b.String()
}

// hclString quotes s as an HCL string literal with no interpolation.
func hclString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", "$${", "%{", "%%{", "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}
