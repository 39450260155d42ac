package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

const secretValue = "s3cr3t-VALUE-that-must-never-print-0123456789"

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var fullEnv = env(map[string]string{
	"TEMPORAL_API_KEY": secretValue, "PGPASSWORD": secretValue, "OIDC_CLIENT_SECRET": secretValue,
	"SESSION_SECRET": secretValue, "CI_TOKEN": secretValue, "GITHUB_APP_KEY": secretValue,
	"GITHUB_WEBHOOK_SECRET": secretValue, "GITHUB_CLIENT_SECRET": secretValue,
})

func TestFullExample(t *testing.T) {
	cfg, err := Load("testdata/full.yaml", fullEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("full example does not validate: %v", err)
	}
	if cfg.Temporal.APIKey.Reveal() != secretValue || cfg.Database.URL.Reveal() != "postgres://rigger:"+secretValue+"@db.example.internal:5432/rigger?sslmode=verify-full" {
		t.Errorf("substitution: apiKey %q url %q", cfg.Temporal.APIKey.Reveal(), cfg.Database.URL.Reveal())
	}
	if cfg.Catalog.RefreshInterval != 10*time.Minute || cfg.Integrations.GitHub[0].Apps[0].AppID != 123456 || cfg.Catalog.Locations[1].Path != "all.yaml" {
		t.Errorf("decoded values wrong: %+v", cfg.Catalog)
	}
	if got := cfg.Scaffolder.AllowedHosts; len(got) != 2 || got[1] != "*.githubusercontent.com" {
		t.Errorf("allowedHosts = %v", got)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if cfg.Server.Listen != "127.0.0.1:7007" || cfg.Temporal.Embedded.UIListen != "127.0.0.1:8233" || cfg.Temporal.Namespace != "default" || cfg.Database.Driver != "sqlite" {
		t.Errorf("unexpected defaults: %+v", cfg)
	}
	// A file that sets one key keeps every other default.
	cfg, err = Parse("r.yaml", []byte("server:\n  listen: 127.0.0.1:9000\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.1:9000" || cfg.Server.DataDir != "./.rigger" || cfg.Catalog.Limits.EntityBytes != 1<<20 {
		t.Errorf("overlay lost defaults: %+v", cfg.Server)
	}
	for _, empty := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		if _, err := Parse("r.yaml", []byte(empty), env(nil)); err != nil {
			t.Errorf("%q: %v", empty, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		env        map[string]string
		want       []string
	}{
		{"unknown top-level key", "server:\n  listen: 127.0.0.1:1\nservr: {}\n", nil,
			[]string{`r.yaml:3:1: servr: unknown key (did you mean "server"?)`}},
		{"unknown nested key", "server:\n  lisen: 127.0.0.1:1\n", nil,
			[]string{`r.yaml:2:3: server.lisen: unknown key (did you mean "listen"?)`}},
		{"unknown key in list item", "catalog:\n  locations:\n    - type: file\n      target: a.yaml\n      colour: red\n", nil,
			[]string{`r.yaml:5:7: catalog.locations[0].colour: unknown key`}},
		{"all unknown keys reported", "a: 1\nb: 2\n", nil, []string{"r.yaml:1:1: a: unknown key", "r.yaml:2:1: b: unknown key"}},
		{"mapping where string expected", "server:\n  listen:\n    host: x\n", nil,
			[]string{"r.yaml:3:5: server.listen: expected a string, got a mapping"}},
		{"list where mapping expected", "server: [a]\n", nil, []string{"r.yaml:1:9: server: expected a mapping, got a list"}},
		{"bad duration", "catalog:\n  refreshInterval: soon\n", nil,
			[]string{`r.yaml:2:20: catalog.refreshInterval: "soon" is not a duration (like 90s or 5m)`}},
		{"bad int", "database:\n  maxOpenConns: many\n", nil, []string{`r.yaml:2:17: database.maxOpenConns: "many" is not a whole number`}},
		{"bad bool", "auth:\n  allowGuest: perhaps\n", nil, []string{`r.yaml:2:15: auth.allowGuest: "perhaps" is not a boolean`}},
		{"scalar where list expected", "scaffolder:\n  allowedHosts: github.com\n", nil,
			[]string{"r.yaml:2:17: scaffolder.allowedHosts: expected a list, got a scalar"}},
		{"missing env var", "temporal:\n  apiKey: ${TEMPORAL_API_KEY}\n", nil,
			[]string{`r.yaml:2:11: temporal.apiKey: environment variable "TEMPORAL_API_KEY" is not set`}},
		{"missing env var inside string", "database:\n  url: postgres://u:${PGPASS}@h/db\n", nil,
			[]string{`r.yaml:2:8: database.url: environment variable "PGPASS" is not set`}},
		{"bad env reference", "server:\n  dataDir: ${1BAD}\n", nil, []string{`server.dataDir: "${1BAD}" is not a valid environment variable reference`}},
		{"substituted value of wrong type", "database:\n  maxOpenConns: ${N}\n", map[string]string{"N": "ten"},
			[]string{`database.maxOpenConns: "ten" is not a whole number`}},
		{"alias", "server: &s\n  listen: 127.0.0.1:1\ntemporal:\n  embedded: *s\n", nil, []string{"anchors and aliases are not allowed"}},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n", nil,
			[]string{"anchors and aliases are not allowed"}},
		{"merge key", "base: &b {listen: x}\nserver:\n  <<: *b\n", nil, []string{"anchors and aliases are not allowed"}},
		{"duplicate key", "server:\n  listen: a:1\n  listen: b:2\n", nil, []string{"r.yaml:3:3: server.listen: duplicate key (first set on line 2)"}},
		{"two documents", "server: {}\n---\nserver: {}\n", nil, []string{"only one YAML document"}},
		{"syntax error", "server:\n  listen: [unclosed\n", nil, []string{"r.yaml:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("r.yaml", []byte(c.yaml), env(c.env))
			if err == nil {
				t.Fatalf("want error, got none")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %s\ndoes not contain\n  %s", err, w)
				}
			}
		})
	}
}

func TestSubstitution(t *testing.T) {
	e := env(map[string]string{"PORT": "9100", "PW": "p@ss", "ON": "true", "NAME": "rigger"})
	cfg, err := Parse("r.yaml", []byte(`
server:
  listen: 127.0.0.1:${PORT}
  baseUrl: "https://${NAME}.example.com/$${NOT_A_VAR}"
database:
  driver: postgres
  url: postgres://u:${PW}@h/db
  maxOpenConns: ${PORT}
auth:
  allowGuest: ${ON}
temporal:
  namespace: "${PORT}"
`), e)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "127.0.0.1:9100" || cfg.Database.MaxOpenConns != 9100 || !cfg.Auth.AllowGuest || cfg.Temporal.Namespace != "9100" {
		t.Errorf("substitution into typed fields failed: %+v %+v", cfg.Server, cfg.Database)
	}
	if cfg.Server.BaseURL != "https://rigger.example.com/${NOT_A_VAR}" {
		t.Errorf("escape: baseUrl = %q", cfg.Server.BaseURL)
	}
	if cfg.Database.URL.Reveal() != "postgres://u:p@ss@h/db" {
		t.Errorf("url = %q", cfg.Database.URL.Reveal())
	}
}

func TestStringFieldsKeepYAMLLookalikes(t *testing.T) {
	cfg, err := Parse("r.yaml", []byte("temporal:\n  namespace: 123\n  taskQueues: [yes, 0x1f]\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Temporal.Namespace != "123" || cfg.Temporal.TaskQueues[0] != "yes" || cfg.Temporal.TaskQueues[1] != "0x1f" {
		t.Errorf("got %q %v", cfg.Temporal.Namespace, cfg.Temporal.TaskQueues)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"bad driver", func(c *Config) { c.Database.Driver = "mysql" }, `database.driver: "mysql" is not one of sqlite, postgres`},
		{"postgres without url", func(c *Config) { c.Database.Driver = "postgres" }, "database.url: required when database.driver is postgres"},
		{"bad listen", func(c *Config) { c.Server.Listen = "7007" }, `server.listen: "7007" is not host:port`},
		{"listen without host", func(c *Config) { c.Server.Listen = ":7007" }, "server.listen"},
		{"bad log level", func(c *Config) { c.Server.LogLevel = "loud" }, "server.logLevel"},
		{"cert without key", func(c *Config) { c.Temporal.TLS.CertFile = "c.pem" }, "temporal.tls: certFile and keyFile must be set together"},
		{"api key without tls", func(c *Config) { c.Temporal.APIKey = "k" }, "temporal.apiKey: requires temporal.tls.enabled"},
		{"empty namespace", func(c *Config) { c.Temporal.Namespace = "" }, "temporal.namespace: is required"},
		{"location type", func(c *Config) { c.Catalog.Locations = []Location{{Type: "ftp", Target: "x"}} }, `catalog.locations[0].type: "ftp" is not one of file, url, git`},
		{"location target", func(c *Config) { c.Catalog.Locations = []Location{{Type: "file"}} }, "catalog.locations[0].target: is required"},
		{"rule without kinds", func(c *Config) { c.Catalog.Rules = []Rule{{}} }, "catalog.rules[0].allow: must list at least one kind"},
		{"orphan strategy", func(c *Config) { c.Catalog.OrphanStrategy = "forget" }, "catalog.orphanStrategy"},
		{"negative limit", func(c *Config) { c.Catalog.Limits.MaxDepth = 0 }, "catalog.limits.maxDepth: must be positive"},
		{"allowed host with scheme", func(c *Config) { c.Scaffolder.AllowedHosts = []string{"https://github.com"} }, `scaffolder.allowedHosts[0]: "https://github.com" is not a host name`},
		{"allowed host with path", func(c *Config) { c.Scaffolder.AllowedHosts = []string{"github.com/org"} }, "scaffolder.allowedHosts[0]"},
		{"short service token", func(c *Config) { c.Auth.ServiceTokens = []ServiceToken{{Name: "ci", Token: "short"}} }, "auth.serviceTokens[0].token: must be at least 32 characters"},
		{"github host", func(c *Config) { c.Integrations.GitHub = []GitHub{{}} }, "integrations.github[0].host: is required"},
		{"audit file without path", func(c *Config) { c.Audit.Sink = "file" }, "audit.path: required when audit.sink is file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Default()
			c.mutate(cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want error containing %q, got %v", c.want, err)
			}
		})
	}
	// All problems at once.
	cfg := Default()
	cfg.Database.Driver, cfg.Server.LogLevel = "x", "y"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "database.driver") || !strings.Contains(err.Error(), "server.logLevel") {
		t.Fatalf("want both problems, got %v", err)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	cfg, err := Load("testdata/full.yaml", fullEnv)
	if err != nil {
		t.Fatal(err)
	}
	red, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "config", cfg, "key", cfg.Temporal.APIKey)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("cfg", "config", cfg, "key", cfg.Temporal.APIKey)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"Redacted": string(red), "%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
		"%s": fmt.Sprintf("%s", cfg.Temporal.APIKey), "%q": fmt.Sprintf("%q", cfg.Temporal.APIKey), "%x": fmt.Sprintf("%x", cfg.Temporal.APIKey),
		"slog": logs.String(), "json": string(js),
	}
	for name, out := range outputs {
		if strings.Contains(out, secretValue) || strings.Contains(out, fmt.Sprintf("%x", secretValue)) {
			t.Errorf("%s output reveals a secret", name)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s output does not show %s", name, Redacted)
		}
	}
	if !strings.Contains(string(red), "listen: 127.0.0.1:7007") || !strings.Contains(string(red), "refreshInterval: 10m0s") {
		t.Errorf("redacted config lost non-secret values:\n%s", red)
	}
	if Secret("").String() != "" {
		t.Error("an empty secret should print empty, so unset secrets are visible as unset")
	}
}

func TestFileTooLarge(t *testing.T) {
	path := t.TempDir() + "/big.yaml"
	if err := os.WriteFile(path, bytes.Repeat([]byte("# padding\n"), MaxFileBytes/10+10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, env(nil)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("want size error, got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "server:\n  listen: a:1\n", "a: &a [*a]", "catalog:\n  locations:\n  - type: ${X}\n", "[1, 2", "{", "x: $${Y}"} {
		f.Add([]byte(s))
	}
	if raw, err := os.ReadFile("testdata/full.yaml"); err == nil {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data, env(map[string]string{"X": "file"}))
		if err == nil {
			_ = cfg.Validate()
			if _, err := cfg.Redacted(); err != nil {
				t.Fatalf("redact: %v", err)
			}
		}
	})
}
