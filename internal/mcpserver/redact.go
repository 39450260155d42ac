package mcpserver

import (
	"encoding/json"
	"slices"
	"strings"
)

// redacted replaces a secret in an audit event's arguments.
const redacted = "[redacted]"

// secretNames are argument keys whose values are always redacted.
var secretNames = []string{"secrets", "secret", "password", "token", "apikey", "api_key", "privatekey", "credentials"}

// redactedArguments is a tool's arguments as audit details: JSON with the
// values of secret keys (and of the template parameters in params, under
// values) replaced.
func redactedArguments(raw json.RawMessage, params []string) string {
	if len(raw) == 0 {
		return "{}"
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "(not JSON)"
	}
	if m, ok := v.(map[string]any); ok {
		if vals, ok := m["values"].(map[string]any); ok {
			for _, p := range params {
				if _, ok := vals[p]; ok {
					vals[p] = redacted
				}
			}
		}
	}
	b, _ := json.Marshal(redact(v))
	return string(b)
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if slices.Contains(secretNames, strings.ToLower(k)) {
				t[k] = redacted
				continue
			}
			t[k] = redact(x)
		}
	case []any:
		for i := range t {
			t[i] = redact(t[i])
		}
	}
	return v
}
