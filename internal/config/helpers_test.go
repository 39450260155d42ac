package config

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// secretValue is recognisable in any output that leaks it. Every secret in
// fullEnv starts with it.
const secretValue = "s3cr3t-VALUE-that-must-never-print-0123456789"

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// fullEnv is the environment testdata/full.yaml needs.
func fullEnv() func(string) (string, bool) {
	return env(map[string]string{
		"TEMPORAL_API_KEY":           secretValue + "-temporal",
		"PGPASSWORD":                 secretValue + "-pg",
		"GITHUB_OAUTH_CLIENT_SECRET": secretValue + "-oauth",
		"OIDC_CLIENT_SECRET":         secretValue + "-oidc",
		"SESSION_SECRET":             secretValue + "-session",
		"CI_TOKEN":                   secretValue + "-ci",
		"GITHUB_APP_PRIVATE_KEY":     "-----BEGIN RSA PRIVATE KEY-----\n" + secretValue + "-key\n-----END RSA PRIVATE KEY-----\n",
		"GITHUB_WEBHOOK_SECRET":      secretValue + "-webhook",
		"GITHUB_APP_CLIENT_SECRET":   secretValue + "-app",
		"GHE_TOKEN":                  secretValue + "-ghe",
		"GHE_WEBHOOK_SECRET":         secretValue + "-ghe-webhook",
		"AWS_SECRET_ACCESS_KEY":      secretValue + "-aws",
		"ALERT_WEBHOOK_URL":          "https://hooks.example.com/" + secretValue + "-alert",
		"ALERT_WEBHOOK_TOKEN":        secretValue + "-alert-token",
		"RIGGER_SECRET_KEY":          base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%-32.32s", secretValue))),
		"RIGGER_RUN_SIGNING_KEY":     base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%-32.32s", "run-"+secretValue))),
	})
}

func loadFull(t *testing.T) *Config {
	t.Helper()
	cfg, err := Load("testdata/full.yaml", fullEnv())
	if err != nil {
		t.Fatalf("load testdata/full.yaml: %v", err)
	}
	return cfg
}

// hasLine reports whether one line of err's message is exactly want.
func hasLine(err error, want string) bool {
	if err == nil {
		return false
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		if l == want {
			return true
		}
	}
	return false
}
