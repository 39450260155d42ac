package mcpserver

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRedactedArguments: secret names at any depth, the template
// parameters the values mask hides (at any depth) and URLs' credentials
// and queries never reach an audit event; the rest is kept as given.
func TestRedactedArguments(t *testing.T) {
	raw := json.RawMessage(`{"ref":"template:default/x","values":{"name":"svc","db":{"password2":"hunter2","host":"h"},"nested":{"token":"ghp_1","keep":"k"}},
		"secrets":{"a":"s3cr"},"list":[{"apiKey":"sk-1"}],"target":"https://bob:pa55@git.example/x.yaml?private_token=glpat-9"}`)
	// The mask a template with db.password2 secret gives.
	mask := func(v map[string]any) map[string]any {
		db := v["db"].(map[string]any)
		out := map[string]any{}
		for k, x := range v {
			out[k] = x
		}
		out["db"] = map[string]any{"host": db["host"], "password2": redacted}
		return out
	}
	got, hidden := redactedArguments(raw, mask)
	for _, leaked := range []string{"hunter2", "ghp_1", "s3cr", "sk-1", "pa55", "glpat-9"} {
		if strings.Contains(got, leaked) {
			t.Errorf("%q leaked: %s", leaked, got)
		}
		if reason := redactText("refused: "+leaked+" is wrong", hidden); strings.Contains(reason, leaked) {
			t.Errorf("%q leaked into the reason: %s", leaked, reason)
		}
	}
	for _, kept := range []string{`"name":"svc"`, `"keep":"k"`, `"host":"h"`, `"ref":"template:default/x"`, `"target":"https://git.example/x.yaml"`} {
		if !strings.Contains(got, kept) {
			t.Errorf("%s lost: %s", kept, got)
		}
	}
	if got, _ := redactedArguments(json.RawMessage(`not json`), nil); got != "(not JSON)" {
		t.Errorf("malformed arguments: %s", got)
	}
	// A URL the arguments did not hold is cleaned in the reason too.
	if r := redactText(`fetch "https://u:secretpw@h.example/a?sig=abc123" failed`, nil); strings.Contains(r, "secretpw") || strings.Contains(r, "abc123") || !strings.Contains(r, "https://h.example/a") {
		t.Errorf("reason: %s", r)
	}
}
