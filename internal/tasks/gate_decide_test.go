package tasks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// TestDecideRefusesTheGateThroughMCP: Decide itself refuses a decision on
// an agent's run's gate from the MCP channel, on the state the decision
// reads (whatever the MCP layer checked before); the same person decides
// it through the REST API, and decides another approval step through MCP.
// Embedded Temporal with the stand-in workflow (its first rigger:approval
// step waits).
func TestDecideRefusesTheGateThroughMCP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	body := `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"gated","namespace":"default"},` +
		`"spec":{"type":"service","owner":"group:default/platform","steps":[{"id":"log","action":"debug:log","input":{"message":"hi"}},` +
		`{"id":"reg","action":"catalog:register","input":{"catalogInfoUrl":"https://example.com/c.yaml"}}]}}`
	ask := `{"apiVersion":"scaffolder.backstage.io/v1beta3","kind":"Template","metadata":{"name":"asks","namespace":"default"},` +
		`"spec":{"type":"service","owner":"group:default/platform","steps":[{"id":"ok","action":"rigger:approval","input":{"message":"go?","allowSelfApproval":true}}]}}`
	s := serviceOver(t, &testAuthorizer{scope: ListScope{All: true}}, nil,
		store.Entity{Ref: "template:default/gated", Body: json.RawMessage(body), Hash: "g"},
		store.Entity{Ref: "template:default/asks", Body: json.RawMessage(ask), Hash: "a"})
	ctx := t.Context()
	agent := auth.Identity{Ref: "user:default/alice", Channel: auth.ChannelMCP}
	person := auth.Identity{Ref: "user:default/alice"}
	gated, _, err := s.Create(ctx, agent, CreateRequest{TemplateRef: "template:default/gated", Channel: auth.ChannelMCP, Gate: &Gate{Message: "an agent started this"}})
	if err != nil {
		t.Fatal(err)
	}
	task := waitStatus(t, s, person, gated, StatusProcessing)
	step := WaitingApproval(task)
	for step == nil {
		task = waitStatus(t, s, person, gated, StatusProcessing)
		step = WaitingApproval(task)
	}
	if step.ID != GateStepID {
		t.Fatalf("the task waits on %s, want the gate", step.ID)
	}
	if _, err := s.Decide(ctx, agent, gated, step.Approval.RequestID, true, ""); !errors.Is(err, errs.ErrForbidden) || !strings.Contains(err.Error(), "never through MCP") {
		t.Errorf("the gate decided through MCP: %v, want forbidden", err)
	}
	if got, err := s.Decide(ctx, person, gated, step.Approval.RequestID, true, ""); err != nil || got != GateStepID {
		t.Errorf("the gate decided through the REST API: %q %v", got, err)
	}
	other, _, err := s.Create(ctx, person, CreateRequest{TemplateRef: "template:default/asks"})
	if err != nil {
		t.Fatal(err)
	}
	task = waitStatus(t, s, person, other, StatusProcessing)
	for WaitingApproval(task) == nil {
		task = waitStatus(t, s, person, other, StatusProcessing)
	}
	if got, err := s.Decide(ctx, agent, other, "ok.0.1", true, ""); err != nil || got != "ok" {
		t.Errorf("another approval decided through MCP: %q %v", got, err)
	}
}
