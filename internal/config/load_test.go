package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // whole lines of the error, one per problem
		more bool     // more problems than lines in want are expected
	}{
		// Unknown keys, at every level.
		{"unknown top-level key", "server:\n  listen: 127.0.0.1:1\nservr: {}\n", nil,
			[]string{`rigger.yaml:3:1: servr: unknown key (did you mean "server"?)`}, false},
		{"unknown nested key", "server:\n  lisen: 127.0.0.1:1\n", nil,
			[]string{`rigger.yaml:2:3: server.lisen: unknown key (did you mean "listen"?)`}, false},
		{"unknown key in a list item", "catalog:\n  locations:\n    - type: file\n      target: a.yaml\n      colour: red\n", nil,
			[]string{`rigger.yaml:5:7: catalog.locations[0].colour: unknown key (known keys: type, target, path, rules)`}, false},
		{"unknown key in a nested list item", "integrations:\n  github:\n    - host: a.example.com\n    - host: b.example.com\n      apps:\n        - appid: 1\n", nil,
			[]string{`rigger.yaml:6:11: integrations.github[1].apps[0].appid: unknown key (did you mean "appId"?)`}, false},
		{"every unknown key is reported", "a: 1\nserver:\n  b: 2\ncatalog:\n  locations:\n    - c: 3\n", nil,
			[]string{
				"rigger.yaml:1:1: a: unknown key (known keys: server, temporal, database, auth, catalog, scaffolder, integrations, permission, audit, docs, tracing, mcp)",
				"rigger.yaml:3:3: server.b: unknown key (known keys: listen, baseUrl, dataDir, logLevel, logFormat, trustedProxies, metricsListen)",
				"rigger.yaml:6:7: catalog.locations[0].c: unknown key (known keys: type, target, path, rules)",
			}, false},
		{"Go-style capitalisation suggests the key", "server:\n  baseURL: x\n", nil,
			[]string{`rigger.yaml:2:3: server.baseURL: unknown key (did you mean "baseUrl"?)`}, false},
		{"snake case suggests the key", "scaffolder:\n  allowed_hosts: []\n", nil,
			[]string{`rigger.yaml:2:3: scaffolder.allowed_hosts: unknown key (did you mean "allowedHosts"?)`}, false},
		{"odd key is quoted", "server:\n  \"a b\": 1\n", nil,
			[]string{`rigger.yaml:2:3: server."a b": unknown key (known keys: listen, baseUrl, dataDir, logLevel, logFormat, trustedProxies, metricsListen)`}, false},

		// Wrong types.
		{"string where mapping expected", "server: hello\n", nil,
			[]string{"rigger.yaml:1:9: server: expected a mapping, got a string"}, false},
		{"list where mapping expected", "server: [a]\n", nil,
			[]string{"rigger.yaml:1:9: server: expected a mapping, got a list"}, false},
		{"mapping where string expected", "server:\n  listen:\n    host: x\n", nil,
			[]string{"rigger.yaml:3:5: server.listen: expected a string, got a mapping"}, false},
		{"Backstage $env form", "temporal:\n  apiKey: {$env: TEMPORAL_API_KEY}\n", nil,
			[]string{"rigger.yaml:2:11: temporal.apiKey: expected a string, got a mapping (rigger reads the environment with ${VAR}, not $env or $file)"}, false},
		{"scalar where list expected", "scaffolder:\n  allowedHosts: github.com\n", nil,
			[]string{`rigger.yaml:2:17: scaffolder.allowedHosts: expected a list, got a string (write [a, b] or one "- item" line per item)`}, false},
		{"bad duration", "catalog:\n  refreshInterval: soon\n", nil,
			[]string{`rigger.yaml:2:20: catalog.refreshInterval: "soon" is not a duration (like 90s or 5m)`}, false},
		{"duration without unit", "auth:\n  session:\n    ttl: 3600\n", nil,
			[]string{`rigger.yaml:3:10: auth.session.ttl: "3600" is not a duration (like 90s or 5m)`}, false},
		{"bad int", "database:\n  maxOpenConns: many\n", nil,
			[]string{`rigger.yaml:2:17: database.maxOpenConns: "many" is not a whole number`}, false},
		{"fraction for an int", "database:\n  maxOpenConns: 1.5\n", nil,
			[]string{`rigger.yaml:2:17: database.maxOpenConns: "1.5" is not a whole number`}, false},
		{"int out of range", "integrations:\n  github:\n    - apps:\n        - appId: 99999999999999999999\n", nil,
			[]string{`rigger.yaml:4:18: integrations.github[0].apps[0].appId: "99999999999999999999" is out of range`}, false},
		{"bad bool", "auth:\n  allowGuest: perhaps\n", nil,
			[]string{`rigger.yaml:2:15: auth.allowGuest: "perhaps" is not a boolean (true or false)`}, false},
		{"YAML 1.1 bool", "permission:\n  enabled: yes\n", nil,
			[]string{`rigger.yaml:2:12: permission.enabled: "yes" is not a boolean (true or false)`}, false},
		{"list where bool expected", "audit:\n  enabled: [true]\n", nil,
			[]string{"rigger.yaml:2:12: audit.enabled: expected a boolean, got a list"}, false},
		{"custom tag", "server:\n  listen: !vault secret/rigger\n", nil,
			[]string{`rigger.yaml:2:11: server.listen: YAML tag "!vault" is not supported`}, false},
		{"top level is not a mapping", "- server\n", nil,
			[]string{"rigger.yaml:1:1: the file must be a mapping of sections (server:, temporal:, ...), got a list"}, false},

		// Environment references.
		{"missing variable", "temporal:\n  apiKey: ${TEMPORAL_API_KEY}\n", nil,
			[]string{`rigger.yaml:2:11: temporal.apiKey: environment variable "TEMPORAL_API_KEY" is not set`}, false},
		{"missing variable inside a string", "database:\n  url: postgres://u:${PGPASS}@h/db\n", nil,
			[]string{`rigger.yaml:2:8: database.url: environment variable "PGPASS" is not set`}, false},
		{"every missing variable is reported", "server:\n  dataDir: ${A}/${B}\nauth:\n  serviceTokens:\n    - token: ${C}\n", nil,
			[]string{
				`rigger.yaml:2:12: server.dataDir: environment variable "A" is not set`,
				`rigger.yaml:2:12: server.dataDir: environment variable "B" is not set`,
				`rigger.yaml:5:14: auth.serviceTokens[0].token: environment variable "C" is not set`,
			}, false},
		{"invalid reference", "server:\n  dataDir: ${1BAD}\n", nil,
			[]string{`rigger.yaml:2:12: server.dataDir: "${1BAD}" is not a valid environment variable reference (write $${ for a literal ${)`}, false},
		{"unterminated reference", "server:\n  dataDir: /a/${HOME\n", nil,
			[]string{`rigger.yaml:2:12: server.dataDir: unterminated ${ (write $${ for a literal ${)`}, false},
		{"substituted value of the wrong type", "database:\n  maxOpenConns: ${N}\n", map[string]string{"N": secretValue},
			[]string{`rigger.yaml:2:17: database.maxOpenConns: the value of "${N}" is not a whole number`}, false},

		// Safety.
		{"alias", "server: &s\n  listen: 127.0.0.1:1\ntemporal:\n  embedded: *s\n", nil,
			[]string{"rigger.yaml:1:9: server: YAML anchors and aliases are not allowed", "rigger.yaml:4:13: temporal.embedded: YAML anchors and aliases are not allowed"}, false},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n", nil,
			[]string{"rigger.yaml:1:4: a: YAML anchors and aliases are not allowed", "rigger.yaml:4:5: d[0]: YAML anchors and aliases are not allowed"}, true},
		{"merge key", "server:\n  <<: {listen: 127.0.0.1:1}\n", nil,
			[]string{"rigger.yaml:2:3: server: YAML merge keys are not allowed"}, false},
		{"duplicate key", "server:\n  listen: 127.0.0.1:1\n  listen: 127.0.0.1:2\n", nil,
			[]string{"rigger.yaml:3:3: server.listen: duplicate key (first set on line 2)"}, false},
		{"duplicate section", "server: {}\ncatalog: {}\nserver: {}\n", nil,
			[]string{"rigger.yaml:3:1: server: duplicate key (first set on line 1)"}, false},
		{"duplicate key in a list item", "catalog:\n  locations:\n    - type: file\n      type: url\n", nil,
			[]string{"rigger.yaml:4:7: catalog.locations[0].type: duplicate key (first set on line 3)"}, false},
		{"two documents", "server: {}\n---\nserver: {}\n", nil,
			[]string{"rigger.yaml:2:1: only one YAML document is allowed (remove the --- separator and merge the documents)"}, false},
		{"second document after an empty one", "---\n---\nserver: {}\n", nil,
			[]string{"rigger.yaml:2:1: only one YAML document is allowed (remove the --- separator and merge the documents)"}, false},
		{"syntax error", "server:\n  listen: 127.0.0.1:1\n  - x\n", nil,
			[]string{"rigger.yaml:1: invalid YAML: did not find expected key"}, false}, // yaml.v3 names the line of the enclosing block
		{"syntax error in a later document", "server: {}\n---\n[x\n", nil,
			[]string{"rigger.yaml:2: invalid YAML: did not find expected ',' or ']'"}, false},
		{"nesting", "scaffolder:\n  templates:\n    - " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "\n", nil,
			[]string{"rigger.yaml:3:37: scaffolder.templates[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper than 32 levels"}, false},
		{"non-string key", "server:\n  ? [a]\n  : b\n", nil,
			[]string{"rigger.yaml:2:5: server: mapping keys must be strings"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("rigger.yaml", []byte(c.yaml), env(c.env))
			if err == nil {
				t.Fatalf("want an error, got none (config %+v)", cfg)
			}
			for _, w := range c.want {
				if !hasLine(err, w) {
					t.Errorf("error\n%s\nhas no line\n%s", err, w)
				}
			}
			if got := len(Problems(err)); got != len(c.want) && !c.more {
				t.Errorf("%d problems, want %d:\n%s", got, len(c.want), err)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error reveals a substituted value: %s", err)
			}
		})
	}
}

func TestSubstitution(t *testing.T) {
	e := env(map[string]string{
		"PORT": " 9100\n", "PW": "p@ss:w/rd", "ON": "true", "NAME": "rigger", "TTL": "90m",
		"FORMAT": "text", "EMPTY": "", "NESTED": "${PW}",
	})
	cfg, err := Parse("rigger.yaml", []byte(`
server:
  listen: 127.0.0.1:${PORT}
  baseUrl: "https://${NAME}.example.com/$${NOT_A_VAR}/$$/cost$5"
  logLevel: ${LEVEL:-warn}
  logFormat: ${FORMAT:-json}
  dataDir: ${EMPTY:-/var/lib/rigger}
database:
  driver: postgres
  url: postgres://u:${PW}@h/db
  maxOpenConns: ${PORT}
auth:
  allowGuest: ${ON}
  session:
    ttl: ${TTL}
temporal:
  namespace: "${PORT}"
  uiUrl: ${EMPTY}
  embedded:
    historyShards: "${PORT}"
  taskQueues: ["${NESTED}", 'q-${NAME}']
`), e)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"inside a string, value trimmed", cfg.Server.Listen, "127.0.0.1:9100"},
		{"$${ escape", cfg.Server.BaseURL, "https://rigger.example.com/${NOT_A_VAR}/$$/cost$5"},
		{"default when unset", cfg.Server.LogLevel, "warn"},
		{"set value wins over default", cfg.Server.LogFormat, "text"},
		{"default when empty", cfg.Server.DataDir, "/var/lib/rigger"},
		{"into a secret", cfg.Database.URL.Reveal(), "postgres://u:p@ss:w/rd@h/db"},
		{"into an int", cfg.Database.MaxOpenConns, 9100},
		{"quoted into an int", cfg.Temporal.Embedded.HistoryShards, 9100},
		{"into a bool", cfg.Auth.AllowGuest, true},
		{"into a duration", cfg.Auth.Session.TTL, 90 * time.Minute},
		{"quoted into a string", cfg.Temporal.Namespace, "9100"},
		{"set but empty", cfg.Temporal.UIURL, ""},
		{"values are not scanned again", cfg.Temporal.TaskQueues, []string{"${PW}", "q-rigger"}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	lookup := env(map[string]string{"A": "1", "B": "two", "E": ""})
	cases := []struct {
		in, want string
		problems int
	}{
		{"plain", "plain", 0},
		{"${A}", "1", 0},
		{"x${A}y${B}z", "x1ytwoz", 0},
		{"$${A}", "${A}", 0},
		{"$$${A}", "$${A}", 0},
		{"$A and $", "$A and $", 0},
		{"${E}", "", 0},
		{"${E:-d}", "d", 0},
		{"${MISSING:-d:-e}", "d:-e", 0},
		{"${MISSING:-}", "", 0},
		{"${MISSING}", "", 1},
		{"${MISSING}${ALSO}", "", 2},
		{"${}", "", 1},
		{"${A B}", "", 1},
		{"${{ parameters.name }}", "", 1},
		{"${A", "${A", 1},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, _, problems := substitute(c.in, lookup)
			if len(problems) != c.problems {
				t.Fatalf("problems %q, want %d", problems, c.problems)
			}
			if c.problems == 0 && got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Default()) {
		t.Errorf("Load(\"\") differs from Default()")
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"server.listen", cfg.Server.Listen, "127.0.0.1:7007"},
		{"server.baseUrl", cfg.Server.BaseURL, "http://127.0.0.1:7007"},
		{"server.dataDir", cfg.Server.DataDir, "./.rigger"},
		{"server.logLevel", cfg.Server.LogLevel, "info"},
		{"server.logFormat", cfg.Server.LogFormat, "json"},
		{"temporal.address", cfg.Temporal.Address, ""},
		{"temporal.namespace", cfg.Temporal.Namespace, "default"},
		{"temporal.compression", cfg.Temporal.Compression, "auto"},
		{"temporal.embedded", cfg.Temporal.Embedded, Embedded{FrontendListen: "127.0.0.1:7233", UIListen: "127.0.0.1:8233", HistoryShards: 1}},
		{"temporal.taskQueues", cfg.Temporal.TaskQueues, []string{"rigger-default", "rigger-github", "rigger-aws", "rigger-terraform"}},
		{"database", cfg.Database, Database{Driver: "sqlite", MaxOpenConns: 10}},
		{"auth.allowGuest", cfg.Auth.AllowGuest, false},
		{"auth.session.ttl", cfg.Auth.Session.TTL, 12 * time.Hour},
		{"catalog.orphanStrategy", cfg.Catalog.OrphanStrategy, "delete"},
		{"catalog.refreshInterval", cfg.Catalog.RefreshInterval, 5 * time.Minute},
		{"catalog.limits", cfg.Catalog.Limits, Limits{DocumentBytes: 4 << 20, EntityBytes: 1 << 20, MaxDepth: 64, EntitiesPerLocation: 100000, MaxStringLength: 65536}},
		{"scaffolder.allowPrivateNetworks", cfg.Scaffolder.AllowPrivateNetworks, false},
		{"scaffolder.defaultStepTimeout", cfg.Scaffolder.DefaultStepTimeout, 10 * time.Minute},
		{"scaffolder.limits.maxEachItems", cfg.Scaffolder.Limits.MaxEachItems, 10000},
		{"scaffolder.limits.renderTimeout", cfg.Scaffolder.Limits.RenderTimeout, time.Second},
		{"scaffolder.limits.maxIterations", cfg.Scaffolder.Limits.MaxIterations, 100_000},
		{"scaffolder.limits.maxOutputBytes", cfg.Scaffolder.Limits.MaxOutputBytes, 1 << 20},
		{"scaffolder.templates", cfg.Scaffolder.Templates, []string{"examples/templates/*/template.yaml"}},
		{"catalog.examples", cfg.Catalog.Examples, []string{"examples/catalog/*.yaml"}},
		{"integrations.aws.sessionDuration", cfg.Integrations.AWS.SessionDuration, 15 * time.Minute},
		{"integrations.terraform.binary", cfg.Integrations.Terraform.Binary, "terraform"},
		{"permission.enabled", cfg.Permission.Enabled, true},
		{"audit", cfg.Audit, Audit{Enabled: true, Sink: "stdout", Alerts: DefaultAlerts()}},
		{"SQLitePath", cfg.SQLitePath(), filepath.Join(".rigger", "rigger.db")},
		{"WorkspaceDir", cfg.WorkspaceDir(), filepath.Join(".rigger", "workspaces")},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
	t.Run("each call is independent", func(t *testing.T) {
		a := Default()
		a.Temporal.TaskQueues[0] = "changed"
		if Default().Temporal.TaskQueues[0] != "rigger-default" {
			t.Error("Default shares its lists between calls")
		}
	})
}

func TestOverlay(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string
		check func(*Config) bool
	}{
		{"one key keeps the other defaults", "server:\n  listen: 127.0.0.1:9000\n", func(c *Config) bool {
			return c.Server.Listen == "127.0.0.1:9000" && c.Server.DataDir == "./.rigger" && c.Catalog.Limits.EntityBytes == 1<<20
		}},
		{"a partial mapping keeps its other defaults", "catalog:\n  limits:\n    maxDepth: 10\n", func(c *Config) bool {
			return c.Catalog.Limits.MaxDepth == 10 && c.Catalog.Limits.EntityBytes == 1<<20
		}},
		{"null keeps the default", "server:\n  listen:\ntemporal:\n  taskQueues: ~\n  embedded: null\n", func(c *Config) bool {
			return c.Server.Listen == "127.0.0.1:7007" && reflect.DeepEqual(c.Temporal.TaskQueues, []string{"rigger-default", "rigger-github", "rigger-aws", "rigger-terraform"}) && c.Temporal.Embedded.HistoryShards == 1
		}},
		{"a list replaces the default", "temporal:\n  taskQueues: [a, b]\n", func(c *Config) bool {
			return reflect.DeepEqual(c.Temporal.TaskQueues, []string{"a", "b"})
		}},
		{"an empty list replaces the default", "scaffolder:\n  templates: []\n", func(c *Config) bool {
			return c.Scaffolder.Templates != nil && len(c.Scaffolder.Templates) == 0
		}},
		{"quoted empty string clears a default", "temporal:\n  embedded:\n    uiListen: \"\"\n", func(c *Config) bool {
			return c.Temporal.Embedded.UIListen == ""
		}},
		{"github list items default their host", "integrations:\n  github:\n    - token: t\n    - host: ghe.example.com\n", func(c *Config) bool {
			g := c.Integrations.GitHub
			return len(g) == 2 && g[0].Host == "github.com" && g[1].Host == "ghe.example.com" &&
				g[0].APIURL() == "https://api.github.com" && g[1].APIURL() == "https://ghe.example.com/api/v3"
		}},
		{"string fields keep YAML look-alikes as written", "temporal:\n  namespace: 0123\n  taskQueues: [yes, 0x1f, 2001-12-14, 1e3, ~x]\n", func(c *Config) bool {
			return c.Temporal.Namespace == "0123" && reflect.DeepEqual(c.Temporal.TaskQueues, []string{"yes", "0x1f", "2001-12-14", "1e3", "~x"})
		}},
		{"ints: grouping and leading zeros", "catalog:\n  limits:\n    documentBytes: 4_194_304\n    maxDepth: 010\n    entityBytes: +1024\n", func(c *Config) bool {
			return c.Catalog.Limits.DocumentBytes == 4194304 && c.Catalog.Limits.MaxDepth == 10 && c.Catalog.Limits.EntityBytes == 1024
		}},
		{"standard tags are accepted", "temporal:\n  namespace: !!str 5\n  embedded:\n    historyShards: !!int 4\n", func(c *Config) bool {
			return c.Temporal.Namespace == "5" && c.Temporal.Embedded.HistoryShards == 4
		}},
		{"secret fields are filled", "auth:\n  serviceTokens:\n    - name: ci\n      token: abc\n", func(c *Config) bool {
			return c.Auth.ServiceTokens[0].Token.Reveal() == "abc"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("rigger.yaml", []byte(c.yaml), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(cfg) {
				t.Errorf("unexpected result: %+v", cfg)
			}
		})
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	for _, in := range []string{"", "\n", "# only a comment\n", "---\n", "~\n", "null\n", "---\n...\n", "server: {}\n---\n"} {
		t.Run(in, func(t *testing.T) {
			cfg, err := Parse("rigger.yaml", []byte(in), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg, Default()) {
				t.Errorf("got %+v, want the defaults", cfg)
			}
		})
	}
}

func TestFullExample(t *testing.T) {
	cfg := loadFull(t)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("testdata/full.yaml does not validate:\n%v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"default inside a reference", cfg.Server.LogLevel, "info"},
		{"secret", cfg.Temporal.APIKey.Reveal(), secretValue + "-temporal"},
		{"secret inside a URL", cfg.Database.URL.Reveal(), "postgres://rigger:" + secretValue + "-pg@db.example.internal:5432/rigger?sslmode=verify-full"},
		{"task queues", len(cfg.Temporal.TaskQueues), 1},
		{"location path", cfg.Catalog.Locations[1].Path, "all.yaml"},
		{"location rules", cfg.Catalog.Locations[0].Rules[0].Allow, []string{"User", "Group"}},
		{"rule pattern", cfg.Catalog.Rules[1].Locations[0].Pattern, "https://github.com/example/templates/*"},
		{"grouped int", cfg.Catalog.Limits.DocumentBytes, 4 << 20},
		{"duration", cfg.Catalog.RefreshInterval, 10 * time.Minute},
		{"allowed hosts", cfg.Scaffolder.AllowedHosts, []string{"github.com", "*.githubusercontent.com"}},
		{"app id", cfg.Integrations.GitHub[0].Apps[0].AppID, int64(123456)},
		{"second github host", cfg.Integrations.GitHub[1].Token.Reveal(), secretValue + "-ghe"},
		{"aws secret", cfg.Integrations.AWS.SecretAccessKey.Reveal(), secretValue + "-aws"},
		{"admins", cfg.Permission.Admins, []string{"group:default/platform", "user:default/alice"}},
		{"audit path", cfg.Audit.Path, "/var/log/rigger/audit.jsonl"},
		{"temporal compression", cfg.Temporal.Compression, "gzip"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
	t.Run("every section is set", func(t *testing.T) {
		def := reflect.ValueOf(Default()).Elem()
		got := reflect.ValueOf(cfg).Elem()
		for i := range def.NumField() {
			if reflect.DeepEqual(def.Field(i).Interface(), got.Field(i).Interface()) {
				t.Errorf("section %s is left at its defaults", def.Type().Field(i).Name)
			}
		}
	})
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.yaml"), nil)
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("want a not-exist error, got %v", err)
		}
	})
	t.Run("file too large", func(t *testing.T) {
		path := filepath.Join(dir, "big.yaml")
		if err := os.WriteFile(path, bytes.Repeat([]byte("# padding\n"), MaxFileBytes/10+1), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, nil)
		if want := path + ": the file is larger than the limit of 1048576 bytes"; err == nil || err.Error() != want {
			t.Fatalf("got %v, want %s", err, want)
		}
	})
	t.Run("file at the limit", func(t *testing.T) {
		path := filepath.Join(dir, "limit.yaml")
		data := append([]byte("server:\n  listen: 127.0.0.1:9\n"), bytes.Repeat([]byte("#"), MaxFileBytes-29)...)
		if err := os.WriteFile(path, data[:MaxFileBytes], 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, nil)
		if err != nil || cfg.Server.Listen != "127.0.0.1:9" {
			t.Fatalf("got %v, %v", cfg, err)
		}
	})
	t.Run("file name in messages", func(t *testing.T) {
		path := filepath.Join(dir, "typo.yaml")
		if err := os.WriteFile(path, []byte("servr: {}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, nil)
		if !hasLine(err, path+`:1:1: servr: unknown key (did you mean "server"?)`) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestProblemsAreCapped(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		b.WriteString("k")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a'+i%26)) + string(rune('a'+i/26)) + ": 1\n")
	}
	_, err := Parse("rigger.yaml", []byte(b.String()), nil)
	if got := len(Problems(err)); got != maxProblems {
		t.Fatalf("%d problems, want %d", got, maxProblems)
	}
	if !strings.HasSuffix(err.Error(), "... and 150 more problems") {
		t.Errorf("no summary line at the end:\n%s", err)
	}
}

func TestProblemFields(t *testing.T) {
	_, err := Parse("r.yaml", []byte("server:\n  lisen: x\n"), nil)
	ps := Problems(err)
	want := &Problem{File: "r.yaml", Line: 2, Column: 3, Path: "server.lisen", Message: `unknown key (did you mean "listen"?)`}
	if len(ps) != 1 || !reflect.DeepEqual(ps[0], want) {
		t.Fatalf("got %+v, want %+v", ps, want)
	}
}
