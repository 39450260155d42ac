package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpCall calls a tool and decodes its structured result into out; it
// returns the tool error's text ("" when it succeeded).
func mcpCall(t *testing.T, s *mcp.ClientSession, name string, args, out any) string {
	t.Helper()
	res, err := s.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if res.IsError {
		var text []string
		for _, c := range res.Content {
			if tc, ok := c.(*mcp.TextContent); ok {
				text = append(text, tc.Text)
			}
		}
		return "error: " + strings.Join(text, " ")
	}
	if out != nil {
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v: %s", name, err, b)
		}
	}
	return ""
}

// TestMCPAgentRun: the Go SDK's MCP client against a real rigger dev as its
// guest: the tools are listed, the catalog queried, an example template
// dry-run and then run; the run stops for a person's approval before its
// step with outside effects (catalog:register), the agent cannot approve
// it (not even with mcp.allowApprovals), the person approves through the REST API and the run completes.
func TestMCPAgentRun(t *testing.T) {
	needBinary(t)
	examples, err := filepath.Abs("../../examples/templates")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := startDevWithConfig(t, fmt.Sprintf("scaffolder:\n  templates: [%s/*/template.yaml]\nauth: {devGuestGroups: [group:default/platform]}\nmcp: {allowWrite: true, allowApprovals: true}\n", examples))
	waitTotal(t, p.api, "kind=template", 8)

	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-agent", Version: "1"}, nil)
	s, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: p.api + "/api/mcp", MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tools, err := s.ListTools(t.Context(), nil)
	if err != nil || len(tools.Tools) != 16 {
		t.Fatalf("tools: %v %v", tools, err)
	}
	var page struct{ Items []map[string]any }
	if msg := mcpCall(t, s, "catalog_query", map[string]any{"filter": []string{"kind=template"}, "fields": []string{"metadata.name"}}, &page); msg != "" || len(page.Items) != 8 {
		t.Fatalf("catalog_query: %s %v", msg, page.Items)
	}
	values := map[string]any{"name": "billing", "owner": "group:default/team-a", "system": "payments"}
	var dry struct {
		Status string
		Files  []struct{ Path, Content string }
		Steps  []struct{ ID, Action, Status string }
	}
	if msg := mcpCall(t, s, "template_dry_run", map[string]any{"ref": "template:default/catalog-entity", "values": values}, &dry); msg != "" || dry.Status != "completed" ||
		len(dry.Files) == 0 || !strings.Contains(fmt.Sprint(dry.Files), "system: payments") {
		t.Fatalf("dry run: %s %+v", msg, dry)
	}
	var run struct {
		TaskID   string
		Approval string
		Plan     struct{ Status string }
	}
	if msg := mcpCall(t, s, "template_run", map[string]any{"ref": "template:default/catalog-entity", "values": values}, &run); msg != "" || run.TaskID == "" ||
		run.Plan.Status != "completed" || !strings.Contains(run.Approval, "waiting for approval by user:default/guest") {
		t.Fatalf("run: %s %+v", msg, run)
	}
	type mcpTask struct {
		Status, Channel, Waiting string
		Approval                 *struct{ StepID, RequestID string }
		Steps                    []struct{ ID, Action, Status string }
	}
	poll := func(done func(mcpTask) bool) mcpTask {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			var tk mcpTask
			if msg := mcpCall(t, s, "task_get", map[string]any{"id": run.TaskID}, &tk); msg != "" {
				t.Fatalf("task_get: %s", msg)
			}
			if done(tk) {
				return tk
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s: %+v", run.TaskID, tk)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	tk := poll(func(tk mcpTask) bool { return tk.Approval != nil || tk.Status != "processing" })
	if tk.Approval == nil || tk.Approval.StepID != "rigger-agent-approval" || tk.Channel != "mcp" || !strings.Contains(tk.Waiting, "waiting for approval by user:default/guest") {
		t.Fatalf("waiting task: %+v", tk)
	}
	for _, st := range tk.Steps {
		if st.Action == "catalog:register" && st.Status != "open" {
			t.Fatalf("the step with outside effects ran before the approval: %+v", tk.Steps)
		}
	}
	// Even with mcp.allowApprovals, the gate of an agent's run is a
	// person's to decide, outside MCP.
	if msg := mcpCall(t, s, "task_approve", map[string]any{"id": run.TaskID, "requestId": tk.Approval.RequestID}, nil); !strings.Contains(msg, "never through MCP") {
		t.Fatalf("the agent approved its own run: %q", msg)
	}
	// The person, through the REST API.
	var rest struct {
		Channel  string
		Approval struct{ CanDecide bool }
	}
	if code := doJSON(t, "GET", p.api+"/api/scaffolder/v2/tasks/"+run.TaskID, nil, &rest); code != http.StatusOK || rest.Channel != "mcp" || !rest.Approval.CanDecide {
		t.Fatalf("REST task: %d %+v", code, rest)
	}
	var decided map[string]any
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks/"+run.TaskID+"/approve", map[string]any{"requestId": tk.Approval.RequestID, "comment": "looks right"}, &decided); code != http.StatusOK {
		t.Fatalf("approve: %d %v", code, decided)
	}
	tk = poll(func(tk mcpTask) bool { return tk.Status != "processing" })
	if tk.Status != "completed" {
		t.Fatalf("after the approval: %+v", tk)
	}
	var e struct{ Spec struct{ System string } }
	if code := doJSON(t, "GET", p.api+"/api/catalog/entities/by-name/component/default/billing", nil, &e); code != http.StatusOK || e.Spec.System != "payments" {
		t.Fatalf("registered entity: %d %+v", code, e)
	}
}

// TestMCPRunChannelReachesWorkers: the channel a run was started through
// is in its signed grant, so the workers' policy decisions (catalog:fetch
// here) see context.channel "mcp" for an agent's run as the API does. A
// policy hides one component from agents: the guest's REST run fetches
// it; the agent's dry run logs it as not found and its run fails there.
func TestMCPRunChannelReachesWorkers(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	cat := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(cat, []byte(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: agent-hidden}
spec: {type: service, lifecycle: production, owner: group:default/platform}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: fetches-hidden}
spec:
  type: service
  owner: group:default/platform
  steps:
    - {id: fetch, name: Fetch, action: catalog:fetch, input: {entityRef: "component:default/agent-hidden"}}
  output:
    owner: ${{ steps.fetch.output.entity.spec.owner }}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	forbid := filepath.Join(dir, "agents.cedar")
	if err := os.WriteFile(forbid, []byte(`forbid (principal, action == Rigger::Action::"catalog.entity.read", resource is Rigger::Entity)
when { context.channel == "mcp" && resource.name == "agent-hidden" };
`), 0o600); err != nil {
		t.Fatal(err)
	}
	defaultPolicy, err := filepath.Abs("../../examples/policies/default.cedar")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := startDevWithConfig(t, fmt.Sprintf(`catalog:
  examples: []
  locations: [{type: file, target: %s}]
scaffolder: {templates: []}
permission: {policyFiles: [%s, %s]}
auth: {devGuestGroups: [group:default/platform]}
mcp: {allowWrite: true, approval: never}
`, cat, defaultPolicy, forbid))
	waitTotal(t, p.api, "kind=template", 1)
	waitTotal(t, p.api, "kind=component", 1)

	// Through the REST API (channel api) the run reads the component.
	var created struct{ ID string }
	if code := doJSON(t, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/fetches-hidden"}, &created); code != http.StatusCreated {
		t.Fatalf("REST create: %d", code)
	}
	if tr := waitTask(t, p.api, created.ID); tr.Status != "completed" {
		t.Fatalf("the REST run: %+v", tr)
	}

	// Through MCP the same guest's agent may not read it, in the workers
	// too: its dry run does not see it, its run fails at the fetch.
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-agent", Version: "1"}, nil)
	s, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: p.api + "/api/mcp", MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ref := map[string]any{"ref": "template:default/fetches-hidden", "values": map[string]any{}}
	var dry struct {
		Status string
		Log    []struct{ Message string }
	}
	if msg := mcpCall(t, s, "template_dry_run", ref, &dry); msg != "" || dry.Status != "completed" ||
		!strings.Contains(fmt.Sprint(dry.Log), "entity component:default/agent-hidden not found") {
		t.Fatalf("the agent's dry run: %s %+v", msg, dry)
	}
	var run struct{ TaskID string }
	if msg := mcpCall(t, s, "template_run", ref, &run); msg != "" || run.TaskID == "" {
		t.Fatalf("run: %s %+v", msg, run)
	}
	tr := waitTask(t, p.api, run.TaskID)
	if tr.Status != "failed" || len(tr.Steps) == 0 || !strings.Contains(tr.Steps[0].Error, "entity component:default/agent-hidden not found") {
		t.Fatalf("the agent's run read what the policy hides from agents: %+v", tr)
	}
}
