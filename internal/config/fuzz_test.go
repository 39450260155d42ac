package config

import (
	"os"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "server:\n  listen: 127.0.0.1:1\n", "a: &a [*a]", "catalog:\n  locations:\n  - type: ${X}\n    target: ${Y:-t}\n",
		"[1, 2", "{", "x: $${Y}", "server: {}\n---\nserver: {}\n", "integrations:\n  github:\n    - apps:\n        - appId: ${X}\n",
		"database:\n  maxOpenConns: 1_0\n", "auth:\n  session:\n    ttl: ${X}\n", "server:\n  <<: {listen: x}\n",
	} {
		f.Add([]byte(s))
	}
	if raw, err := os.ReadFile("testdata/full.yaml"); err == nil {
		f.Add(raw)
	}
	lookup := env(map[string]string{"X": "1", "Y": "file"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data, lookup)
		if err != nil {
			if cfg != nil {
				t.Fatal("both a config and an error")
			}
			if len(Problems(err)) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			return
		}
		_ = cfg.Validate()
		out, err := cfg.Redacted()
		if err != nil {
			t.Fatalf("redact: %v", err)
		}
		if _, err := Parse("redacted.yaml", out, nil); err != nil {
			t.Fatalf("Redacted output does not parse: %v\n%s", err, out)
		}
	})
}
