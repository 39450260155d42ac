package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSecretFormatting(t *testing.T) {
	s := Secret(secretValue)
	yml, err := yaml.Marshal(map[string]Secret{"k": s})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	text, err := s.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, got, want string }{
		{"String", s.String(), "[redacted]"},
		{"GoString", s.GoString(), `config.Secret("[redacted]")`},
		{"%s", fmt.Sprintf("%s", s), "[redacted]"},
		{"%v", fmt.Sprintf("%v", s), "[redacted]"},
		{"%+v", fmt.Sprintf("%+v", s), "[redacted]"},
		{"%#v", fmt.Sprintf("%#v", s), `config.Secret("[redacted]")`},
		{"%q", fmt.Sprintf("%q", s), `"[redacted]"`},
		{"%x", fmt.Sprintf("%x", s), "[redacted]"},
		{"%X", fmt.Sprintf("%X", s), "[redacted]"},
		{"%d", fmt.Sprintf("%d", s), "[redacted]"},
		{"%10s", fmt.Sprintf("%10s", s), "[redacted]"},
		{"Sprint", fmt.Sprint(s), "[redacted]"},
		{"Sprint of a slice", fmt.Sprint([]Secret{s, ""}), "[[redacted] ]"},
		{"Sprintf of a map", fmt.Sprintf("%v", map[string]Secret{"k": s}), "map[k:[redacted]]"},
		{"LogValue", s.LogValue().String(), "[redacted]"},
		{"JSON", string(js), `"[redacted]"`},
		{"YAML", string(yml), "k: '[redacted]'\n"},
		{"text", string(text), "[redacted]"},
		{"Reveal", s.Reveal(), secretValue},
		{"empty stays empty", fmt.Sprintf("%v|%s|%q", Secret(""), Secret(""), Secret("")), `||""`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %q, want %q", c.got, c.want)
			}
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	cfg := loadFull(t)
	red, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var jsonLog, textLog bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&jsonLog, nil), slog.NewTextHandler(&textLog, nil)} {
		slog.New(h).Info("loaded", "config", cfg, "value", *cfg, "temporal", cfg.Temporal,
			"apiKey", cfg.Temporal.APIKey, "apps", cfg.Integrations.GitHub[0].Apps,
			slog.Group("auth", "session", cfg.Auth.Session, "secret", cfg.Auth.Session.Secret))
	}
	outputs := []struct{ name, out string }{
		{"Redacted", string(red)},
		{"%v", fmt.Sprintf("%v", cfg)},
		{"%+v", fmt.Sprintf("%+v", cfg)},
		{"%#v", fmt.Sprintf("%#v", cfg)},
		{"%v of the value", fmt.Sprintf("%v", *cfg)},
		{"Sprint", fmt.Sprint(cfg.Integrations, cfg.Auth, cfg.Database)},
		{"json", string(js)},
		{"slog json", jsonLog.String()},
		{"slog text", textLog.String()},
	}
	for _, o := range outputs {
		t.Run(o.name, func(t *testing.T) {
			if strings.Contains(o.out, secretValue) || strings.Contains(o.out, fmt.Sprintf("%x", secretValue)) {
				t.Errorf("output reveals a secret:\n%s", o.out)
			}
			if !strings.Contains(o.out, RedactedText) {
				t.Errorf("output does not show %s:\n%s", RedactedText, o.out)
			}
		})
	}
	t.Run("every secret is redacted", func(t *testing.T) {
		n := 0
		walkSecrets(reflect.ValueOf(cfg).Elem(), "", func(p string, s Secret) {
			if s != "" {
				n++
			}
		})
		if got := strings.Count(string(red), RedactedText); got != n || n != 16 {
			t.Errorf("%d secrets set, %d redacted in the output; want 16 of each", n, got)
		}
	})
	t.Run("non-secret values stay", func(t *testing.T) {
		for _, want := range []string{"listen: 0.0.0.0:7007", "refreshInterval: 10m0s", "accessKeyId: AKIAIOSFODNN7EXAMPLE", "appId: 123456"} {
			if !strings.Contains(string(red), want) {
				t.Errorf("Redacted lost %q:\n%s", want, red)
			}
		}
	})
}

func TestRedactedParsesBack(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  *Config
	}{{"defaults", Default()}, {"full example", loadFull(t)}} {
		t.Run(c.name, func(t *testing.T) {
			first, err := c.cfg.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse("redacted.yaml", first, nil)
			if err != nil {
				t.Fatalf("Redacted output does not parse: %v\n%s", err, first)
			}
			second, err := back.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Errorf("round trip changed the config:\n%s\n---\n%s", first, second)
			}
		})
	}
	t.Run("the defaults round trip exactly", func(t *testing.T) {
		out, _ := Default().Redacted()
		back, err := Parse("redacted.yaml", out, nil)
		if err != nil || back.Validate() != nil {
			t.Fatalf("%v / %v", err, back.Validate())
		}
	})
}

// TestSecretFieldsAreSecrets guards against a new credential field added as a
// plain string.
func TestSecretFieldsAreSecrets(t *testing.T) {
	looksSecret := regexp.MustCompile(`(?i)(secret|token|password|privatekey|apikey|^url$)`)
	var walk func(t reflect.Type, p string)
	found := 0
	walk = func(typ reflect.Type, p string) {
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if f.Type.Kind() == reflect.String && looksSecret.MatchString(name) {
					found++
					if f.Type != reflect.TypeFor[Secret]() {
						t.Errorf("%s is a %s, not a Secret", join(p, name), f.Type)
					}
				}
				walk(f.Type, join(p, name))
			}
		case reflect.Slice:
			walk(typ.Elem(), p+"[]")
		}
	}
	walk(reflect.TypeFor[Config](), "")
	if found < 11 {
		t.Errorf("found %d secret-looking fields; the pattern no longer matches the config", found)
	}
}

// TestRedactedHidesURLCredentials: a URL's user information and query
// values can be credentials even outside Secret fields (a location target
// with ?token=…); the rendered config hides them and keeps the rest.
func TestRedactedHidesURLCredentials(t *testing.T) {
	cfg := Default()
	cfg.Catalog.Locations = []Location{
		{Type: "url", Target: "https://git.example.com/org/repo/catalog-info.yaml?ref=main&token=ghp_TOPSECRETVALUE"},
		{Type: "url", Target: "https://deploy:hunter2@git.example.com/all.yaml"},
		{Type: "file", Target: "./catalog/what?.yaml"},
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"ghp_TOPSECRETVALUE", "hunter2", "deploy:", "ref=main"} {
		if strings.Contains(string(out), leak) {
			t.Errorf("Redacted shows %q:\n%s", leak, out)
		}
	}
	for _, keep := range []string{"https://git.example.com/org/repo/catalog-info.yaml?", "token=", "@git.example.com/all.yaml", "./catalog/what?.yaml"} {
		if !strings.Contains(string(out), keep) {
			t.Errorf("Redacted lost %q:\n%s", keep, out)
		}
	}
	if _, err := Parse("redacted.yaml", out, nil); err != nil {
		t.Errorf("the redacted config does not parse back: %v", err)
	}
}
