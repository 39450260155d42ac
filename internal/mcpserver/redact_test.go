package mcpserver

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRedactedArguments: secret names at any depth, and the template
// parameters marked secret under values, never reach an audit event; the
// rest is kept as given.
func TestRedactedArguments(t *testing.T) {
	raw := json.RawMessage(`{"ref":"template:default/x","values":{"name":"svc","dbPassword":"hunter2","nested":{"token":"ghp_1","keep":"k"}},
		"secrets":{"a":"s3"},"list":[{"apiKey":"sk-1"}]}`)
	got := redactedArguments(raw, []string{"dbPassword"})
	for _, leaked := range []string{"hunter2", "ghp_1", "s3", "sk-1"} {
		if strings.Contains(got, leaked) {
			t.Errorf("%q leaked: %s", leaked, got)
		}
	}
	for _, kept := range []string{`"name":"svc"`, `"keep":"k"`, `"ref":"template:default/x"`} {
		if !strings.Contains(got, kept) {
			t.Errorf("%s lost: %s", kept, got)
		}
	}
	if got := redactedArguments(json.RawMessage(`not json`), nil); got != "(not JSON)" {
		t.Errorf("malformed arguments: %s", got)
	}
}
