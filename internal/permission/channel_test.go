package permission

import (
	"strings"
	"testing"
)

// TestContextChannel: context.channel is "mcp" for the agents' endpoint and
// "api" otherwise, so a forbid on it changes only MCP's decisions; any
// other context attribute is refused at load with what the model has.
func TestContextChannel(t *testing.T) {
	p := mustParse(t, byChannel)
	sys, err := EntityResource([]byte(`{"apiVersion":"backstage.io/v1alpha1","kind":"System","metadata":{"name":"s"},"spec":{"owner":"team-b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		channel string
		want    bool
	}{{"", true}, {ChannelAPI, true}, {ChannelMCP, false}} {
		if got := p.Authorize(Principal{Ref: "user:default/a", Channel: c.channel}, EntityRead, sys).Allowed; got != c.want {
			t.Errorf("channel %q: allowed %t, want %t", c.channel, got, c.want)
		}
	}
	_, err = Parse("bad.cedar", []byte(`permit (principal, action, resource) when { context.origin == "mcp" };`))
	if err == nil || !strings.Contains(err.Error(), "context.origin") || !strings.Contains(err.Error(), "channel") {
		t.Errorf("context.origin: %v, want an error naming it and channel", err)
	}
}
