package config

import (
	"strings"
	"testing"
	"time"
)

// greetYAML declares one external action as rigger.yaml would.
const greetYAML = `scaffolder:
  externalActions:
    - id: acme:greet
      description: Greets.
      taskQueue: acme-plugins
      heartbeatTimeout: 30s
      retry: {maximumAttempts: 3, initialInterval: 1s, maximumInterval: 10s}
      dryRunSafe: true
      credentials: [github]
      inputSchema:
        type: object
        required: [name]
        properties:
          name: {type: string, minLength: 1}
      outputSchema:
        type: object
        properties:
          greeting: {type: string}
`

func TestExternalActionsParse(t *testing.T) {
	cfg, err := Parse("rigger.yaml", []byte(greetYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid external action: %v", err)
	}
	a := cfg.Scaffolder.ExternalActions[0]
	if a.ID != "acme:greet" || a.TaskQueue != "acme-plugins" || a.Timeout != DefaultExternalTimeout || a.HeartbeatTimeout != 30*time.Second ||
		a.Retry.MaximumAttempts != 3 || a.Retry.MaximumInterval != 10*time.Second || !a.DryRunSafe || a.Credentials[0] != "github" {
		t.Fatalf("decoded %+v", a)
	}
	in, err := a.InputSchema.JSON()
	if err != nil || !strings.Contains(string(in), `"minLength":1`) || !strings.Contains(string(in), `"required":["name"]`) {
		t.Fatalf("input schema as JSON: %s %v", in, err)
	}
	// rigger config check prints it back, and that parses again.
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse("printed", out, nil)
	if err != nil {
		t.Fatalf("printed config does not parse: %v\n%s", err, out)
	}
	if b, _ := again.Scaffolder.ExternalActions[0].OutputSchema.JSON(); !strings.Contains(string(b), "greeting") {
		t.Fatalf("printed output schema lost: %s", b)
	}
	// A schema must be a mapping.
	_, err = Parse("rigger.yaml", []byte(strings.Replace(greetYAML, "      outputSchema:\n", "      outputSchema: object\n      x:\n", 1)), nil)
	if !strings.Contains(err.Error(), "scaffolder.externalActions[0].outputSchema: expected a JSON Schema written as a mapping, got a string") {
		t.Fatalf("a string schema: %v", err)
	}
}

func TestExternalActionsValidate(t *testing.T) {
	valid := func() ExternalAction {
		return ExternalAction{
			ID: "acme:greet", TaskQueue: "acme-plugins", Timeout: time.Minute,
			InputSchema: JSONSchema{"type": "object"}, OutputSchema: JSONSchema{"type": "object"},
		}
	}
	cases := []struct {
		name   string
		mutate func(a *ExternalAction, c *Config)
		want   string
	}{
		{"valid", func(*ExternalAction, *Config) {}, ""},
		{"timeout unset takes the default", func(a *ExternalAction, _ *Config) { a.Timeout = 0 }, ""},
		{"no id", func(a *ExternalAction, _ *Config) { a.ID = "" }, "scaffolder.externalActions[0].id: is required (namespace:verb, like acme:greet)"},
		{"id without namespace", func(a *ExternalAction, _ *Config) { a.ID = "greet" },
			`scaffolder.externalActions[0].id: "greet" must look like namespace:verb in lower case (like acme:greet)`},
		{"id upper case", func(a *ExternalAction, _ *Config) { a.ID = "Acme:Greet" },
			`scaffolder.externalActions[0].id: "Acme:Greet" must look like namespace:verb in lower case (like acme:greet)`},
		{"id twice", func(_ *ExternalAction, c *Config) {
			b := c.Scaffolder.ExternalActions[0]
			b.TaskQueue = "other"
			c.Scaffolder.ExternalActions = append(c.Scaffolder.ExternalActions, b)
		}, `scaffolder.externalActions[1].id: "acme:greet" is also declared by scaffolder.externalActions[0]`},
		{"no queue", func(a *ExternalAction, _ *Config) { a.TaskQueue = "" },
			`scaffolder.externalActions[0].taskQueue: is required (action "acme:greet"): the queue the plugin worker polls`},
		{"rigger's queue", func(a *ExternalAction, _ *Config) { a.TaskQueue = "rigger-default" },
			`scaffolder.externalActions[0].taskQueue: "rigger-default" (action "acme:greet") is Rigger's own queue name (rigger-default, rigger-github, rigger-aws, rigger-terraform, any rigger-*): give the plugin a queue of its own`},
		{"queue with space", func(a *ExternalAction, _ *Config) { a.TaskQueue = "a b" },
			`scaffolder.externalActions[0].taskQueue: "a b" (action "acme:greet") must not contain white space`},
		{"no input schema", func(a *ExternalAction, _ *Config) { a.InputSchema = nil },
			`scaffolder.externalActions[0].inputSchema: is required (action "acme:greet"): a JSON Schema (draft-07), e.g. {type: object}`},
		{"no output schema", func(a *ExternalAction, _ *Config) { a.OutputSchema = nil },
			`scaffolder.externalActions[0].outputSchema: is required (action "acme:greet"): a JSON Schema (draft-07), e.g. {type: object}`},
		{"input schema does not compile", func(a *ExternalAction, _ *Config) { a.InputSchema = JSONSchema{"type": "objekt"} },
			`scaffolder.externalActions[0].inputSchema: (action "acme:greet") is not a valid JSON Schema: `},
		{"output schema with a remote ref", func(a *ExternalAction, _ *Config) { a.OutputSchema = JSONSchema{"$ref": "https://example.com/s.json"} },
			`scaffolder.externalActions[0].outputSchema: (action "acme:greet") is not a valid JSON Schema: `},
		{"timeout too short", func(a *ExternalAction, _ *Config) { a.Timeout = time.Millisecond },
			`scaffolder.externalActions[0].timeout: (action "acme:greet") must be between 1s and 24h0m0s, got 1ms`},
		{"timeout too long", func(a *ExternalAction, _ *Config) { a.Timeout = 48 * time.Hour },
			`scaffolder.externalActions[0].timeout: (action "acme:greet") must be between 1s and 24h0m0s, got 48h0m0s`},
		{"heartbeat above the timeout", func(a *ExternalAction, _ *Config) { a.HeartbeatTimeout = 2 * time.Minute },
			`scaffolder.externalActions[0].heartbeatTimeout: (action "acme:greet") must be between 1s and the timeout (1m0s), got 2m0s`},
		{"negative attempts", func(a *ExternalAction, _ *Config) { a.Retry.MaximumAttempts = -1 },
			`scaffolder.externalActions[0].retry.maximumAttempts: (action "acme:greet") must be between 0 (the default) and 100, got -1`},
		{"intervals upside down", func(a *ExternalAction, _ *Config) {
			a.Retry.InitialInterval, a.Retry.MaximumInterval = time.Minute, time.Second
		},
			`scaffolder.externalActions[0].retry: (action "acme:greet"): intervals must not be negative, and maximumInterval not below initialInterval`},
		{"unknown credential", func(a *ExternalAction, _ *Config) { a.Credentials = []string{"vault"} },
			`scaffolder.externalActions[0].credentials[0]: "vault" (action "acme:greet") is not an integration (github, aws)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Default()
			cfg.Scaffolder.ExternalActions = []ExternalAction{valid()}
			c.mutate(&cfg.Scaffolder.ExternalActions[0], cfg)
			err := cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("want no error, got\n%v", err)
				}
				return
			}
			found := false
			for _, p := range Problems(err) {
				if msg := p.Error(); msg == c.want || strings.HasSuffix(c.want, ": ") && strings.HasPrefix(msg, c.want) {
					found = true
				}
			}
			if !found {
				t.Fatalf("error\n%v\nhas no line\n%s", err, c.want)
			}
			if n := len(Problems(err)); n != 1 {
				t.Errorf("%d problems, want 1:\n%v", n, err)
			}
		})
	}
}
