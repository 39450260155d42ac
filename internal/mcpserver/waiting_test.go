package mcpserver

import (
	"strings"
	"testing"
)

// TestWaitingForNamesWhoDecides: the gate's message does not promise the
// creator the decision; it names the permission that gives it.
func TestWaitingForNamesWhoDecides(t *testing.T) {
	got := waitingFor("user:default/alice")
	for _, want := range []string{"waiting for approval by user:default/alice if the policy lets them", "scaffolder.task.approve", "not through MCP"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}
