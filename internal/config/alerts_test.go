package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestParseAlerts: the audit.alerts section decodes with its defaults
// kept where the file says nothing, the webhook URL and header values are
// secrets read from the environment, and it validates.
func TestParseAlerts(t *testing.T) {
	yml := `
audit:
  alerts:
    webhookHosts: [hooks.example.com]
    outsideHours:
      enabled: true
      timezone: Europe/Berlin
      from: "07:30"
    catalogReads:
      enabled: true
      threshold: 200
      webhook:
        url: ${HOOK_URL}
        headers:
          - {name: Authorization, value: "Bearer ${HOOK_TOKEN}"}
    catalogMutations: {enabled: true}
`
	cfg, err := Parse("rigger.yaml", []byte(yml), env(map[string]string{
		"HOOK_URL": "https://hooks.example.com/T0/" + secretValue, "HOOK_TOKEN": secretValue}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := cfg.Audit.Alerts
	if !a.OutsideHours.Enabled || a.OutsideHours.From != "07:30" || a.OutsideHours.To != "20:00" || len(a.OutsideHours.Days) != 5 {
		t.Fatalf("outsideHours: %+v", a.OutsideHours)
	}
	loc, days, from, to, problems := a.OutsideHours.Hours()
	if loc.String() != "Europe/Berlin" || days[0] != time.Monday || from != 7*time.Hour+30*time.Minute || to != 20*time.Hour || problems != nil {
		t.Fatalf("hours: %v %v %v %v %v", loc, days, from, to, problems)
	}
	r := a.CatalogReads
	if r.Threshold != 200 || r.Window != 5*time.Minute || r.Name != "catalogReads" ||
		r.Webhook.URL.Reveal() != "https://hooks.example.com/T0/"+secretValue || r.Webhook.Headers[0].Value.Reveal() != "Bearer "+secretValue {
		t.Fatalf("catalogReads: %+v", r)
	}
	if m := a.CatalogMutations; m.Allowed[0] != "group:default/platform-team" || a.SignInFailures.Enabled {
		t.Fatalf("defaults: %+v %+v", m, a.SignInFailures)
	}
	if s := fmt.Sprintf("%+v %#v", cfg.Audit, cfg.Audit); strings.Contains(s, secretValue) {
		t.Fatalf("printing the audit config shows a secret: %s", s)
	}
}

func TestValidateAlerts(t *testing.T) {
	hook := func(url string) AlertWebhook { return AlertWebhook{URL: Secret(url)} }
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string // the one problem's line; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"every rule on", func(c *Config) {
			a := &c.Audit.Alerts
			a.OutsideHours.Enabled, a.CatalogReads.Enabled, a.CatalogMutations.Enabled, a.SignInFailures.Enabled = true, true, true, true
		}, ""},
		{"night shift", func(c *Config) {
			h := &c.Audit.Alerts.OutsideHours
			h.Enabled, h.From, h.To = true, "22:00", "06:00"
		}, ""},
		{"unknown zone", func(c *Config) {
			h := &c.Audit.Alerts.OutsideHours
			h.Enabled, h.Timezone = true, "Mars/Olympus"
		}, `audit.alerts.outsideHours.timezone: "Mars/Olympus" is not a known time zone (an IANA name such as Europe/Berlin or UTC)`},
		{"bad day", func(c *Config) {
			h := &c.Audit.Alerts.OutsideHours
			h.Enabled, h.Days = true, []string{"mon", "funday"}
		}, `audit.alerts.outsideHours.days[1]: "funday" is not a day (mon, tue, wed, thu, fri, sat or sun)`},
		{"bad hour", func(c *Config) {
			h := &c.Audit.Alerts.OutsideHours
			h.Enabled, h.To = true, "24:00"
		}, `audit.alerts.outsideHours.to: "24:00" is not a time of day HH:MM (like 20:00)`},
		{"empty hours", func(c *Config) {
			h := &c.Audit.Alerts.OutsideHours
			h.Enabled, h.From, h.To = true, "09:00", "09:00"
		}, `audit.alerts.outsideHours.to: equals from: the working hours would be empty`},
		{"a disabled rule is not checked", func(c *Config) { c.Audit.Alerts.OutsideHours.Timezone = "Mars/Olympus" }, ""},
		{"zero threshold", func(c *Config) {
			r := &c.Audit.Alerts.CatalogReads
			r.Enabled, r.Threshold = true, 0
		}, "audit.alerts.catalogReads.threshold: must be at least 1"},
		{"no window", func(c *Config) {
			r := &c.Audit.Alerts.CatalogReads
			r.Enabled, r.Window = true, 0
		}, "audit.alerts.catalogReads.window: must be a positive duration (like 90s or 5m)"},
		{"nobody allowed", func(c *Config) {
			m := &c.Audit.Alerts.CatalogMutations
			m.Enabled, m.Allowed = true, nil
		}, "audit.alerts.catalogMutations.allowed: lists nobody: every catalog change would raise an alert (list the platform team, like group:default/platform-team)"},
		{"allowed not a ref", func(c *Config) {
			m := &c.Audit.Alerts.CatalogMutations
			m.Enabled, m.Allowed = true, []string{"platform-team"}
		}, `audit.alerts.catalogMutations.allowed[0]: "platform-team" is not a user or group entity ref (like group:default/platform-team)`},
		{"sign-in limits off", func(c *Config) {
			s := &c.Audit.Alerts.SignInFailures
			s.Enabled, s.PerIP, s.Total = true, 0, 0
		}, "audit.alerts.signInFailures: perIP and total must be 0 (off) or more, and one of them more than 0"},
		{"same name twice", func(c *Config) {
			a := &c.Audit.Alerts
			a.CatalogReads.Enabled, a.SignInFailures.Enabled, a.SignInFailures.Name = true, true, "catalogReads"
		}, `audit.alerts.signInFailures.name: "catalogReads" is also the name of audit.alerts.catalogReads`},
		{"webhook host allowed", func(c *Config) {
			c.Audit.Alerts.WebhookHosts = []string{"*.example.com"}
			c.Audit.Alerts.CatalogReads.Webhook = hook("https://hooks.example.com/x")
		}, ""},
		{"webhook host not allowed", func(c *Config) {
			c.Audit.Alerts.WebhookHosts = []string{"hooks.example.com"}
			c.Audit.Alerts.CatalogReads.Webhook = hook("https://evil.example.net/" + secretValue)
		}, `audit.alerts.catalogReads.webhook.url: its host "evil.example.net" is not in audit.alerts.webhookHosts [hooks.example.com]`},
		{"webhook without hosts", func(c *Config) {
			c.Audit.Alerts.SignInFailures.Webhook = hook("https://hooks.example.com/x")
		}, `audit.alerts.signInFailures.webhook.url: its host "hooks.example.com" is not in audit.alerts.webhookHosts []`},
		{"webhook not http", func(c *Config) {
			c.Audit.Alerts.CatalogReads.Webhook = hook("file:///etc/passwd")
		}, "audit.alerts.catalogReads.webhook.url: is not an absolute http or https URL"},
		{"webhook credentials", func(c *Config) {
			c.Audit.Alerts.WebhookHosts = []string{"hooks.example.com"}
			c.Audit.Alerts.CatalogReads.Webhook = hook("https://u:" + secretValue + "@hooks.example.com/")
		}, "audit.alerts.catalogReads.webhook.url: must not hold credentials (user:password@); send them in a header"},
		{"webhook header name", func(c *Config) {
			c.Audit.Alerts.WebhookHosts = []string{"hooks.example.com"}
			c.Audit.Alerts.CatalogReads.Webhook = AlertWebhook{URL: "https://hooks.example.com/", Headers: []AlertHeader{{Name: "X Token", Value: "v"}}}
		}, `audit.alerts.catalogReads.webhook.headers[0].name: "X Token" is not a header name (letters, digits and -)`},
		{"headers without url", func(c *Config) {
			c.Audit.Alerts.CatalogReads.Webhook = AlertWebhook{Headers: []AlertHeader{{Name: "X-Token", Value: "v"}}}
		}, "audit.alerts.catalogReads.webhook.headers: only used with a url"},
		{"webhook network", func(c *Config) { c.Audit.Alerts.WebhookNetworks = []string{"10.0.0.0/8", "10.1.2.3"} },
			`audit.alerts.webhookNetworks[1]: "10.1.2.3" is not a CIDR (like 10.0.0.0/8)`},
		{"webhook timeout", func(c *Config) { c.Audit.Alerts.WebhookTimeout = 0 },
			"audit.alerts.webhookTimeout: must be a positive duration (like 90s or 5m)"},
		{"max tracked", func(c *Config) { c.Audit.Alerts.MaxTracked = 0 }, "audit.alerts.maxTracked: must be at least 1"},
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
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("the error shows the webhook's secret: %v", err)
			}
		})
	}
}
